"""Response-space coverage: the branches come from the schemas and the rule catalogue, the run
records which ones its 200 bodies hit, the mock's dataset reaches every one, and a run with one ad
group names exactly the branches it left untested."""

from __future__ import annotations

import json

import pytest

from conformance.client.http import Exchange
from conformance.contract import rules, schemas
from conformance.judge import coverage
from conformance.mock.dataset import build_dataset, render
from conformance.report import cli as report
from conformance.report.verdict import State
from tests.conftest import run_suite

LATEST, ORIGINAL = "2026-06-20", "2025-01-01"


def names(version: str) -> set[str]:
    return {b.key for b in coverage.branches(version)}


def test_every_enum_value_and_nullable_field_of_the_schema_is_a_branch():
    for version in schemas.versions():
        for field, shape in schemas.version_field_shapes(version).items():
            if shape.enum is not None:
                for value in shape.enum:
                    if (field, value) != ("status", "paused"):
                        assert f"SCHEMA-ENUM: {field} = {'null' if value is None else value}" in names(
                            version
                        )
            elif shape.nullable:
                assert {f"SCHEMA-TYPE: {field} null", f"SCHEMA-TYPE: {field} set"} <= names(version)
    assert {"SCHEMA-TYPE: issues empty", "SCHEMA-TYPE: issues non-empty"} <= names(LATEST)


def test_a_value_a_rule_rules_out_is_no_branch():
    """BEH-ACTIVATES: a 200 unpause never reports paused, so 'status = paused' cannot be exercised."""
    assert "SCHEMA-ENUM: status = paused" not in names(ORIGINAL) | names(LATEST)
    assert coverage.excluded(LATEST) == ["status = paused (BEH-ACTIVATES rules it out)"]


def test_every_zero_denominator_of_a_derived_metric_is_a_branch_of_its_rule():
    expected = {
        "INV-CPC: no clicks",
        "INV-CTR: no impressions",
        "INV-CPM: no impressions",
        "INV-ROAS: no spend",
        "INV-CPL: no leads and leads not a goal",
        "INV-CPL: no leads and leads the goal",
        "INV-CPP: no purchases and purchases not a goal",
        "INV-CPP: no purchases and purchases the goal",
        "INV-FREQUENCY: no reach",
        "INV-CBO: campaign budget (CBO)",
        "INV-CBO: ad-set budget",
    }
    assert expected <= names(LATEST)
    # each catalogue branch belongs to a rule of that version
    for branch in coverage.branches(LATEST):
        assert rules.catalogue()[branch.rule].applies_to(LATEST)


@pytest.mark.parametrize(
    ("body", "field", "condition", "expected"),
    [
        ({"clicks": 0}, "clicks", "= 0", True),
        ({"clicks": 0.0}, "clicks", "= 0", True),
        ({"clicks": 3}, "clicks", "= 0", False),
        ({"clicks": True}, "clicks", "= 0", False),  # a boolean is no count
        ({"clicks": 3}, "clicks", "> 0", True),
        ({"clicks": "3"}, "clicks", "> 0", False),
        ({"title": None}, "title", None, True),
        ({}, "title", None, False),  # absent is not null
        ({"title": "x"}, "title", "set", True),
        ({"issues": []}, "issues", "empty", True),
        ({"issues": [{}]}, "issues", "non-empty", True),
        ({"status": "rejected"}, "status", "= rejected", True),
        ({"optimization_goal": "Leads"}, "goal", "mentions lead", True),
        ({"optimization_goal": "reach"}, "goal", "lacks lead", True),
    ],
)
def test_conditions(body, field, condition, expected):
    assert coverage.holds(body, field, condition) is expected


def test_an_unknown_condition_is_an_error_not_a_miss():
    with pytest.raises(ValueError, match="unknown coverage condition"):
        coverage.holds({"clicks": 1}, "clicks", "~ 1")


def exchange(
    status: int, path: str, headers: list[tuple[str, str]], body: dict, method: str = "POST"
) -> Exchange:
    return Exchange(
        method,
        "http://127.0.0.1:1" + path,
        headers,
        b"",
        status=status,
        response_headers=[("content-type", "application/json")],
        response_body=json.dumps(body).encode(),
    )


