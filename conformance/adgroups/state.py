"""What the suite knows and changes about each configured ad group.

- ``obtain``: a 200 unpause body of a group in a version, by the cheapest honest route (unpause;
  where that is refused (409, 422), pause then unpause), or the reason it cannot be had (not exercised).
- ``Specimens``: those bodies, fetched once per (group, version) and judged by every body rule.

The docs say nothing of unpausing a group that is not paused, or one whose state allows no
change (rejected, say): 200 (idempotent, status unchanged) and a refusal with the error envelope
are both correct readings, and nothing here treats either as a failure. A refusal is 409 (the
SDKs' conflict, the newest SDK's one typed error for unpause) or 422 (unprocessable, which the
SDKs map too). 400 is not one: the pages give it to an unrecognized version, and reading it as a
state refusal would hide a server that rejects a version it documents.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from conformance.client.http import ApiClient, Exchange
from conformance.contract import rules
from conformance.contract.endpoints import VERSION_HEADER, pause_path, unpause_path, version_header
from conformance.judge.checks import body_of, error_violations, json_violations, violation
from conformance.runner import engines

# the statuses that refuse a state change the group's state does not allow (see the docstring)
REFUSALS = (409, 422)
PAUSED, ACTIVE = "paused", "active"


def refused(exchange: Exchange) -> bool:
    return exchange.status in REFUSALS


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
    """A refusal (409, 422) is a correct answer to a state conflict; its body must be the envelope."""
    return error_violations(exchange, "ERR-ENVELOPE", REFUSALS)


def obtain(
    api: ApiClient,
    group_id: str,
    version: str | None,
    *,
    status_rule: str,
    may_pause: bool,
    header_name: str = VERSION_HEADER,
) -> Obtained:
    """Unpause ``group_id`` asking for ``version``; where that is refused, pause and unpause again.

    Any answer but 200 or a refusal breaks ``status_rule``; a refusal without the envelope breaks
    ERR-ENVELOPE; a group whose pause is refused too cannot be exercised, and says why."""
    result = Obtained(group_id, version)
    headers = {**api.auth, **version_header(version, header_name)}
    first = api.post(unpause_path(group_id), headers=headers)
    result.route.append(first)
    if first.status == 200:
        result.exchange = first
        return result
    conflict = refused(first)
    if conflict:
        result.violations += conflict_violations(first)
    else:
        # a violation, reported; pausing first may still give the body rules a body to judge
        result.violations += json_violations(first)
        result.violations.append(
            violation(status_rule, f"unpause answered {first.status}, not 200, 409 or 422")
        )
    if not may_pause:
        if conflict:
            result.not_exercised = (
                f"unpause answered {first.status} (not paused) and --no-use-pause forbids pausing it first"
            )
        return result
    paused = api.post(pause_path(group_id), headers=api.auth)
    result.route.append(paused)
    if paused.status != 200:
        _pause_refused(result, first, paused, conflict)
        return result
    second = api.post(unpause_path(group_id), headers=headers)
    result.route.append(second)
    _unpaused_after_the_pause(result, paused, second, status_rule)
    return result


def _pause_refused(result: Obtained, first: Exchange, paused: Exchange, conflict: bool) -> None:
    """The pause meant to retry a refused unpause did not answer 200: what that breaks, and why
    the group cannot be exercised where the first unpause was a refusal."""
    result.violations += conflict_violations(paused) if refused(paused) else json_violations(paused)
    if conflict and refused(paused):
        result.not_exercised = (
            f"unpause and pause both refused ({first.status}, {paused.status}): neither paused "
            "nor active (rejected, say), so no 200 unpause can be had"
        )
    elif conflict:
        result.not_exercised = (
            f"unpause answered {first.status} and the pause to retry it answered {paused.status}"
        )


def _unpaused_after_the_pause(result: Obtained, paused: Exchange, second: Exchange, status_rule: str) -> None:
    """The unpause after a 200 pause: its body, or what its refusal breaks (a group the pause
    reported paused must be activated: BEH-ACTIVATES)."""
    if second.status == 200:
        result.exchange = second
    elif refused(second) and (body_of(paused) or {}).get("status") == "paused":
        result.violations += conflict_violations(second)
        result.violations.append(
            violation(
                "BEH-ACTIVATES",
                f"pause reported 'paused', then unpause answered {second.status} instead of activating",
            )
        )
    else:
        result.violations += json_violations(second)
        result.violations.append(
            violation(status_rule, f"unpause after a pause answered {second.status}, not 200")
        )


def pause_first(api: ApiClient, group_id: str, version: str | None = None) -> Obtained:
    """Set-up: bring a group to paused, known from a 200 pause reporting 'paused' (its body in
    ``version``; None: no header). Where pause is refused (the conflict reading: it is not active),
    unpause it and pause again. ``exchange`` is that 200 pause; ``not_exercised`` says why the group
    cannot be paused."""
    result = Obtained(group_id, None)
    for attempt in range(2):
        paused = api.post(pause_path(group_id), headers={**api.auth, **version_header(version)})
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
        if not refused(paused):
            result.violations += json_violations(paused)
            result.not_exercised = f"pause answered {paused.status}, so it cannot be set up as paused"
            return result
        result.violations += conflict_violations(paused)
        if attempt == 0:
            unpaused = api.post(unpause_path(group_id), headers=api.auth)
            result.route.append(unpaused)
            if unpaused.status != 200:
                result.violations += (
                    conflict_violations(unpaused) if refused(unpaused) else json_violations(unpaused)
                )
                result.not_exercised = (
                    f"pause refused ({paused.status}) and unpause {unpaused.status}: neither paused nor active "
                    "(rejected, say), so it cannot be set up as paused"
                )
                return result
    result.not_exercised = "pause refused twice, once after a 200 unpause"
    return result


def first_pausable(api: ApiClient, group_ids: list[str], version: str | None = None) -> Obtained:
    """Set-up of a test on one paused group: the first of ``group_ids`` that can be paused, or the
    last attempt (whose ``not_exercised`` says why none could)."""
    paused = None
    for group_id in group_ids:
        paused = pause_first(api, group_id, version)
        if paused.not_exercised is None:
            break
    return paused


def burst(
    api: ApiClient, group_id: str, headers: dict[str, str], calls: int
) -> tuple[list[Exchange], list[rules.Violation]]:
    """``calls`` unpauses of one group at once: each answers 200 or a refusal with the envelope, never
    anything else (BEH-CONCURRENT)."""

    def unpause(_) -> Exchange:
        with api.at_once():  # the burst is the test: not held to the run's slots
            return api.post(unpause_path(group_id), headers=headers)

    exchanges = engines.run_all(unpause, range(calls), calls)
    found = []
    for exchange in exchanges:
        if exchange.status != 200 and not refused(exchange):
            found.append(violation("BEH-CONCURRENT", f"a concurrent unpause answered {exchange.status}"))
        elif refused(exchange):
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

                for group, obtained in zip(
                    missing, engines.run_all(fetch, missing, self.concurrency), strict=True
                ):
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
