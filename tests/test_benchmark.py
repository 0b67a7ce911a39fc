"""The benchmark keeps working: one small round runs end to end and writes every figure."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess  # every test here starts a process

ROOT = Path(__file__).resolve().parent.parent


def test_one_small_round_prints_and_writes_every_ratio(tmp_path):
    out = tmp_path / "benchmarks.json"
    command = [
        sys.executable,
        "benchmarks/run.py",
        "--repeat",
        "1",
        "--small",
        "5",
        "--large",
        "25",
        "--out",
        str(out),
    ]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = json.loads(out.read_text())
    for key in (
        "ratio_suite_over_st_cases_per_s",
        "ratio_suite_xdist_over_st_cases_per_s",
        "ratio_examples_over_raw_time_per_request",
        "ratio_mock_over_minimal_rps",
        "full_default_run_s",
    ):
        # one tiny round is too noisy for the figures' values (a marginal can even come out negative)
        assert math.isfinite(figures[key]), key
        assert key in completed.stdout, key
    (row,) = figures["rounds"]
    # each ratio is its two sides measured in the round, and the sides that cannot be noise are real
    assert figures["ratio_mock_over_minimal_rps"] == pytest.approx(row["mock_rps"] / row["minimal_rps"])
    assert figures["ratio_examples_over_raw_time_per_request"] == pytest.approx(
        row["examples_s_per_request"] / row["raw_examples_s_per_request"]
    )
    assert row["mock_rps"] > 50  # requests per second on loopback: hundreds; under 50 the loop is broken
    assert row["minimal_rps"] > 50
    assert 0 < row["raw_examples_s_per_request"] < row["examples_s_per_request"] * 10
    assert 1 < figures["full_default_run_s"] < 300
    assert row["examples_requests"] > 100  # the example suites ran against the mock
    assert "targets:" in completed.stdout
