"""Bounded load test of the mock on loopback: ``python benchmarks/load.py [--clients 50] [--requests 2000]``.

Starts the standalone mock in its own process, sends --requests requests from each of --clients
concurrent keep-alive clients (a mix of 200s, 400s, 401s and 404s, every version), and prints
errors, throughput and the mock's resident memory before, during and after. Exits 1 on any
error, 5xx or memory growth above --max-growth-mb after warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-token"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def client_loop(url: str, ids: list[str], count: int, offset: int, tally: dict) -> None:
    variants = [
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}", "Api-Version-Date": "2026-06-20"},
        {"Authorization": f"Bearer {TOKEN}", "Api-Version-Date": "2031-01-01"},
        {"Authorization": "Bearer wrong"},
    ]
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for n in range(count):
            group_id = ids[(n + offset) % len(ids)] if n % 17 else "adgrp_missing"
            try:
                response = await client.post(
                    f"/ad_groups/{group_id}/unpause", headers=variants[(n + offset) % 4]
                )
                tally[response.status_code] = tally.get(response.status_code, 0) + 1
            except httpx.HTTPError as error:
                tally[type(error).__name__] = tally.get(type(error).__name__, 0) + 1


async def load(url: str, ids: list[str], clients: int, requests: int) -> dict:
    tally: dict = {}
    await asyncio.gather(*(client_loop(url, ids, requests, i, tally) for i in range(clients)))
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="per client")
    parser.add_argument("--max-growth-mb", type=float, default=20.0)
    args = parser.parse_args()
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.mock", "--port", "0", "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().split()[-1]
        lines = [process.stdout.readline() for _ in range(3)]
        ids = []
        while len(ids) < 25:
            ids.append(process.stdout.readline().split()[0])
        assert lines
        started_rss = rss_mb(process.pid)
        warm = asyncio.run(load(url, ids, args.clients, max(1, args.requests // 10)))
        warm_rss = rss_mb(process.pid)
        started = time.perf_counter()
        tally = asyncio.run(load(url, ids, args.clients, args.requests))
        seconds = time.perf_counter() - started
        end_rss = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(10)
    total = sum(tally.values())
    errors = {k: v for k, v in tally.items() if not isinstance(k, int) or k >= 500}
    growth = end_rss - warm_rss
    result = {
        "clients": args.clients,
        "requests_per_client": args.requests,
        "total": total,
        "seconds": round(seconds, 2),
        "requests_per_s": round(total / seconds),
        "statuses": {str(k): v for k, v in sorted(tally.items(), key=str)},
        "errors": errors,
        "rss_mb": {
            "start": round(started_rss, 1),
            "after_warmup": round(warm_rss, 1),
            "end": round(end_rss, 1),
        },
        "growth_mb": round(growth, 1),
        "warmup_statuses": {str(k): v for k, v in warm.items()},
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "reports" / "load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return 0 if not errors and growth <= args.max_growth_mb else 1


if __name__ == "__main__":
    raise SystemExit(main())
