"""What mirroring to a second target costs: ``python benchmarks/drift.py [--repeat N] [--latency S]``.

Two mocks, each behind its own latency-injecting proxy (benchmarks/latency.py), the suite run
against the first alone and with the second as ``--compare-base-url``, alternately, N rounds;
prints the median and every run of each, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import LatencyProxy

from conformance.mock.server import MockServer

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per response (default 0.05)")
    args = parser.parse_args()
    target, second = MockServer("tok-target-7a6b5c4d").start(), MockServer("tok-second-1e2f3a4b").start()
    proxies = [LatencyProxy(int(server.url.rsplit(":", 1)[1]), args.latency) for server in (target, second)]
    suite = [
        sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider", "--hypothesis-profile=quick",
        "--hypothesis-seed=1", f"--base-url=http://127.0.0.1:{proxies[0].port}", "--api-token=tok-target-7a6b5c4d",
        *(f"--ad-group-id={group.id}" for group in target.api.dataset),
    ]  # fmt: skip
    compare = [
        f"--compare-base-url=http://127.0.0.1:{proxies[1].port}",
        "--compare-api-token=tok-second-1e2f3a4b",
    ]
    times: dict[str, list[float]] = {"alone": [], "mirrored": []}
    for _ in range(args.repeat):
        for name, extra in (("alone", []), ("mirrored", compare)):
            started = time.monotonic()
            completed = subprocess.run(suite + extra, cwd=ROOT, capture_output=True, text=True, check=False)
            times[name].append(time.monotonic() - started)
            if completed.returncode != 0:
                print(completed.stdout[-3000:], file=sys.stderr)
                return 1
    for name, values in times.items():
        print(
            f"{name}: median {statistics.median(values):.1f} s (runs {', '.join(f'{v:.1f}' for v in values)})"
        )
    ratio = statistics.median(times["mirrored"]) / statistics.median(times["alone"])
    print(f"mirrored / alone at {args.latency * 1000:g} ms a response: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
