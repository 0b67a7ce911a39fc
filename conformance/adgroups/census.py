"""Each configured ad group's status before the run, read without guessing, and put back after.

How a status is read, in this order:

1. Declared by the user (``--ad-group-status ID=STATUS``): no request.
2. ``GET /ad_groups/{id}`` (the API's read, known from its SDKs; the pages document unpause
   alone): a 200 whose body names the group and a status. It changes nothing, and after the
   restore the same read verifies that every group is as it was.
3. Without a read, one unpause without a version header per group, read as: refused (409, 422)
   means not paused, and the refusal changed nothing; 404 means no such group (nothing to restore);
   a 200 with a status other than active is that status (unpause leaves such a group as it is).
   A 200 'active' means paused before (this unpause activated it) or active already. The groups are
   sent their unpause one at a time until the first such answer, and what tells the two apart is
   checked on that group before any other is sent anything:
   - a second unpause of it (now active) refused (409, 422): the target answers 200 only to an
     unpause that activates, so every 200 'active' means paused before;
   - else two facts about updated_at: a second unpause (a no-op) leaves it as it is, and an
     activation (pause, then unpause) moves it to the time of the call. Then an updated_at at the
     answer's Date (within WINDOW, at the offset the check measured) means this unpause activated
     it; an older one means it was active.
   If neither holds, or the check's pause is refused or forbidden (--no-use-pause), that group's
   status is unknown, and every group not yet sent its unpause is left untouched (the run leaves
   it out, and fails asking for --ad-group-status).

A group whose status is unknown is said so before the first test, is never paused or unpaused at
the end on a guess, and fails the run (with a restore that failed or could not be verified).
Bodies are parsed leniently here (a byte order mark, NaN): the verdicts on them stay strict.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from conformance.adgroups.state import ACTIVE, PAUSED, Obtained, refused
from conformance.client.http import ApiClient, Exchange, SuiteTransportError, TargetError
from conformance.contract import invariants
from conformance.contract.endpoints import pause_path, read_path, unpause_path
from conformance.judge.checks import body_of
from conformance.runner import engines

NOT_PAUSED, ABSENT = "not paused", "absent"
# what the census can say of a group that an unpause or a pause may change (None: unknown)
MOVABLE = (PAUSED, ACTIVE, NOT_PAUSED, ABSENT, None)


def unmovable(statuses: dict[str, str | None]) -> set[str]:
    """The groups known before the run to be neither paused nor active (rejected, say): no correct
    unpause or pause changes them, so both sides of a split run may send to them."""
    return {group_id for group_id, status in statuses.items() if status not in MOVABLE}


# how far from the calibrated offset an unpause's updated_at may be and still be "this unpause":
# Date has whole seconds, and so may updated_at
WINDOW = timedelta(seconds=3)
# between two calls whose updated_at are compared: a target stamping whole seconds shows a move
SECOND = 1.1


@dataclass
class Before:
    group_id: str
    status: str | None  # paused, active, not paused (refused), absent, another status; None: unknown
    how: str  # how the census read it
    first: Obtained | None = None  # the census's unpause (no header): VER-DEFAULT's specimen
    read: bool = False  # read with GET: the restore is verified with GET too
    ambiguous: bool = False  # an unpause answered 200 'active': only the calibration can tell
    # unknown and never sent a request that changes state: the census learned on another group that
    # it cannot know, so the run leaves this one out (plugin.groups) and it stays as found
    untouched: bool = False
    campaign: str | None = None  # its ad_campaign's id, as read (where INT-OTHER-GROUPS watches)


def lenient_body(exchange: Exchange) -> dict | None:
    """The body as an object, strictly parsed where it can be, else leniently (a byte order mark,
    NaN, a duplicated member): only to learn a status, never for a verdict."""
    body = body_of(exchange)
    if body is not None:
        return body
    try:
        value = json.loads(exchange.response_body.decode("utf-8-sig", "replace"))
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _updated(exchange: Exchange) -> datetime | None:
    return invariants.instant((lenient_body(exchange) or {}).get("updated_at"))


def reported_status(exchange: Exchange) -> str | None:
    status = (lenient_body(exchange) or {}).get("status")
    return status if isinstance(status, str) else None


def server_now(exchange: Exchange) -> datetime:
    date = exchange.header("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            pass
    return datetime.now(UTC)


class LastSeen:
    """The last status each group's 200 answers reported (any request of the run), for the banner
    of a group not left as found: what it is now, as far as the run knows."""

    def __init__(self):
        self.status: dict[str, str] = {}
        self.lock = threading.Lock()

    def observe(self, exchange: Exchange) -> None:
        if exchange.status != 200:
            return
        body = lenient_body(exchange) or {}
        if isinstance(body.get("id"), str) and isinstance(body.get("status"), str):
            with self.lock:
                self.status[body["id"]] = body["status"]


def read(api: ApiClient, group_id: str) -> tuple[str | None, str]:
    """The group's status from GET /ad_groups/{id}, or None and what the read answered."""
    status, how, _ = _read_body(api, group_id)
    return status, how


