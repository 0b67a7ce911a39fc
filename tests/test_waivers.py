"""Accepted failures: a waived failure is reported as waived (never passed), an expired waiver
waives nothing and fails the run, an unused one is reported; a malformed file is a usage error."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pytest

from conformance.contract import rules
from conformance.judge import waivers
from tests.conftest import run_suite

CTR = "2026-06-20-INV-CTR"  # the one test the runs below select: INV-CTR on 2026-06-20
TODAY = dt.date(2026, 12, 2)


def waiver_file(tmp_path, *entries: str) -> str:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + "".join(textwrap.indent(textwrap.dedent(e), "  ") for e in entries))
    return str(path)


CTR_WAIVER = """\
- rule: INV-CTR
  version: 2026-06-20
  reason: "ADS-1234: a percentage until the March release"
  expires: {expires}
"""
UNRELATED = """\
- rule: SCHEMA-TYPE
  version: all
  reason: "ADS-9: fixed since"
  expires: 2999-01-01
"""


def run_with(tmp_path, path: str, *args: str) -> tuple[int, dict, str]:
    verdicts_path = tmp_path / "verdicts.json"
    completed = run_suite(
        f"--waivers={path}", f"--verdicts-json={verdicts_path}", "-k", f"test_body_rule and {CTR}", *args
    )
    verdicts = json.loads(verdicts_path.read_text()) if verdicts_path.exists() else {}
    return completed.returncode, verdicts, completed.stdout + completed.stderr


@pytest.mark.subprocess
def test_a_waived_failure_is_reported_as_waived_not_passed(tmp_path):
    path = waiver_file(tmp_path, CTR_WAIVER.format(expires="2999-03-31"))
    status, verdicts, output = run_with(tmp_path, path, "--mock-fault=ctr-as-percent")
    assert status == 0, output[-3000:]
    (outcome,) = [o for o in verdicts["outcomes"] if o["when"] == "call"]
    assert outcome["outcome"] == "waived"
    assert outcome["waived_by"] == [0]
    assert verdicts["run"]["headline"] == "WAIVED (accepted, not passed): MUST INV-CTR on 2026-06-20"
    assert output.strip().splitlines()[-1] == verdicts["run"]["headline"]
    assert [n["kind"] for n in verdicts["notes"] if n["kind"].startswith("waiver")] == ["waiver-used"]


@pytest.mark.subprocess
def test_a_waiver_waives_nothing_it_does_not_cover(tmp_path):
    path = waiver_file(tmp_path, CTR_WAIVER.format(expires="2999-03-31").replace("2026-06-20", "2025-01-01"))
    status, verdicts, output = run_with(tmp_path, path, "--mock-fault=ctr-as-percent")
    assert status == 1, output[-3000:]
    assert verdicts["run"]["headline"].startswith("FAILED: MUST INV-CTR on 2026-06-20")


@pytest.mark.subprocess
def test_an_expired_waiver_waives_nothing_and_fails_even_a_passing_run(tmp_path):
    path = waiver_file(tmp_path, CTR_WAIVER.format(expires="2020-01-31"))
    status, verdicts, output = run_with(tmp_path, path, "--mock-fault=ctr-as-percent")
    assert status == 1, output[-3000:]
    (outcome,) = [o for o in verdicts["outcomes"] if o["when"] == "call"]
    assert outcome["outcome"] == "failed"
    assert verdicts["run"]["headline"].startswith("EXPIRED WAIVER: INV-CTR on 2026-06-20 until 2020-01-31")
    status, verdicts, output = run_with(
        tmp_path, path
    )  # the clean mock: nothing fails, the waiver's time is up
    assert status == 1, output[-3000:]
    assert "EXPIRED WAIVERS: they waive nothing and fail the run" in output


@pytest.mark.subprocess
def test_an_unused_waiver_is_reported(tmp_path):
    path = waiver_file(tmp_path, CTR_WAIVER.format(expires="2999-03-31"), UNRELATED)
    status, verdicts, output = run_with(tmp_path, path)
    assert status == 0, output[-3000:]
    unused = [n["text"] for n in verdicts["notes"] if n["kind"] == "waiver-unused"]
    assert len(unused) == 2
    assert verdicts["run"]["headline"].endswith("; 2 waiver(s) unused")
    assert "Unused waivers (nothing they cover failed: remove them?)" in output


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("- rule: INV-NOPE\n  version: all\n  reason: x\n  expires: 2999-01-01\n", "not a rule"),
        ("- rule: INV-CTR\n  version: 2024-01-01\n  reason: x\n  expires: 2999-01-01\n", "version"),
        ("- rule: INV-CTR\n  version: all\n  reason: x\n  expires: soon\n", "expires must be a date"),
        ("- rule: INV-CTR\n  version: all\n  expires: 2999-01-01\n", "missing ['reason']"),
        (
            "- rule: INV-CTR\n  version: all\n  reason: x\n  expires: 2999-01-01\n  owner: me\n",
            "unknown fields",
        ),
    ],
)
@pytest.mark.subprocess
def test_a_malformed_waiver_file_is_a_usage_error_naming_the_entry(tmp_path, entry, complaint):
    path = waiver_file(tmp_path, entry)
    with pytest.raises(waivers.WaiverError, match="entry 1") as raised:
        waivers.load(tmp_path / "waivers.yaml")
    assert complaint in str(raised.value)
    status, _, output = run_with(tmp_path, path)
    assert status == 4, output[-2000:]
    assert complaint in output


def test_waiving_needs_every_violation_covered_and_the_ad_group_named():
    (ctr, for_one_group) = waivers.load_entries(
        [
            {"rule": "INV-CTR", "version": "2026-06-20", "reason": "r", "expires": dt.date(2999, 1, 1)},
            {
                "rule": "INV-CPC",
                "version": "all",
                "ad_group": "adgrp_1",
                "reason": "r",
                "expires": dt.date(2999, 1, 1),
            },
        ],
        "test",
    )
    a_ctr, a_cpc = rules.Violation("INV-CTR", "adgrp_7: x"), rules.Violation("INV-CPC", "adgrp_1: y")
    assert waivers.waiving([ctr, for_one_group], [a_ctr, a_cpc], "2026-06-20", TODAY) == [ctr, for_one_group]
    assert waivers.waiving([ctr], [a_ctr, a_cpc], "2026-06-20", TODAY) is None
    assert waivers.waiving([ctr], [a_ctr], "2025-01-01", TODAY) is None
    assert waivers.waiving([for_one_group], [rules.Violation("INV-CPC", "adgrp_2: y")], None, TODAY) is None
    assert waivers.waiving([ctr], [a_ctr], "2026-06-20", dt.date(3000, 1, 1)) is None, "expired"
    assert waivers.waiving([ctr], [], "2026-06-20", TODAY) is None, "nothing to waive: not waived"
