"""Self-test fixtures: one embedded mock per session, and a plain httpx client to poke it."""

from __future__ import annotations

import contextlib
import subprocess

import httpx
import hypothesis
import pytest

from conformance.mock.server import MockServer

TOKEN = "selftest-token-3b1f0c"

# the self-tests' own hypothesis tests (the suite's profiles are the plugin's, for suites/ only):
# no deadline, as they send requests to a mock on a machine that may be busy
hypothesis.settings.register_profile("selftest", deadline=None, max_examples=50)
hypothesis.settings.load_profile("selftest")


@pytest.fixture(scope="session")
def mock():
    server = MockServer(TOKEN, seed=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(mock):
    with httpx.Client(base_url=mock.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
        yield http


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _no_process_unless_marked(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _no_process_unless_marked(item):
        return (yield)


@contextlib.contextmanager
def _no_process_unless_marked(item):
    """A test that starts a process (a suite run, the report generator, a browser), in its fixtures
    too, carries the ``subprocess`` marker, so ``-m "not subprocess"`` is an inner loop of seconds:
    unmarked, it fails."""
    if item.get_closest_marker("subprocess") is not None:
        yield
        return

    def refused(*args, **kwargs):
        raise AssertionError(f"{item.nodeid} starts a process: mark it @pytest.mark.subprocess")

    started, subprocess.Popen = subprocess.Popen, refused
    try:
        yield
    finally:
        subprocess.Popen = started
