"""--max-examples sizes the property-based tests, and under xdist (-n 2) their cases are split
over the workers while every worker's outcomes and findings reach the files the controller writes."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.mock.dataset import build_dataset
from conformance.mock.profiles import DEFAULT
from conformance.mock.server import MockServer
from conformance.plugin.target import Target, neighbours, to_watch
from tests.conftest import TOKEN, run_suite

# without the census and restore (one request each per ad group), the run sends only the generated cases
POSITIVE_ONE_VERSION = [
    "suites/test_properties.py",
    "-k",
    "positive",
    "--api-version=2026-06-20",
    "--no-restore",
]


def run_suites(tmp_path: Path, *args: str, name: str = "verdicts.json", env: dict | None = None) -> dict:
    verdicts = tmp_path / name
    completed = run_suite(f"--verdicts-json={verdicts}", *args, timeout=300, env=env)
    assert verdicts.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(verdicts.read_text()) | {"stdout": completed.stdout}


@pytest.mark.parametrize("examples", [5, 40])
@pytest.mark.subprocess
def test_max_examples_is_the_number_of_generated_requests(tmp_path, examples):
    # each distinct positive case sends one request with the suite's client, and one case with the
    # token re-sends without it (the auth probe); an input hypothesis draws twice is sent once, so a
    # few cases of a small run may cost no request: the number of cases bounds the requests
    verdicts = run_suites(tmp_path, *POSITIVE_ONE_VERSION, f"--max-examples={examples}")
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    assert examples * 0.75 <= verdicts["requests"] <= examples + 2, verdicts["stdout"][-3000:]


@pytest.mark.subprocess
def test_xdist_splits_the_cases_of_one_property_test_over_the_workers(tmp_path):
    verdicts = run_suites(tmp_path, *POSITIVE_ONE_VERSION, "--max-examples=40", "-n", "2")
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    tests = sorted(outcome["test"] for outcome in verdicts["outcomes"])
    assert [t.split("[")[1] for t in tests] == [
        "2026-06-20-shard1of2-positive]",
        "2026-06-20-shard2of2-positive]",
    ]
    assert 30 <= verdicts["requests"] <= 44  # 20 per worker (see above for the slack), summed over both


@pytest.mark.parametrize(("fault", "level"), [("frequency-drift", "SHOULD"), ("ctr-as-percent", "MUST")])
@pytest.mark.subprocess
def test_xdist_runs_reach_the_same_verdicts(tmp_path, fault, level):
    """A SHOULD fault (findings) and a MUST fault (failures): the same rules, findings and exit
    status with two workers as in one process."""
    alone = run_suites(tmp_path, f"--mock-fault={fault}", name="alone.json")
    spread = run_suites(tmp_path, f"--mock-fault={fault}", "-n", "2", name="spread.json")

    def broken(verdicts: dict) -> set[str]:
        return {rule for outcome in verdicts["outcomes"] for rule in outcome["rules"]}

    assert broken(alone)
    assert bool(alone["findings"]) == (level == "SHOULD")
    assert alone["exitstatus"] == (1 if level == "MUST" else 0)
    assert broken(spread) == broken(alone)
    assert spread["exitstatus"] == alone["exitstatus"]
    # the same rules; not the same count: property cases that record one are drawn per worker
    assert {f["rule"] for f in spread["findings"]} == {f["rule"] for f in alone["findings"]}
    assert "advisory findings" in spread["stdout"] or not alone["findings"]


@pytest.mark.subprocess
def test_a_plain_run_started_from_an_xdist_worker_is_not_sharded(tmp_path):
    """A suite run launched by a test that runs under xdist inherits xdist's environment
    variables without being a worker: it runs every case in one item per test."""
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "2"}
    verdicts = run_suites(tmp_path, *POSITIVE_ONE_VERSION, "--max-examples=10", env=env)
    assert [o["test"].split("[")[1] for o in verdicts["outcomes"]] == ["2026-06-20-positive]"]
    assert 7 <= verdicts["requests"] <= 12  # every case in this one item (see above for the slack)


@pytest.mark.subprocess
def test_with_loadgroup_only_property_shards_leave_the_examples_worker(tmp_path):
    """Against a shared target, a state test's pause must not land inside another test's
    comparison: every test but the property shards runs on one worker, in order."""
    verdicts = run_suites(tmp_path, "--api-version=2026-06-20", "-n", "2", "--dist", "loadgroup")
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    examples = {o["process"] for o in verdicts["outcomes"] if "shard" not in o["test"]}
    assert examples in ({"gw0"}, {"gw1"})


# a plugin of the suite process: every request it sent, as [test node id, thread name, method, path],
# one file per process ("main", gw0, gw1…); the restore's are under "after the tests"
SENT_BY_TEST = """
import json, os, threading
import pytest
from conformance.client.http import ApiClient

