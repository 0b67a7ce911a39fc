"""Drift between two targets: every request the suite sends to the target goes to a second one
too (``--compare-base-url``), and the two answers are compared where a verdict can differ.

The second target has its own token and its own ad groups (paired in order with the target's),
its own client (the same bounds, guard and redaction) and its own census and restore. A mirrored
request is sent at the same time as the target's (the two cannot interfere) and the thread that
sent them waits for both, so each target sees one group's pauses and unpauses in the same order,
and mirroring costs the slower of two round trips, not their sum. Compared, per request:

- status class (2xx, 4xx, 5xx, or no answer),
- version shape: which registered versions' schemas a 2xx body validates against,
- error type: ``error.type`` of two 4xx bodies,
- rule verdicts: the rules each answer breaks on its own (JSON and 5xx for every answer, the
  envelope for a 4xx; for a 200 unpause of a registered version every body rule, the id echoed and
  a status other than paused), per rule.

A difference in a rule verdict is filed under that rule; one in status or error type under the rule
the request is about: an unregistered version VER-UNKNOWN-400, bad credentials AUTH-401, another
method ERR-METHOD, an id not configured ERR-NOT-FOUND, else the rule of the test that sent it. Differences are counted per (rule, version, aspect, target's answer,
compare's answer), with the first request as an example: a long run does not grow them.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from conformance.client.http import ApiClient, Exchange, TargetError
from conformance.contract import rules, schemas
from conformance.contract.endpoints import segment
from conformance.judge import checks, coverage

MAX_ENTRIES = 500  # distinct differences kept; past it only the counts of those kept grow


def status_class(exchange: Exchange | None) -> str:
    if exchange is None or exchange.status is None:
        return "no answer"
    return f"{exchange.status // 100}xx"


def shape_of(exchange: Exchange) -> str:
    """The registered versions whose 200-body schema accepts the body ('none' when none does)."""
    body = checks.body_of(exchange)
    if body is None:
        return "not a JSON object"
    accepted = [name for name, version in schemas.versions().items() if version.accepts(body)]
    return ", ".join(accepted) or "none"


def error_type(exchange: Exchange) -> str:
    body = checks.body_of(exchange) or {}
    error = body.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else "(no error type)"


def broken_rules(exchange: Exchange) -> set[str]:
    """The rules one answer breaks on its own (no other request needed)."""
    if exchange.status is not None and 400 <= exchange.status < 500:  # JSON, and the envelope
        found = {v.rule for v in checks.error_violations(exchange, "ERR-ENVELOPE", [exchange.status])}
    else:
        found = {v.rule for v in checks.json_violations(exchange)}
    version = coverage.body_version(exchange)
    body = checks.body_of(exchange) if version is not None else None
    if version is not None and body is not None:
        found |= {v.rule for v in rules.body_violations(schemas.versions()[version], body)}
        if body.get("id") != requested_id(exchange.url):
            found.add("BEH-ID-ECHO")
        if body.get("status") == "paused":
            found.add("BEH-ACTIVATES")
    return found


def requested_id(url: str) -> str | None:
    parts = url.split("?")[0].split("/")
    return unquote(parts[-2]) if len(parts) >= 3 and parts[-3] == "ad_groups" else None


@dataclass
class Difference:
    rule: str
    version: str
    aspect: str
    target: str
    compare: str
    count: int
    example: str  # method and path template of the first request that showed it


def differences(main: Exchange, other: Exchange | None, about: str) -> list[tuple[str, str, str, str]]:
    """(rule, aspect, target's answer, compare's answer) for each way two answers differ."""
    found = []
    if status_class(main) != status_class(other):
        found.append((about, "status", f"{main.status}", "no answer" if other is None else f"{other.status}"))
    if other is None or other.status is None:
        return found
    both = {main.status // 100, other.status // 100}
    if both == {2} and (shape_of(main) != shape_of(other)):
        found.append(("VER-SHAPE", "version shape", shape_of(main), shape_of(other)))
    if both == {4} and error_type(main) != error_type(other):
        found.append((about, "error type", error_type(main), error_type(other)))
    mine, theirs = broken_rules(main), broken_rules(other)
    found += [(rule, "rule verdict", "breaks it", "passes") for rule in sorted(mine - theirs)]
    found += [(rule, "rule verdict", "passes", "breaks it") for rule in sorted(theirs - mine)]
    return found


# the rule the running test is about, set at its start (a context variable: the requests of its
# threads carry it); a difference no request-level rule claims is filed under it
ABOUT: contextvars.ContextVar[str] = contextvars.ContextVar("about", default="ERR-NO-5XX")


class Mirror:
    """Sends a copy of each of the target's exchanges to the compare target and records drift."""

    def __init__(self, client: ApiClient, main_base: str, main_token: str, pairing: dict[str, str]):
        self.client = client
        self.main_base = main_base.rstrip("/")
        self.main_token = main_token
        self.segments = {segment(a): segment(b) for a, b in pairing.items()}
        self.entries: dict[tuple, Difference] = {}
        self.mirrored = 0
        self.lock = threading.Lock()
        self.stopped: str | None = None  # the compare target's own breaker or budget tripped
        # a burst of concurrent unpauses stays concurrent on the second target too
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="mirror")

    def path(self, url: str) -> tuple[str, str]:
        """The compare target's path for one of the target's paths (or URLs), and the template shown."""
        path = url[len(self.main_base) :] if url.startswith(self.main_base) else url
        parts = path.split("/")
        template = list(parts)
        if len(parts) > 2 and parts[1] == "ad_groups":
            template[2] = "{id}"
            parts[2] = self.segments.get(parts[2], parts[2])
        return "/".join(parts), "/".join(template)

    def credentials(self, value: str | bytes) -> str | bytes:
        """A header value with the target's token, or a prefix of it the auth tests derive, swapped
        for the compare target's token (the same prefix length short of whole)."""
        token, theirs = self.main_token, self.client.token
        if not isinstance(value, str):
            return value  # raw bytes the hostile-input tests send: no token in them
        for length in range(len(token), 5, -1):
            if token[:length] in value:
                return value.replace(token[:length], theirs[: max(1, len(theirs) - (len(token) - length))])
        return value

    def about_request(self, exchange: Exchange) -> str:
        """The rule a status or error-type difference on this request is filed under."""
        headers = [(name.lower(), value) for name, value in exchange.request_headers]
        if coverage.requested_version(exchange) == "unregistered":
            return "VER-UNKNOWN-400"
        if ("authorization", f"Bearer {self.main_token}") not in headers:
            return "AUTH-401"
        if exchange.method != "POST":
            return "ERR-METHOD"
        path, _ = self.path(exchange.url)
        if path.split("?")[0].split("/")[2:3] and path.split("/")[2] not in self.segments.values():
            return "ERR-NOT-FOUND"
        return ABOUT.get()

    def send(self, method: str, path: str, headers: dict[str, str | bytes], content: bytes) -> Future:
        """Start the second target's copy of a request the target is being sent."""
        mapped, _ = self.path(path)
        mirrored = {name: self.credentials(value) for name, value in headers.items()}
        return self.pool.submit(self.client.request, method, mapped, headers=mirrored, content=content)

    def settle(self, exchange: Exchange | None, pending: Future) -> None:
        """Wait for the copy, and record where its answer differs from the target's ``exchange``
        (None: the target gave no usable answer, which its own verdicts report)."""
        other = None
        try:
            other = pending.result()
        except TargetError as error:
            with self.lock:
                self.stopped = self.stopped or str(error)
        with self.lock:
            self.mirrored += 1
        if exchange is None:
            return
        _, template = self.path(exchange.url)
        version = coverage.requested_version(exchange)
        for rule, aspect, mine, theirs in differences(exchange, other, self.about_request(exchange)):
            key = (rule, version, aspect, mine, theirs)
            with self.lock:
                if key in self.entries:
                    self.entries[key].count += 1
                elif len(self.entries) < MAX_ENTRIES:
                    self.entries[key] = Difference(
                        rule, version, aspect, mine, theirs, 1, f"{exchange.method} {template}"
                    )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "mirrored": self.mirrored,
                "stopped": self.stopped,
                "entries": [d.__dict__.copy() for d in self.entries.values()],
            }


def merge(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's drift from each process's snapshot."""
    entries: dict[tuple, dict] = {}
    mirrored, stopped = 0, None
    for snapshot in snapshots:
        mirrored += snapshot.get("mirrored", 0)
        stopped = stopped or snapshot.get("stopped")
        for entry in snapshot.get("entries", []):
            key = (entry["rule"], entry["version"], entry["aspect"], entry["target"], entry["compare"])
            if key in entries:
                entries[key]["count"] += entry["count"]
            else:
                entries[key] = dict(entry)
    ordered = sorted(entries.values(), key=lambda e: (e["rule"], e["version"], e["aspect"]))
    return {"mirrored": mirrored, "stopped": stopped, "entries": ordered}
