"""Stress proof that a red run means the target broke a rule: ``python benchmarks/stress.py
[--runs 20] [--latency-ms 20] [--python PATH] [--phase property|full] [--xdist N] [--profile NAME]``.

One standalone, correct mock (``--profile``: one of its correct variants, e.g. rate-limited,
lagging-read, brief-outage, short-keep-alive) behind the latency proxy, and the suite run against it as a user runs
it against staging (``--base-url``, so the remote default ``--concurrency 8``, threads), the
thorough hypothesis profile, ``--runs`` times in a row, each a fresh process (cold imports and
caches, where the thread-safety bugs live). Every run must exit 0: a correct server never fails
the run. Prints each run's exit, seconds, peak RSS and any failing test with its first error
line, then the count of failed runs, the median time and the largest peak RSS; exits 1 on any
failed run. ``--python`` runs the suite under another interpreter (a venv of Python 3.12, 3.13).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from harness import IDS, ROOT, TOKEN, WRAPPER, LatencyProxy

from conformance.mock.app import PEER, READ_ONLY, derived_token
from conformance.mock.dataset import build_foreign
from conformance.mock.profiles import CATALOGUE as PROFILES
from conformance.mock.profiles import DEFAULT
from conformance.mock.server import MockServer
from conformance.tools.mutation import suite_command


def command(
    python: str, url: str, phase: str, verdicts: Path, xdist: int, profile: str = "thorough"
) -> list[str]:
    selection = ["-k", "test_generated_requests_conform"] if phase == "property" else []
    return suite_command(
        *selection,
        *(["-n", str(xdist), "--dist", "loadgroup"] if xdist else []),
        f"--base-url={url}",
        f"--api-token={TOKEN}",
        *[f"--ad-group-id={group_id}" for group_id in IDS],
        # the mock's other identities, so the authorization checks run too
        f"--peer-api-token={derived_token(TOKEN, PEER)}",
        f"--read-only-api-token={derived_token(TOKEN, READ_ONLY)}",
        *[f"--foreign-ad-group-id={group.id}" for group in build_foreign(0)],
        f"--verdicts-json={verdicts}",
        profile=profile,
        python=python,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/stress.py", description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="held per response (default 20)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the suite runs under")
    parser.add_argument("--phase", choices=["property", "full"], default="property")
    parser.add_argument("--xdist", type=int, default=0, help="run the suite with -n N --dist loadgroup")
    parser.add_argument(
        "--hypothesis-profile", default="thorough", help="the suite's hypothesis profile (default thorough)"
    )
    parser.add_argument(
        "--profile", default=DEFAULT.name, choices=list(PROFILES), help="the mock's correct variant"
    )
    args = parser.parse_args(argv)
    mock = MockServer(TOKEN, profile=PROFILES[args.profile]).start()
    proxy = LatencyProxy(mock.port, args.latency_ms / 1000)
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"stress: {args.runs} {args.hypothesis_profile} {args.phase} runs, Python {version}, {args.latency_ms:g} ms a response, "
        f"mock profile {args.profile}"
    )
    failed, seconds, peaks = [], [], []
    try:
        for number in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory() as scratch:
                verdicts = Path(scratch) / "verdicts.json"
                started = time.monotonic()
                completed = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        WRAPPER,
                        *command(
                            args.python, proxy.url, args.phase, verdicts, args.xdist, args.hypothesis_profile
                        ),
                    ],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                seconds.append(time.monotonic() - started)
                peak = re.search(r"PEAK_RSS_KB (\d+)", completed.stderr)
                peaks.append(int(peak.group(1)) / 1024 if peak else float("nan"))
                outcomes = json.loads(verdicts.read_text())["outcomes"] if verdicts.exists() else []
            bad = [o for o in outcomes if o["outcome"] not in ("passed", "skipped")]
            line = (
                f"run {number:2}: exit {completed.returncode}, {seconds[-1]:5.1f} s, "
                f"peak RSS {peaks[-1]:.0f} MB, {len(outcomes)} outcomes"
            )
            if completed.returncode != 0 or bad:
                failed.append(number)
                errors = [
                    ln for ln in completed.stdout.splitlines() if ln.startswith(("E ", "FAILED", "ERROR"))
                ]
                line += "\n    " + "\n    ".join(
                    [f"{o['test']} {o['outcome']} {o['rules']} {o.get('error', '')}" for o in bad]
                    + errors[:6]
                )
                # the whole failure, for the one who reads why a correct server failed
                failures = completed.stdout[completed.stdout.find("= FAILURES =") :][:6000]
                line += "\n" + textwrap.indent(failures, "    | ")
            print(line, flush=True)
    finally:
        proxy.stop()
        mock.stop()
    print(
        f"stress: {len(failed)} of {args.runs} runs failed against a correct server "
        f"({', '.join(map(str, failed)) or 'none'}); median {statistics.median(seconds):.1f} s a run; "
        f"peak RSS at most {max(peaks):.0f} MB"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