sent, lock, current = [], threading.Lock(), {"test": "set-up"}
original = ApiClient.request

def request(self, method, path, **kwargs):
    with lock:
        sent.append([current["test"], threading.current_thread().name, method, path])
    return original(self, method, path, **kwargs)

ApiClient.request = request

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    current["test"] = item.nodeid
    return (yield)

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    try:
        return (yield)
    finally:
        current["test"] = "after the tests"

def pytest_unconfigure(config):
    # from the worker's own config: a suite run under a self-test worker inherits its environment
    name = getattr(config, "workerinput", {}).get("workerid", "main")
    with open(os.path.join(os.environ["SENT_BY_TEST"], name + ".json"), "w") as out:
        json.dump(sent, out)
"""


@pytest.mark.subprocess
def test_against_a_shared_target_no_property_case_touches_a_group_an_example_test_pauses(tmp_path):
    """Property shards run on every worker while the example tests pause groups on one: a property
    case's unpause between a state test's pause and its check was a false BEH-REFUSAL-INERT (seen at
    -n 2 against a correct target). Each side has its own half of the ad groups."""
    (tmp_path / "sent_by_test.py").write_text(SENT_BY_TEST)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "SENT_BY_TEST": str(tmp_path)}
    mock = MockServer(TOKEN).start()
    ids = [group.id for group in mock.api.dataset]
    try:
        verdicts = run_suites(
            tmp_path,
            *["-p", "sent_by_test", f"--base-url={mock.url}", f"--api-token={TOKEN}"],
            *[f"--ad-group-id={group_id}" for group_id in ids],
            *["--api-version=2026-06-20", "--max-examples=60", "-n", "2", "--dist", "loadgroup"],
            env=env,
        )
        after = {g.id: g.status for g in mock.api.dataset}
    finally:
        mock.stop()
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    sent = [row for worker in ("gw0", "gw1") for row in json.loads((tmp_path / f"{worker}.json").read_text())]
    group = re.compile(r"/ad_groups/([^/?]+)/")

    def groups(rows) -> set[str]:
        return {m.group(1) for _, _, _, path in rows if (m := group.search(path)) and m.group(1) in ids}

    property_cases = [row for row in sent if "shard" in row[0]]
    paused_by_examples = groups(r for r in sent if "shard" not in r[0] and r[3].endswith("/pause"))
    assert property_cases
    assert paused_by_examples
    assert groups(property_cases) <= set(ids[1::2])
    # the examples may also send to a group no correct request changes (rejected, say), wherever it
    # falls: a test of theirs needs one, and neither side's requests change it
    unmovable = {g.id for g in build_dataset(0) if g.status not in ("paused", "active")}
    assert paused_by_examples - unmovable <= set(ids[0::2])
    assert after == {g.id: g.status for g in build_dataset(0)}  # restored, every one


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-n", "2", "--ad-group-id=a", "--ad-group-id=b"], "needs --dist loadgroup"),
        (["-n", "2", "--dist", "loadgroup", "--ad-group-id=adgrp_only"], "needs at least two --ad-group-id"),
    ],
)
@pytest.mark.subprocess
def test_xdist_against_a_shared_target_refuses_what_would_interfere(args, says):
    completed = run_suite("--base-url=http://127.0.0.1:9", f"--api-token={TOKEN}", *args, timeout=120)
    assert completed.returncode == 4, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert says in completed.stdout + completed.stderr


def test_each_worker_holds_a_share_of_the_rate_limit_and_the_run_s_concurrency_as_shared_slots():
    target = Target(
        "http://127.0.0.1:9",
        "token",
        [f"g{i}" for i in range(5)],
        ["2026-06-20"],
        use_pause=True,
        timeout=5,
        rate_limit=10,
        time_budget=60,
        max_body=1000,
        strict=False,
        tolerance=None,
        concurrency=8,
        compare_ad_group_ids=[f"c{i}" for i in range(5)],
    )
    mine = target.split_for_workers(2)
    # the in-flight bound is the run's, shared by the workers (conformance.client.slots), not split
    assert (mine.concurrency, mine.rate_limit) == (8, 5)
    assert (mine.ad_group_ids, mine.property_ids) == (["g0", "g2", "g4"], ["g1", "g3"])
    assert mine.compare_ad_group_ids == ["c0", "c2", "c4"]  # still paired with the example tests' groups
    assert target.property_ids == target.ad_group_ids  # one process: every group for every test


SLOT_HOLDER = """
import json, sys, threading, time
from pathlib import Path
from conformance.client.slots import SharedSlots