def _read_body(api: ApiClient, group_id: str) -> tuple[str | None, str, dict]:
    try:
        exchange = api.request("GET", read_path(group_id), headers=api.auth)
    except (TargetError, SuiteTransportError) as error:
        return None, f"GET: {error}", {}
    body = lenient_body(exchange) if exchange.status == 200 else None
    if body is not None and body.get("id") == group_id and isinstance(body.get("status"), str):
        return body["status"], f"GET answered 200, status {body['status']!r}", body
    answered = f"GET answered {exchange.status}" + ("" if exchange.status != 200 else " without its status")
    return None, answered, {}


def _campaign_of(body: dict) -> str | None:
    campaign = body.get("ad_campaign")
    return campaign.get("id") if isinstance(campaign, dict) and isinstance(campaign.get("id"), str) else None


# how long a read may take to show a write before the run stops waiting for it (a replica's lag)
READ_BOUND = 10.0


def read_fresh(
    api: ApiClient,
    group_id: str,
    written: Exchange | None,
    wanted: str | None = None,
    bound: float = READ_BOUND,
) -> tuple[str | None, str, float | None]:
    """The group's status from a read that shows ``written`` (a 200 pause or unpause of it): read
    again, backing off, while the read is older than that write (its updated_at before the write's)
    or, where ``wanted`` is given, says otherwise, for at most ``bound`` seconds. Also how long the
    read took to show it (None: it never did). A target whose reads come from a replica shows a
    write late; a read older than the run's own write is no observation of what happened since."""
    started, delay = time.monotonic(), 0.05
    written_at = _updated(written) if written is not None else None
    while True:
        status, how, body = _read_body(api, group_id)
        if status is None:
            return None, how, None
        read_at = invariants.instant(body.get("updated_at"))
        stale = written_at is not None and read_at is not None and read_at < written_at
        took = time.monotonic() - started
        if not stale and (wanted is None or status == wanted):
            return status, how if took < delay else f"{how}, after {took:.1f} s", took
        if took + delay > bound:
            why = "older than the run's write" if stale else f"status {status!r}"
            return status, f"{how}: still {why} after {took:.1f} s of reads", None
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _first_unpause(api: ApiClient, group_id: str, no_read: str) -> Before:
    """Step 3's unpause; ``ambiguous`` when only the calibration can tell what it means."""
    try:
        first = api.post(unpause_path(group_id), headers=api.auth)
    except (TargetError, SuiteTransportError) as error:
        return Before(group_id, None, f"{no_read}; unpause: {error}")
    obtained = Obtained(group_id, None, exchange=first if first.status == 200 else None, route=[first])
    status = reported_status(first)
    if refused(first):
        return Before(group_id, NOT_PAUSED, f"{no_read}; unpause refused ({first.status})", obtained)
    if first.status == 404:
        return Before(group_id, ABSENT, f"{no_read}; unpause answered 404: no such ad group", obtained)
    if first.status != 200 or status is None:
        return Before(
            group_id, None, f"{no_read}; unpause answered {first.status} without a status", obtained
        )
    if status != ACTIVE:
        return Before(group_id, status, f"{no_read}; unpause reported {status!r}", obtained)
    return Before(group_id, None, f"{no_read}; unpause answered 200 'active'", obtained, ambiguous=True)


@dataclass
class Calibration:
    trusted: bool
    how: str
    offset: float = 0.0  # the answer's Date minus updated_at at an activation, in seconds
    # the target refuses (409, 422) an unpause of an active group: its 200 to an unpause means that
    # unpause activated the group, whatever updated_at says (the strongest reading there is)
    refuses_noop: bool = False


