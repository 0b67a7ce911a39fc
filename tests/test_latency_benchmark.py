"""The latency benchmark keeps working: one small round, through the proxy, end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_one_small_latency_round_prints_and_writes_every_figure(tmp_path):
    out = tmp_path / "latency.json"
    command = [sys.executable, "benchmarks/latency.py", "--repeat", "1", "--latency", "0", "--latency", "20"]
    command += ["--cases", "10", "--profile", "quick", "--fault", "ctr-as-percent", "--out", str(out)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    medians = json.loads(out.read_text())["medians"]
    assert set(medians) == {"0ms", "20ms"}
    for latency in medians.values():
        for key in (
            "full_quick_s",
            "full_quick_rss_mb",
            "property_suite_cases_per_s",
            "property_st_cases_per_s",
        ):
            assert math.isfinite(latency[key]), key
        assert latency["full_quick_exit"] == 0  # the clean mock passes through the proxy
        assert latency["fault_ctr-as-percent_ratio"] > 0
    # a response held 20 ms costs the run time: the proxy really delays
    assert medians["20ms"]["full_quick_s"] > medians["0ms"]["full_quick_s"]
    assert "targets:" in completed.stdout
