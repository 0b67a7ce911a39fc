"""What the benchmarks share: the latency proxy, the measured subprocess, the suite's command
against a proxied mock, and how each tool's own account of its testing is read."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from conformance.mock.dataset import build_dataset
from conformance.tools.mutation import suite_command

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "latency-benchmark-token"
IDS = [group.id for group in build_dataset(0)]
CONCURRENCY = 8  # the suite's default against --base-url

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth"


def junit_test_seconds(path: Path) -> float:
    """The tests' own time (set-up + call + teardown of each), without start-up and collection."""
    return sum(float(case.get("time", 0)) for case in ElementTree.parse(path).getroot().iter("testcase"))


def suite_phase_seconds(verdicts: Path) -> float:
    """From the first property-based case to the last: the earliest start to the latest stop of
    the tests' call phases, across xdist workers too (pytest's report times are epoch seconds)."""
    calls = [o for o in json.loads(verdicts.read_text())["outcomes"] if o["when"] == "call"]
    assert calls, "no property-based test ran"
    assert all(o["outcome"] == "passed" for o in calls), calls
    return max(o["stop"] for o in calls) - min(o["start"] for o in calls)


class LatencyProxy:
    """A TCP proxy on 127.0.0.1: forwards requests at once, holds each response ``delay`` seconds
    (from its first byte), as a network round trip would. One upstream connection per client
    connection, so keep-alive behaves as it would against the real thing."""

    def __init__(self, upstream_port: int, delay: float):
        self.upstream_port, self.delay = upstream_port, delay
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True, name=f"latency-proxy-{delay}").start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _client(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        waiting = asyncio.Event()  # a request went up and its answer has not started coming back

        async def up() -> None:
            while chunk := await client_reader.read(65536):
                waiting.set()
                upstream_writer.write(chunk)
                await upstream_writer.drain()
            upstream_writer.close()

        async def down() -> None:
            while chunk := await upstream_reader.read(65536):
                if waiting.is_set():
                    waiting.clear()
                    await asyncio.sleep(self.delay)
                client_writer.write(chunk)
                await client_writer.drain()
            client_writer.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


WRAPPER = (
    "import resource, subprocess, sys; completed = subprocess.run(sys.argv[1:]); "
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(completed.returncode)"
)


def measured(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MB) of ``command``, run in a wrapper that reads its children's."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - started
    peak = re.search(r"PEAK_RSS_KB (\d+)", completed.stderr)
    return wall, int(peak.group(1)) / 1024 if peak else float("nan"), completed


def suite_against(url: str, *args: str, profile: str = "quick") -> list[str]:
    return suite_command(
        f"--base-url={url}",
        f"--api-token={TOKEN}",
        *[f"--ad-group-id={group_id}" for group_id in IDS],
        *args,
        profile=profile,
    )
