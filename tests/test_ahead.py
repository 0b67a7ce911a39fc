"""In one process against a remote target, the property-based tests run ahead, beside the example
tests (conformance.plugin.ahead): each side on its own half of the ad groups, the same verdicts as
in their turn, and nothing of theirs in flight once the restore begins."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import pytest

from conformance.mock.dataset import build_dataset
from conformance.mock.profiles import DEFAULT
from conformance.mock.server import MockServer
from tests.conftest import TOKEN, run_suite
from tests.test_parallel import SENT_BY_TEST

pytestmark = pytest.mark.subprocess  # every test here starts a process

GROUP = re.compile(r"/ad_groups/([^/?]+)/")


def run_remote(
    tmp_path,
    *args: str,
    fault: str | None = None,
    name: str = "verdicts.json",
    order=lambda ids: ids,
    sent: bool = True,
):
    """The suites against a standalone mock answering after 20 ms (a target a network away), with
    every ad group (in the ``order`` given); returns (verdicts, what was sent (``sent``: a plugin
    on PYTHONPATH records it, and the run is a fresh interpreter), the groups' ids as given, and
    their statuses before and after)."""
    (tmp_path / "sent_by_test.py").write_text(SENT_BY_TEST)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "SENT_BY_TEST": str(tmp_path)} if sent else None
    mock = MockServer(TOKEN, profile=dataclasses.replace(DEFAULT, latency=0.02)).start()
    before = mock.api.statuses()
    verdicts_path = tmp_path / name
    try:
        completed = run_suite(
            *(["-p", "sent_by_test"] if sent else []),
            *[f"--verdicts-json={verdicts_path}", f"--api-token={TOKEN}"],
            f"--base-url={mock.url}" + (f"/__faults/{fault}" if fault else ""),
            *[f"--ad-group-id={group_id}" for group_id in order([group.id for group in mock.api.dataset])],
            *["--hypothesis-seed=7", *args],
            timeout=600,
            env=env,
        )
        after = mock.api.statuses()
        ids = order([group.id for group in mock.api.dataset])
    finally:
        mock.stop()
    assert verdicts_path.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    verdicts = json.loads(verdicts_path.read_text()) | {"stdout": completed.stdout}
    sent_requests = json.loads((tmp_path / "main.json").read_text()) if sent else []
    return verdicts, sent_requests, ids, before, after


def group_of(path: str, ids: list[str]) -> str | None:
    match = GROUP.search(path)
    return match.group(1) if match and match.group(1) in ids else None


def test_the_property_tests_run_beside_the_example_tests_each_on_its_own_half(tmp_path):
    verdicts, sent, ids, before, after = run_remote(tmp_path, "--max-examples=30")
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    assert "property-based tests run ahead, beside the example tests" in verdicts["stdout"]
    ahead = [row for row in sent if row[1].startswith("conformance-ahead")]
    last_ahead = max(index for index, row in enumerate(sent) if row[1].startswith("conformance-ahead"))
    beside = [row for row in sent[:last_ahead] if not row[1].startswith("conformance-ahead")]
    in_the_loop = [row for row in beside if row[0] != "set-up"]
    assert ahead
    assert {group_of(path, ids) for _, _, _, path in ahead} - {None} <= set(ids[1::2])
    # while the property tests run, the example tests keep to the other half, and the groups no
    # correct request changes (rejected, say), which a test of theirs needs
    unmovable = {g for g in ids if before[g] not in ("paused", "active")}
    assert {group_of(path, ids) for _, _, _, path in in_the_loop} - {None} <= set(ids[0::2]) | unmovable
    # and once they are done, the tests of 200 bodies judge every group's, in every version
    bodies = [o for o in verdicts["outcomes"] if "test_body_rule[" in o["test"]]
    assert bodies
    assert {o["outcome"] for o in bodies} == {"passed"}
    after_ahead = {group_of(path, ids) for test, _, _, path in sent[last_ahead:] if "test_body_rule" in test}
    watched = set(ids[-2:])  # the dataset's last two, paused: set apart, no test sends them anything
    assert set(ids[1::2]) - unmovable - watched <= after_ahead
    # beside: property cases were sent while example tests ran, not only once the examples were done
    assert any("test_properties" not in test and "unregistered" not in test for test, *_ in ahead)
    # the property tests' items report the outcome of the run ahead
    property_outcomes = [o for o in verdicts["outcomes"] if "test_generated_requests_conform" in o["test"]]
    assert len(property_outcomes) == 4
    assert {o["outcome"] for o in property_outcomes} == {"passed"}
    assert after == before


@pytest.mark.parametrize(("fault", "level"), [("frequency-drift", "SHOULD"), ("ctr-as-percent", "MUST")])
def test_running_ahead_reaches_the_same_verdicts_as_running_in_turn(tmp_path, fault, level):
    """A SHOULD fault (advisory findings, deferred per test) and a MUST fault: the same broken
    rules per test, the same findings' rules and exit status as with --no-overlap."""
    ahead, *_ = run_remote(tmp_path, "--max-examples=60", fault=fault, name="ahead.json", sent=False)
    in_turn, *_ = run_remote(
        tmp_path, "--max-examples=60", "--no-overlap", fault=fault, name="in-turn.json", sent=False
    )
    assert "run ahead" not in in_turn["stdout"]

    def broken(verdicts: dict) -> dict[str, list[str]]:
        return {o["test"]: o["rules"] for o in verdicts["outcomes"] if o["rules"]}

    assert broken(in_turn)
    assert broken(ahead) == broken(in_turn)
    assert ahead["exitstatus"] == in_turn["exitstatus"] == (1 if level == "MUST" else 0)
    assert {f["rule"] for f in ahead["findings"]} == {f["rule"] for f in in_turn["findings"]}
    assert bool(ahead["findings"]) == (level == "SHOULD")


