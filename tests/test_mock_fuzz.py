"""The mock survives schemathesis's own CLI in negative and fuzzing modes: no 5xx, whatever it sends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.contract import openapi, schemas

pytestmark = pytest.mark.subprocess  # every test here starts a process


@pytest.mark.parametrize("version", list(schemas.versions()))
def test_st_run_all_modes_finds_no_server_error(mock, tmp_path, version):
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(openapi.build(version, [g.id for g in mock.api.dataset])))
    before = mock.api.requests
    st = Path(sys.executable).parent / "st"
    completed = subprocess.run(
        [
            str(st),
            "run",
            str(spec),
            "--url",
            mock.url,
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing",
            "-n",
            "150",
            "--no-shrink",
            "--checks",
            "not_a_server_error",
            "--workers",
            "1",
            "-H",
            "Authorization: Bearer selftest-token-3b1f0c",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    sent = mock.api.requests - before
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert sent >= 150, f"schemathesis sent only {sent} requests"
