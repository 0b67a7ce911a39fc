"""Root conftest: loads the suite's pytest plugin for both `pytest suites` and `pytest tests`."""

pytest_plugins = ["conformance.pytest_plugin"]