def calibrate(api: ApiClient, first: Exchange, group_id: str, may_pause: bool) -> Calibration:
    """Whether an unpause's updated_at tells if it activated the group, checked on ``group_id``,
    active since ``first``: a no-op unpause, then a pause and an unpause (ends active, as found
    after ``first``)."""
    stamped = _updated(first)
    try:
        time.sleep(SECOND)
        again = api.post(unpause_path(group_id), headers=api.auth)
        if refused(again):
            return Calibration(
                True,
                f"checked on {group_id}: a second unpause of it, active, was refused ({again.status}), so "
                "the target answers an unpause with 200 only when it activates the group",
                refuses_noop=True,
            )
        if stamped is None:
            return Calibration(False, "the unpause's body has no readable updated_at")
        if again.status != 200 or reported_status(again) != ACTIVE:
            return Calibration(
                False, f"a second unpause answered {again.status}, status {reported_status(again)!r}"
            )
        if _updated(again) != stamped:
            return Calibration(
                False,
                f"a second unpause of {group_id} moved updated_at ({stamped.isoformat()} -> "
                f"{_updated(again)}): the target stamps every call, so an unpause's updated_at "
                "cannot tell whether it activated a group",
            )
        if not may_pause:
            return Calibration(
                False, "checking that an activation moves updated_at takes a pause: --no-use-pause forbids it"
            )
        paused = api.post(pause_path(group_id), headers=api.auth)
        if paused.status != 200 or reported_status(paused) != PAUSED:
            return Calibration(
                False, f"the pause to check it answered {paused.status}, status {reported_status(paused)!r}"
            )
        time.sleep(SECOND)
        activated = api.post(unpause_path(group_id), headers=api.auth)
    except (TargetError, SuiteTransportError) as error:
        return Calibration(False, f"checking updated_at on {group_id}: {error}")
    moved = _updated(activated)
    before = max(filter(None, [stamped, _updated(paused)]))
    if activated.status != 200 or reported_status(activated) != ACTIVE or moved is None or moved <= before:
        return Calibration(
            False,
            f"pause then unpause of {group_id} answered {activated.status}, status {reported_status(activated)!r}, "
            f"updated_at {moved.isoformat() if moved else None} (before: {before.isoformat()}): an activation "
            "does not move updated_at, so an unpause's updated_at cannot tell whether it activated a group",
        )
    offset = (server_now(activated) - moved).total_seconds()
    return Calibration(
        True,
        f"checked on {group_id}: a second unpause left updated_at as it was, pause then unpause moved it",
        offset,
    )


def _decide(was: Before, calibration: Calibration) -> Before:
    """An unpause answered 200 'active': paused or active before, as the calibration lets tell."""
    if not calibration.trusted:
        return Before(
            was.group_id,
            None,
            "unpause answered 200 'active', and updated_at cannot tell from what",
            was.first,
        )
    if calibration.refuses_noop:
        return Before(was.group_id, PAUSED, "no read; paused: the census's unpause answered 200", was.first)
    exchange = was.first.exchange
    stamped = _updated(exchange)
    lag = (server_now(exchange) - stamped).total_seconds() - calibration.offset if stamped else None
    if lag is not None and abs(lag) <= WINDOW.total_seconds():
        status, how = PAUSED, "paused: the census's unpause moved updated_at to its own time"
    elif lag is not None and lag > WINDOW.total_seconds():
        status, how = ACTIVE, "active: the census's unpause left an older updated_at"
    else:
        return Before(
            was.group_id, None, f"unpause answered 200 'active' with updated_at {stamped}", was.first
        )
    return Before(was.group_id, status, f"no read; {how}", was.first)


def census(
    api: ApiClient,
    group_ids: list[str],
    concurrency: int = 1,
    declared: dict[str, str] | None = None,
    may_pause: bool = True,
) -> tuple[dict[str, Before], Calibration | None]:
    """Each group's status before the run (see the module's docstring), in ``group_ids``' order,
    and the check of updated_at where an unpause's answer had to be read."""
    declared = declared or {}
    found = {g: Before(g, declared[g], "declared with --ad-group-status") for g in group_ids if g in declared}
    rest = [g for g in group_ids if g not in found]
    unread = []
    for group_id, (status, how, body) in zip(
        rest, engines.run_all(lambda g: _read_body(api, g), rest, concurrency), strict=True
    ):
        if status is not None:
            found[group_id] = Before(group_id, status, how, read=True, campaign=_campaign_of(body))
        else:
            unread.append((group_id, f"no read ({how})"))
    # one at a time until the first unpause only the calibration can read, which is checked on that
    # group: where it cannot be trusted, no other group is sent anything that changes state
    firsts, calibration = [], None
    while unread and calibration is None:
        was = _first_unpause(api, *unread.pop(0))
        firsts.append(was)
        if was.ambiguous:
            calibration = calibrate(api, was.first.exchange, was.group_id, may_pause)
    if calibration is None or calibration.trusted:
        firsts += engines.run_all(lambda pair: _first_unpause(api, *pair), unread, concurrency)
    else:
        firsts += [
            Before(g, None, f"{no_read}; not touched: {calibration.how}", untouched=True)
            for g, no_read in unread
        ]
    for was in firsts:
        found[was.group_id] = _decide(was, calibration) if was.ambiguous else was
    return {group_id: found[group_id] for group_id in group_ids}, calibration


