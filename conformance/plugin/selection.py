"""``--rule ID``: only the tests that judge one of these rules run (a rule they declare, or one every
response is judged by); the census, the watch and the restore run as in any run. With
``--stop-when-broken`` the run stops once each of them has been broken (failed or found)."""

from __future__ import annotations

import pytest

from conformance.contract import rules
from conformance.judge.checks import JUDGED_ON_EVERY_RESPONSE
from conformance.plugin.failures import rule_ids_of
from conformance.plugin.keys import FINDINGS, OUTCOMES, STOPPED_WHEN_BROKEN
from conformance.plugin.target import unknown_name


def judged_by(item: pytest.Item) -> set[str]:
    """The rules a test may judge: those it declares, and those judged on every response it gets."""
    every = JUDGED_ON_EVERY_RESPONSE if "api" in getattr(item, "fixturenames", ()) else ()
    return {*rule_ids_of(item), *every}


@pytest.hookimpl(tryfirst=True)  # before the property tests are set to run ahead of the rest
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("rule") or []
    if not wanted:
        return
    catalogue = rules.catalogue()
    for rule_id in wanted:
        if rule_id not in catalogue:
            raise pytest.UsageError(unknown_name("--rule", rule_id, sorted(catalogue), "schemas/rules.yaml"))
    kept = [item for item in items if judged_by(item) & set(wanted)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """After each test, with --stop-when-broken: every --rule rule broken so far stops the run (the
    session still ends as any run does: restore, verdicts.json, the verdict line)."""
    result = yield
    config = item.config
    wanted = set(config.getoption("rule") or [])
    if wanted and config.getoption("stop_when_broken"):
        broken = {rule for outcome in config.stash.get(OUTCOMES, []) for rule in outcome["rules"]}
        broken |= {finding["rule"] for finding in config.stash.get(FINDINGS, [])}
        if wanted <= broken:
            item.session.shouldstop = f"--stop-when-broken: {', '.join(sorted(wanted))} broken"
            config.stash[STOPPED_WHEN_BROKEN] = True
    return result
