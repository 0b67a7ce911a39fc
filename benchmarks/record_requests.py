"""A pytest plugin for benchmarks/run.py: records every request the suite's client sends (method,
URL, headers, body) to the file named by $BENCHMARK_RECORD, so that the raw loop can replay
exactly the same requests, the mock doing exactly the same work, as the floor."""

from __future__ import annotations

import json
import os

from conformance.client import http

RECORDED: list[list] = []


def pytest_configure(config) -> None:
    send = http.ApiClient._send

    def recording_send(self, method: str, url: str, headers: dict[str, str | bytes], content: bytes):
        # values as latin-1 text: a header may go out as bytes (a near-miss token with a no-break space)
        shown = {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in headers.items()}
        RECORDED.append([method, url, shown, content.decode("latin-1")])
        return send(self, method, url, headers, content)

    http.ApiClient._send = recording_send


def pytest_sessionfinish(session) -> None:
    with open(os.environ["BENCHMARK_RECORD"], "w", encoding="utf-8") as handle:
        json.dump(RECORDED, handle)