@dataclass
class Observation:
    paused: bool | None  # None: the observation cannot tell
    how: str
    sent: list[Exchange]


class Observer:
    """Whether an ad group the run paused is still paused, by the cheapest honest observation:
    GET /ad_groups/{id} where the target has it (changes nothing); else the next unpause's answer,
    whose meaning the census checked: a refusal (409, 422) says not paused; a 200 'active' says
    paused only through updated_at, and only where the census's check trusted what it tells."""

    # after the last request observed, before the unpause that observes: whole-second stamps
    # one second apart on both sides still tell "this unpause" from "an earlier request"
    SETTLE = 2.2

    def __init__(self, api: ApiClient, reads: bool | None, calibration: Calibration | None):
        self.api = api
        self.reads = reads  # None: not known yet (asked once, on first use)
        self.calibration = calibration
        self.lag: float | None = None  # seconds the read took to show the run's first write

    def measure_lag(self, group_id: str, written: Exchange) -> str | None:
        """Once, on the run's first write it observes (``written``): read until the read shows it.
        What was measured, to say in the run's notes, or None (no read, or measured before)."""
        if self.reads is False or self.lag is not None:
            return None
        status, how, took = read_fresh(self.api, group_id, written, reported_status(written))
        if self.reads is None:
            self.reads = status is not None
        if status is None:
            return None
        if took is None:
            self.lag = READ_BOUND
            return f"GET /ad_groups/{{id}} did not show a write within {READ_BOUND:g} s ({how})"
        self.lag = took
        return f"GET /ad_groups/{{id}} showed a write after {took:.2f} s (measured on {group_id}): each observation by a read waits that long, twice over"

    def read_status(self, group_id: str, written: Exchange | None = None) -> tuple[str | None, str]:
        """The status from a read that is not older than ``written``, the run's last known write to
        the group, after waiting out the lag measured (a replica shows the writes since it late)."""
        if self.reads is False:
            return None, "the target has no GET /ad_groups/{id}"
        if self.lag:
            time.sleep(2 * self.lag)
        status, how, took = read_fresh(self.api, group_id, written)
        if self.reads is None:
            self.reads = status is not None
        if status is not None and took is None:
            return None, f"not exercised: the read never caught up with the run's write ({how})"
        return status, how

    def still_paused(self, group_id: str, pause: Exchange, started: float) -> Observation:
        """``pause`` (a 200 'paused') was answered at monotonic ``started``; every request since
        has been answered."""
        if self.reads is not False:
            status, how = self.read_status(group_id, pause)
            if status is not None:
                return Observation(status == PAUSED if status in (PAUSED, ACTIVE) else None, how, [])
            if self.reads:  # the target reads, but this read could not tell
                return Observation(None, how, [])
        trusted = self.calibration is not None and self.calibration.trusted
        refuses_noop = trusted and self.calibration.refuses_noop
        done = time.monotonic()  # the requests observed have all been answered by now
        if trusted and not refuses_noop:
            time.sleep(pause.elapsed + self.SETTLE)
        exchange = self.api.post(unpause_path(group_id), headers=self.api.auth)
        status = reported_status(exchange)
        if refused(exchange):
            return Observation(
                False, f"the unpause observing it was refused ({exchange.status}): not paused", [exchange]
            )
        if exchange.status != 200 or status != ACTIVE:
            return Observation(
                None, f"the unpause observing it answered {exchange.status}, status {status!r}", [exchange]
            )
        if not trusted:
            why = self.calibration.how if self.calibration is not None else "the census did not check it"
            return Observation(
                None,
                f"no read, and an unpause's 200 cannot tell whether it activated the group ({why})",
                [exchange],
            )
        if refuses_noop:
            return Observation(
                True,
                "the unpause observing it answered 200: on this target, only an activation does",
                [exchange],
            )
        paused_at, activated_at = _updated(pause), _updated(exchange)
        if paused_at is None or activated_at is None:
            return Observation(
                None, "the pause or the unpause observing it has no readable updated_at", [exchange]
            )
        # a request in the batch stamps within (batch end - pause sent) + 1 s of the pause's stamp;
        # the observing unpause, sent SETTLE s after the batch, stamps later than that
        threshold = (done - started) + pause.elapsed + 1.0
        moved = (activated_at - paused_at).total_seconds()
        if moved >= threshold:
            return Observation(
                True,
                f"the unpause observing it activated it (updated_at {moved:.1f} s after the pause's)",
                [exchange],
            )
        return Observation(
            False,
            f"the unpause observing it found it active already (updated_at {moved:.1f} s after the pause's, "
            f"within the {threshold:.1f} s of the requests before it)",
            [exchange],
        )
