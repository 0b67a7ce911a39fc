"""What the suite knows and changes about each configured ad group.

- ``obtain``: a 200 unpause body of a group in a version, by the cheapest honest route (unpause;
  where that answers 409, pause then unpause), or the reason it cannot be had (not exercised).
- ``Specimens``: those bodies, fetched once per (group, version) and judged by every body rule.
- ``census`` / ``restore``: each group's status before the run, and putting it back at the end.

The docs say nothing of unpausing a group that is not paused: 200 (idempotent) and 409 with the
error envelope (the SDKs' conflict) are both correct readings, and nothing here treats either as
a failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from conformance import rules
from conformance.checks import body_of, error_violations, json_violations, violation
from conformance.endpoints import VERSION_HEADER, pause_path, unpause_path, version_header
from conformance.http import ApiClient, Exchange, TargetError

CONFLICT = 409


def each(concurrency: int, function: Callable, items: Iterable) -> list:
    """``function`` over ``items``, ``concurrency`` at a time, results in order: for requests to
    different ad groups, which cannot interfere (each group's own requests stay in sequence)."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(concurrency, len(items)), thread_name_prefix="per-group") as pool:
        return list(pool.map(function, items))


# how close to the answer's Date an updated_at must be for the census to read "this unpause
# changed the group": a transition stamps updated_at with the server's now
TRANSITION_WINDOW = timedelta(seconds=10)


@dataclass
class Obtained:
    """A 200 unpause of one group in one version, or why there is none."""

    group_id: str
    version: str | None  # the Api-Version-Date sent; None: no header
    exchange: Exchange | None = None  # the 200 unpause, when obtained
    route: list[Exchange] = field(default_factory=list)  # every request sent to obtain it
    violations: list[rules.Violation] = field(default_factory=list)  # broken on the way
    not_exercised: str | None = None  # why this group cannot be brought to a 200 unpause

    @property
    def body(self) -> dict | None:
        return body_of(self.exchange) if self.exchange is not None else None

    @property
    def shown(self) -> Exchange | None:
        """The exchange a failure shows: the 200, else the last request of the route."""
        return self.exchange or (self.route[-1] if self.route else None)


def conflict_violations(exchange: Exchange) -> list[rules.Violation]:
    """A 409 is a correct answer to a state conflict; its body must still be the error envelope."""
    return error_violations(exchange, "ERR-ENVELOPE", [CONFLICT])


def obtain(
    api: ApiClient,
    group_id: str,
    version: str | None,
    *,
    status_rule: str,
    may_pause: bool,
    header_name: str = VERSION_HEADER,
) -> Obtained:
    """Unpause ``group_id`` asking for ``version``; where that answers 409, pause and unpause again.

    Any answer but 200 or 409 breaks ``status_rule``; a 409 without the envelope breaks
    ERR-ENVELOPE; a group whose pause is refused too cannot be exercised, and says why."""
    result = Obtained(group_id, version)
    headers = {**api.auth, **version_header(version, header_name)}
    first = api.post(unpause_path(group_id), headers=headers)
    result.route.append(first)
    if first.status == 200:
        result.exchange = first
        return result
    conflict = first.status == CONFLICT
    if conflict:
        result.violations += conflict_violations(first)
    else:
        # a violation, reported; pausing first may still give the body rules a body to judge
        result.violations += json_violations(first)
        result.violations.append(violation(status_rule, f"unpause answered {first.status}, not 200 or 409"))
    if not may_pause:
        if conflict:
            result.not_exercised = (
                "unpause answered 409 (not paused) and --no-use-pause forbids pausing it first"
            )
        return result
    paused = api.post(pause_path(group_id), headers=api.auth)
    result.route.append(paused)
    if paused.status != 200:
        result.violations += (
            conflict_violations(paused) if paused.status == CONFLICT else json_violations(paused)
        )
        if conflict and paused.status == CONFLICT:
            result.not_exercised = (
                "unpause and pause both answer 409: neither paused nor active (rejected, say), "
                "so no 200 unpause can be had"
            )
        elif conflict:
            result.not_exercised = f"unpause answered 409 and the pause to retry it answered {paused.status}"
        return result
    second = api.post(unpause_path(group_id), headers=headers)
    result.route.append(second)
    if second.status == 200:
        result.exchange = second
    elif second.status == CONFLICT and (body_of(paused) or {}).get("status") == "paused":
        result.violations += conflict_violations(second)
        result.violations.append(
            violation(
                "BEH-ACTIVATES", "pause reported 'paused', then unpause answered 409 instead of activating"
            )
        )
    else:
        result.violations += json_violations(second)
        result.violations.append(
            violation(status_rule, f"unpause after a pause answered {second.status}, not 200")
        )
    return result


def pause_first(api: ApiClient, group_id: str) -> Obtained:
    """Set-up: bring a group to paused, known from a 200 pause reporting 'paused'. Where pause
    answers 409 (the conflict reading: it is not active), unpause it and pause again. ``exchange``
    is that 200 pause; ``not_exercised`` says why the group cannot be paused."""
    result = Obtained(group_id, None)
    for attempt in range(2):
        paused = api.post(pause_path(group_id), headers=api.auth)
        result.route.append(paused)
        status = (body_of(paused) or {}).get("status")
        if paused.status == 200 and status == PAUSED:
            result.exchange = paused
            return result
        if paused.status == 200 and body_of(paused) is None:
            result.violations += json_violations(paused)
            result.not_exercised = "pause answered 200 with a body that is not JSON: the status is unknown"
            return result
        if paused.status == 200:
            result.not_exercised = f"pause answered 200 with status {status!r}: this group cannot be paused"
            return result
        if paused.status != CONFLICT:
            result.violations += json_violations(paused)
            result.not_exercised = f"pause answered {paused.status}, so it cannot be set up as paused"
            return result
        result.violations += conflict_violations(paused)
        if attempt == 0:
            unpaused = api.post(unpause_path(group_id), headers=api.auth)
            result.route.append(unpaused)
            if unpaused.status != 200:
                result.violations += (
                    conflict_violations(unpaused)
                    if unpaused.status == CONFLICT
                    else json_violations(unpaused)
                )
                result.not_exercised = (
                    f"pause answered 409 and unpause {unpaused.status}: neither paused nor active "
                    "(rejected, say), so it cannot be set up as paused"
                )
                return result
    result.not_exercised = "pause answered 409 twice, once after a 200 unpause"
    return result


def first_pausable(api: ApiClient, group_ids: list[str]) -> Obtained:
    """Set-up of a test on one paused group: the first of ``group_ids`` that can be paused, or the
    last attempt (whose ``not_exercised`` says why none could)."""
    paused = None
    for group_id in group_ids:
        paused = pause_first(api, group_id)
        if paused.not_exercised is None:
            break
    return paused


def burst(
    api: ApiClient, group_id: str, headers: dict[str, str], calls: int
) -> tuple[list[Exchange], list[rules.Violation]]:
    """``calls`` unpauses of one group at once: each answers 200 or 409 with the envelope, never
    anything else (BEH-CONCURRENT)."""
    with ThreadPoolExecutor(calls) as pool:
        exchanges = list(pool.map(lambda _: api.post(unpause_path(group_id), headers=headers), range(calls)))
    found = []
    for exchange in exchanges:
        if exchange.status not in (200, CONFLICT):
            found.append(violation("BEH-CONCURRENT", f"a concurrent unpause answered {exchange.status}"))
        elif exchange.status == CONFLICT:
            found += conflict_violations(exchange)
    return exchanges, found


class Specimens:
    """One obtained 200 body per (group, version) for the whole run: body rules are pure functions
    of a body, so thirty rules cost one request route, not thirty."""

    def __init__(self, api: ApiClient, may_pause: bool, group_ids: list[str], concurrency: int = 1):
        self.api = api
        self.may_pause = may_pause
        self.group_ids = group_ids
        self.concurrency = concurrency
        self.seen: dict[tuple[str, str | None], Obtained] = {}
        self.lock = threading.Lock()

    def unpause(self, group_id: str, version: str | None, status_rule: str) -> Obtained:
        key = (group_id, version)
        with self.lock:  # the first to ask for a version fetches it for every group, concurrently
            if key not in self.seen:
                missing = [
                    g for g in dict.fromkeys([group_id, *self.group_ids]) if (g, version) not in self.seen
                ]

                def fetch(group: str) -> Obtained:
                    return obtain(self.api, group, version, status_rule=status_rule, may_pause=self.may_pause)

                for group, obtained in zip(missing, each(self.concurrency, fetch, missing), strict=True):
                    self.seen[(group, version)] = obtained
            found = self.seen[key]
        if found.exchange is None and found.not_exercised is None:
            # the status breaks whichever rule asks: VER-DEFAULT without a header, VER-SHAPE with one
            found = Obtained(
                found.group_id,
                found.version,
                route=found.route,
                violations=[
                    violation(status_rule, v.message) if v.rule in ("VER-SHAPE", "VER-DEFAULT") else v
                    for v in found.violations
                ],
            )
        return found

    def offer(self, obtained: Obtained) -> None:
        """A 200 the census already has: the first test to need it sends nothing."""
        with self.lock:
            self.seen.setdefault((obtained.group_id, obtained.version), obtained)


# -- before and after the run ---------------------------------------------------------------

PAUSED, ACTIVE, NOT_PAUSED = "paused", "active", "not paused"


@dataclass
class Before:
    group_id: str
    status: str | None  # paused, active, not paused (a 409), another status, or None: unknown
    how: str  # how the census read it
    first: Obtained | None = None  # the census's unpause (no header): VER-DEFAULT's specimen


def _server_now(exchange: Exchange) -> datetime:
    date = exchange.header("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            pass
    return datetime.now(UTC)


def census(api: ApiClient, group_ids: list[str], concurrency: int = 1) -> dict[str, Before]:
    """Each group's status before the run, from one unpause without a version header each.

    There is no read on this endpoint, so: a 409 means it was not paused (the conflict reading); a
    200 reporting 'active' whose updated_at is the answer's Date (within 10 s) means this unpause
    activated it, so it was paused; a 200 'active' with an older updated_at means it was active
    already; any other status is what it was (unpause does not change a rejected group)."""
    found = {}
    for group_id in group_ids:
        try:
            first = api.post(unpause_path(group_id), headers=api.auth)
        except TargetError as error:
            found[group_id] = Before(group_id, None, f"no usable answer: {error}")
            continue
        obtained = Obtained(group_id, None, exchange=first if first.status == 200 else None, route=[first])
        body = body_of(first) or {}
        if first.status == CONFLICT:
            found[group_id] = Before(group_id, NOT_PAUSED, "unpause answered 409", obtained)
        elif first.status != 200 or not isinstance(body.get("status"), str):
            found[group_id] = Before(group_id, None, f"unpause answered {first.status}", obtained)
        elif body["status"] == ACTIVE:
            updated = rules._instant(body.get("updated_at"))
            moved = updated is not None and abs(_server_now(first) - updated) <= TRANSITION_WINDOW
            found[group_id] = Before(
                group_id,
                PAUSED if moved else ACTIVE,
                "updated_at moved to the time of this unpause" if moved else "updated_at did not move",
                obtained,
            )
        else:
            found[group_id] = Before(
                group_id, body["status"], f"unpause reported {body['status']!r}", obtained
            )
    return found


@dataclass
class Restored:
    group_id: str
    wanted: str
    ok: bool
    detail: str

    def line(self) -> str:
        mark = "restored" if self.ok else "RESTORE FAILED"
        return f"{mark}: {self.group_id} -> {self.wanted} ({self.detail})"


def restore(api: ApiClient, before: dict[str, Before], concurrency: int = 1) -> list[Restored]:
    """Put every group back as the census found it: pause the ones that were paused, unpause the
    ones that were active (a test may have stopped between its pause and its unpause). A group
    whose status the suite cannot set (rejected) or did not learn is left alone, and said so."""

    def put_back(was: Before) -> Restored | None:
        group_id = was.group_id
        if was.status == PAUSED:
            action, path, accept = "pause", pause_path(group_id), PAUSED
        elif was.status in (ACTIVE, NOT_PAUSED):
            action, path, accept = "unpause", unpause_path(group_id), None
        elif was.status is None:
            return Restored(group_id, "unknown", False, f"status before the run unknown: {was.how}")
        else:
            return Restored(group_id, was.status, True, "no request: unpause and pause leave it as it is")
        try:
            exchange = api.post(path, headers=api.auth)
        except TargetError as error:
            return Restored(group_id, was.status, False, f"{action}: {error}")
        status = (body_of(exchange) or {}).get("status")
        if exchange.status == 200 and (accept is None or status == accept):
            return Restored(group_id, was.status, True, f"{action} answered 200, status {status!r}")
        if exchange.status == CONFLICT:
            # the conflict reading: unpause of a group that is not paused, pause of one that is not active
            return Restored(group_id, was.status, True, f"{action} answered 409: it already is")
        return Restored(
            group_id, was.status, False, f"{action} answered {exchange.status}, status {status!r}"
        )

    return each(concurrency, put_back, before.values())