def test_the_recorder_counts_only_200_unpause_bodies_of_a_registered_version():
    group = build_dataset()[0]
    recorder = coverage.Recorder()
    path = f"/ad_groups/{group.id}/unpause"
    recorder.observe(exchange(200, path, [], render(group, ORIGINAL)))  # no header: the default version
    recorder.observe(exchange(200, path, [("api-version-date", LATEST)], render(group, LATEST)))
    recorder.observe(exchange(409, path, [("api-version-date", LATEST)], render(group, LATEST)))
    recorder.observe(exchange(200, path, [("api-version-date", "2026-06-21")], render(group, LATEST)))
    recorder.observe(exchange(200, f"/ad_groups/{group.id}/pause", [], render(group, ORIGINAL)))
    recorder.observe(exchange(200, path, [], render(group, ORIGINAL), method="GET"))
    snapshot = recorder.snapshot()
    assert snapshot["bodies"] == {ORIGINAL: 1, LATEST: 1}
    assert (
        snapshot["hits"][LATEST]["INV-CTR: no impressions"] == 1
    )  # the dataset's first group delivers nothing


def test_snapshots_of_several_processes_merge_by_sum():
    a = {"bodies": {LATEST: 2}, "hits": {LATEST: {"INV-CPC: no clicks": 1}}}
    b = {
        "bodies": {LATEST: 3, ORIGINAL: 1},
        "hits": {LATEST: {"INV-CPC: no clicks": 2, "INV-CPC: clicks": 1}},
    }
    merged = coverage.merge([a, b])
    assert merged["bodies"] == {LATEST: 5, ORIGINAL: 1}
    assert merged["hits"][LATEST] == {"INV-CPC: no clicks": 3, "INV-CPC: clicks": 1}


def test_the_matrix_marks_a_rule_whose_branches_were_partly_exercised():
    run_coverage = {"bodies": {LATEST: 1}, "hits": {LATEST: {"INV-CPC: clicks": 1}}}
    cells = {rule_id: dict.fromkeys((ORIGINAL, LATEST), State.NOT_EXERCISED) for rule_id in rules.catalogue()}
    cells["INV-CPC"][LATEST] = cells["INV-CTR"][LATEST] = State.PASSED
    _versions, marked = report.marks(cells, run_coverage)
    assert [m.text for m in marked["INV-CPC"]] == ["n/a", "passed (partly: 1/2 branches)"]
    assert [m.text for m in marked["INV-CTR"]] == ["n/a", "passed (partly: 0/2 branches)"]
    # no branches, no verdict: nothing to qualify
    assert [m.text for m in marked["INV-COUNTS"]] == ["n/a", "not exercised"]
    assert [m.state for m in marked["INV-CPC"]] == [None, State.PASSED]  # the cell's state, never its text
    _versions, plain = report.marks(cells)
    assert [m.text for m in plain["INV-CPC"]] == ["n/a", "passed"]


def suite_coverage(tmp_path, *args: str) -> tuple[dict, str]:
    verdicts = tmp_path / "verdicts.json"
    completed = run_suite(f"--verdicts-json={verdicts}", "--hypothesis-profile=verdict", *args, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:]
    return json.loads(verdicts.read_text())["coverage"], completed.stdout


@pytest.mark.subprocess
def test_the_mock_dataset_reaches_every_branch_of_every_version(tmp_path):
    run_coverage, stdout = suite_coverage(tmp_path)
    for entry in coverage.report(run_coverage):
        assert entry.bodies > 0, entry.version
        assert [b.key for b in entry.gaps] == [], entry.version
    assert "never exercised" not in stdout
    totals = "; ".join(
        f"{v} {len(coverage.branches(v))}/{len(coverage.branches(v))}" for v in schemas.versions()
    )
    assert totals.split("; ")[0] in stdout, stdout[-2000:]


@pytest.mark.subprocess
def test_a_run_with_one_ad_group_names_exactly_the_branches_it_left_untested(tmp_path):
    group = next(g for g in build_dataset() if g.scenario == "active_already")
    run_coverage, stdout = suite_coverage(tmp_path, f"--ad-group-id={group.id}")
    # what that group's bodies can show, by rendering it as the mock does (it stays active)
    expected = set()
    for version in schemas.versions():
        body = render(group, version)
        expected |= {
            f"{version}: {b.name} never seen, so {b.rule} was not judged on it"
            for b in coverage.branches(version)
            if not b.hit(body)
        }
    assert set(coverage.gap_lines(run_coverage)) == expected
    section = stdout.split("Documented branches never exercised", 1)[1]
    for line in expected:
        assert line in section
    # spelled out, the gaps a reader looks for first: no zero denominators, no CBO, no rejected group
    assert "2026-06-20: no clicks never seen, so INV-CPC was not judged on it" in expected
    assert "2026-06-20: campaign budget (CBO) never seen, so INV-CBO was not judged on it" in expected
    assert "2025-01-01: status = rejected never seen, so SCHEMA-ENUM was not judged on it" in expected
    assert "2026-06-20: clicks never seen, so INV-CPC was not judged on it" not in expected
