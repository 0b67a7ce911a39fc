"""Parametrisation shared by the suites: selected versions, and (version, rule) for body rules."""

from __future__ import annotations

import pytest

from conformance import rules
from conformance.pytest_plugin import TARGET, about, label


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "version" not in metafunc.fixturenames:
        return
    versions = metafunc.config.stash[TARGET].versions
    if "rule_id" in metafunc.fixturenames:
        pairs = [(version, rule_id) for version in versions for rule_id in rules.body_rule_ids(version)]
        metafunc.parametrize(("version", "rule_id"), pairs, ids=[f"{v}-{r}" for v, r in pairs])
    else:
        metafunc.parametrize("version", versions)


@pytest.fixture(autouse=True)
def _conformance_test(request: pytest.FixtureRequest, api):
    """Each test starts a fresh exchange record (for its attachments) and gets its allure labels."""
    api.begin()
    label(request.node)
    about(request.node)


@pytest.fixture
def use_pause(target) -> None:
    if not target.use_pause:
        pytest.skip("needs POST /ad_groups/{id}/pause as set-up, and --no-use-pause forbids it")