def test_a_run_stopped_early_stops_the_property_tests_before_the_restore(tmp_path):
    """-x: an example test fails (a request body gets 500) while the property tests run ahead; they
    are stopped, and none of their requests is sent once the restore begins."""
    verdicts, sent, _, before, after = run_remote(
        tmp_path, "-x", "--max-examples=300", fault="request-body-500"
    )
    failed = [o["test"] for o in verdicts["outcomes"] if o["outcome"] == "failed"]
    assert len(failed) == 1
    assert "test_errors.py" in failed[0]
    assert verdicts["exitstatus"] == 1, verdicts["stdout"][-3000:]
    assert "RESTORE FAILED" not in verdicts["stdout"]
    # the restore's first request: the first after the test loop not sent by the run ahead (its
    # cases still in flight when -x ends the loop are stopped and waited for before the restore)
    restore_begins = next(
        index
        for index, row in enumerate(sent)
        if row[0] == "after the tests" and not row[1].startswith("conformance-ahead")
    )
    assert not [row for row in sent[restore_begins:] if row[1].startswith("conformance-ahead")]
    assert [row for row in sent[:restore_begins] if row[1].startswith("conformance-ahead")]
    assert after == before


def test_a_group_only_the_example_tests_need_goes_to_them_wherever_it_falls(tmp_path):
    """The rejected group given second (the property tests' half): the example test that needs a
    group neither paused nor active still judges it, on every version (it was skipped, saying no such
    group was known, though the census had read it)."""

    def rejected_second(ids: list[str]) -> list[str]:
        statuses = {group.id: group.status for group in build_dataset(0)}
        rejected = next(g for g in ids if statuses[g] == "rejected")
        movable = [g for g in ids if statuses[g] in ("paused", "active")]
        return [movable[0], rejected, *movable[1:4]]

    verdicts, *_ = run_remote(
        tmp_path, "--max-examples=5", "-k", "cannot_be_activated or test_properties", order=rejected_second
    )
    assert "property-based tests run ahead" in verdicts["stdout"], verdicts["stdout"][-3000:]
    judged = [o for o in verdicts["outcomes"] if "cannot_be_activated" in o["test"]]
    assert judged
    assert {o["outcome"] for o in judged} == {"passed"}, verdicts["stdout"][-3000:]