slots, spans, lock = SharedSlots(Path(sys.argv[1]), int(sys.argv[2])), [], threading.Lock()

def work():
    for _ in range(5):
        with slots.held():
            began = time.time()
            time.sleep(0.02)
            with lock:
                spans.append([began, time.time()])

threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(spans))
"""


@pytest.mark.subprocess
def test_shared_slots_bound_what_is_in_flight_across_processes_and_threads(tmp_path):
    """Two processes of six threads each, three slots: never more than three held at once, and
    the bound is reached (the slots are used, not serialised)."""
    holders = [
        subprocess.Popen(
            [sys.executable, "-c", SLOT_HOLDER, str(tmp_path / "slots"), "3"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    spans = [span for holder in holders for span in json.loads(holder.communicate(timeout=60)[0])]
    assert len(spans) == 2 * 6 * 5
    events = sorted([(began, 1) for began, _ in spans] + [(ended, -1) for _, ended in spans])
    held, most = 0, 0
    for _, change in events:
        held += change
        most = max(most, held)
    assert most == 3


def most_in_flight(tmp_path, *args: str) -> int:
    """The most requests a mock answering after 30 ms served at once, in a -n 2 run against it."""
    mock = MockServer(TOKEN, profile=dataclasses.replace(DEFAULT, latency=0.03)).start()
    try:
        verdicts = run_suites(
            tmp_path,
            *[f"--base-url={mock.url}", f"--api-token={TOKEN}", "--concurrency=3"],
            *[f"--ad-group-id={group.id}" for group in mock.api.dataset],
            *["--api-version=2026-06-20", "--max-examples=40", "-n", "2", "--dist", "loadgroup", *args],
        )
    finally:
        mock.stop()
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    return mock.api.most_in_flight


@pytest.mark.subprocess
def test_xdist_workers_against_one_target_never_exceed_its_concurrency(tmp_path):
    """The two workers share --concurrency: the bound holds, and is reached (outside the bursts of
    the concurrency tests, below)."""
    assert most_in_flight(tmp_path, "-k", "not test_concurrent_unpauses and not state_machine") == 3


@pytest.mark.subprocess
def test_a_concurrency_tests_burst_is_as_wide_as_asked_under_xdist_too(tmp_path):
    """test_concurrent_unpauses sends its unpauses of one group at once, whatever --concurrency
    (they are the test): under xdist they take no shared slot, so they are not queued behind it."""
    assert most_in_flight(tmp_path, "-k", "test_concurrent_unpauses") >= 5


def test_the_watch_takes_a_group_in_a_neighbour_s_campaign_first():
    """INT-OTHER-GROUPS: a campaign-wide resume reaches a tested group's campaign first, so one watched
    group shares a campaign with a group the run unpauses (unpause-activates-campaign is the fault)."""
    groups = ["a", "b", "c", "d", "e"]
    statuses = dict.fromkeys(groups, "paused")
    campaigns = {"a": "camp_x", "b": "camp_b", "c": "camp_x", "d": "camp_d", "e": "camp_e"}
    watched = to_watch(groups, statuses, set(groups), campaigns)
    assert watched == ["c", "e"]
    assert neighbours(groups, watched, campaigns) == ["a"]
    assert to_watch(groups, statuses, set(groups)) == ["e", "d"]  # no campaign read: the last ones
    assert to_watch(groups, {**statuses, "c": "active"}, set(groups), campaigns) == ["a", "e"]  # c stays
