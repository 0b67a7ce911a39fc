"""--max-examples sizes the property-based tests, and under xdist (-n 2) their cases are split
over the workers while every worker's outcomes and findings reach the files the controller writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance.mutation import run_suite

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
def test_max_examples_is_the_number_of_generated_requests(tmp_path, examples):
    # each distinct positive case sends one request with the suite's client, and one case with the
    # token re-sends without it (the auth probe); an input hypothesis draws twice is sent once, so a
    # few cases of a small run may cost no request: the number of cases bounds the requests
    verdicts = run_suites(tmp_path, *POSITIVE_ONE_VERSION, f"--max-examples={examples}")
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    assert examples * 0.75 <= verdicts["requests"] <= examples + 2, verdicts["stdout"][-3000:]


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
    assert sorted(f["rule"] for f in spread["findings"]) == sorted(f["rule"] for f in alone["findings"])
    assert "advisory findings" in spread["stdout"] or not alone["findings"]


def test_a_plain_run_started_from_an_xdist_worker_is_not_sharded(tmp_path):
    """A suite run launched by a test that runs under xdist inherits xdist's environment
    variables without being a worker: it runs every case in one item per test."""
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "2"}
    verdicts = run_suites(tmp_path, *POSITIVE_ONE_VERSION, "--max-examples=10", env=env)
    assert [o["test"].split("[")[1] for o in verdicts["outcomes"]] == ["2026-06-20-positive]"]
    assert 7 <= verdicts["requests"] <= 12  # every case in this one item (see above for the slack)


def test_with_loadgroup_only_property_shards_leave_the_examples_worker(tmp_path):
    """Against a shared target, a state test's pause must not land inside another test's
    comparison: every test but the property shards runs on one worker, in order."""
    verdicts = run_suites(tmp_path, "--api-version=2026-06-20", "-n", "2", "--dist", "loadgroup")
    assert verdicts["exitstatus"] == 0, verdicts["stdout"][-3000:]
    examples = {o["process"] for o in verdicts["outcomes"] if "shard" not in o["test"]}
    assert examples in ({"gw0"}, {"gw1"})
