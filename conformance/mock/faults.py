"""The fault catalogue: named, documented contract violations a real server could commit.

Each fault switches on one deviation through hooks that the app consults at fixed points
(auth, version negotiation, state transition, body, errors). ``rules`` lists the catalogue
rules the fault breaks: a suite run against the fault must report every one of them.
Select one with the URL prefix ``/__faults/<name>``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from conformance.contract import schemas
from conformance.mock.dataset import ratio, timestamp
from conformance.mock.replies import Reply

LATEST = schemas.latest_version().name
ORIGINAL = schemas.default_version().name  # the original shape, served without the header

LATE_CHECKS = frozenset({"auth", "version", "body"})


@dataclass(frozen=True, kw_only=True)
class Hooks:
    """Where a fault departs from the correct behaviour; each default is the correct behaviour.
    A typed, frozen value: a misspelt hook is a TypeError when the catalogue is built (at import),
    never a fault that silently behaves correctly."""

    authorized: Callable[[str | None, bool, str], bool] | None = None  # (header, valid, token)
    auth_status: int = 401
    version: Callable[[str | None, str | None], str | None] | None = None  # (header, correct)
    unknown_version_status: int = 400
    method: Callable[[str], None] | None = None  # may raise a Reply
    request_body: Callable[[str], None] | None = None  # (content-length); may raise a Reply
    group_id: Callable[[str], None] | None = None  # may raise a Reply
    query: Callable[[str], None] | None = None  # may raise a Reply
    concurrent: Callable[[], None] | None = None  # a second transition of a group in flight
    transition_delay: float = 0.0  # seconds a transition takes (widens a race window)
    already_active: Callable[[], None] | None = None  # unpause of an active group
    paused: Callable[[Any], None] | None = None  # every pause, before the transition
    activates: bool = True  # unpause of a paused group makes it active
    activates_unmovable: bool = False  # unpause of a group neither paused nor active activates it
    stamps_activation: bool = True  # an activation moves updated_at
    forgets_after_two_pauses: bool = False  # an unpause after two pauses in a row leaves it paused
    toggles: bool = False  # unpausing an active group pauses it
    # the checks ("auth", "version", "body") made only after the transition
    acts_before: tuple[str, ...] = ()
    body: Callable[[dict, str, Any], dict] | None = None  # (body, version, group)
    success: Callable[[int, Any, dict], tuple] | None = None  # (status, body, headers)
    error: Callable[[int, dict, dict], tuple] | None = None  # (status, body, headers)
    activated: Callable[[Any], None] | None = None  # (group) after an unpause activated it
    # an activation also activates another paused group: "last", the account's last one; "campaign",
    # every one in its campaign
    activates_another: str | None = None
    owner_blind: bool = False  # any valid token reaches any account's ad groups (BOLA)
    # when a token without ad_campaign:update is refused a pause or an unpause: "before" the
    # transition (correct), "after" it (refused, but applied), or "never" (allowed)
    scope_check: str = "before"
    foreign_status: int | None = None  # another account's ad group answered so (None: the profile's)
    # Idempotency-Key "ignored" whatever the profile, or honoured and broken one way:
    # "replay-executes", "mismatch-replays", "shared-across-callers", "stores-unauthenticated"
    idempotency: str | None = None
    applies_body: bool = False  # a JSON object in the request body is written onto the group
    lookup: Callable[[str, dict], Any] | None = None  # (id, groups by id) -> the group it names

    def __post_init__(self) -> None:
        if unknown := set(self.acts_before) - LATE_CHECKS:
            raise ValueError(f"acts_before names no check: {sorted(unknown)}")


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    rules: tuple[str, ...]
    hooks: Hooks = field(default_factory=Hooks, repr=False)

    NONE: ClassVar[Fault]

    # -- hook points, as the app consults them ------------------------------------------------
    def authorized(self, header: str | None, valid: bool, token: str) -> bool:
        hook = self.hooks.authorized
        return hook(header, valid, token) if hook else valid

    def auth_status(self) -> int:
        return self.hooks.auth_status

    def version(self, header: str | None, correct: str | None) -> str | None:
        hook = self.hooks.version
        return hook(header, correct) if hook else correct

    def unknown_version_status(self) -> int:
        return self.hooks.unknown_version_status

    def method(self, method: str) -> None:
        if hook := self.hooks.method:
            hook(method)

    def request_body(self, content_length: str) -> None:
        if hook := self.hooks.request_body:
            hook(content_length)

    def group_id(self, group_id: str) -> None:
        if hook := self.hooks.group_id:
            hook(group_id)

    def concurrent(self) -> None:
        if hook := self.hooks.concurrent:
            hook()

    async def slow_transition(self) -> None:
        if delay := self.hooks.transition_delay:
            await asyncio.sleep(delay)

    def already_active(self) -> None:
        if hook := self.hooks.already_active:
            hook()

    def activates(self) -> bool:
        return self.hooks.activates

    def acts_before(self) -> tuple[str, ...]:
        """The request checks ("auth", "version", "body") this fault performs only after the
        transition (the body is always checked after auth and version; so is the query)."""
        return self.hooks.acts_before

    def query(self, query: str) -> None:
        if hook := self.hooks.query:
            hook(query)

    def activates_unmovable(self) -> bool:
        """Unpause makes a group that is neither paused nor active (rejected, say) active."""
        return self.hooks.activates_unmovable

    def stamps_activation(self) -> bool:
        return self.hooks.stamps_activation

    def paused(self, group) -> None:
        """Told of every pause request (before the transition), with the pauses in a row so far."""
        if hook := self.hooks.paused:
            hook(group)

    def forgets(self) -> bool:
        """An unpause right after two pauses in a row leaves the group paused."""
        return self.hooks.forgets_after_two_pauses

    def toggles(self) -> bool:
        """Unpausing an active group pauses it (a state machine gone wrong)."""
        return self.hooks.toggles

    def body(self, body: dict, version: str, group) -> dict:
        hook = self.hooks.body
        return hook(body, version, group) if hook else body

    def success(self, status: int, body, headers: dict):
        hook = self.hooks.success
        return hook(status, body, headers) if hook else (status, body, headers)

    def error(self, status: int, body: dict, headers: dict):
        hook = self.hooks.error
        return hook(status, body, headers) if hook else (status, body, headers)

    def activated(self, group) -> None:
        """Told of every activation, after it: a fault may change more of the group."""
        if hook := self.hooks.activated:
            hook(group)

    def activates_another(self) -> str | None:
        return self.hooks.activates_another

    def owner_blind(self) -> bool:
        return self.hooks.owner_blind

    def scope_check(self) -> str:
        return self.hooks.scope_check

    def idempotency(self) -> str | None:
        return self.hooks.idempotency

    def foreign_status(self, correct: int) -> int:
        return self.hooks.foreign_status or correct

    def applies_body(self) -> bool:
        return self.hooks.applies_body

    def lookup(self, group_id: str, groups: dict):
        hook = self.hooks.lookup
        return hook(group_id, groups) if hook else groups.get(group_id)


Fault.NONE = Fault("correct", "No fault: the API as documented.", ())


def changed(version: str | None = None, **updates: Callable[[dict, Any], Any]):
    """A body hook setting fields to computed values, in one version (or every version)."""

    def hook(body: dict, body_version: str, group) -> dict:
        if version not in (None, body_version):
            return body
        # every value is computed from the body as rendered, so swaps work
        return {**body, **{name: compute(body, group) for name, compute in updates.items()}}

    return hook


def dropped(name: str, version: str | None = None):
    def hook(body: dict, body_version: str, group) -> dict:
        if version not in (None, body_version):
            return body
        return {k: v for k, v in body.items() if k != name}

    return hook


def raising(status: int, kind: str = "server_error", when: Callable[..., bool] = lambda *_args: True):
    """A hook that answers ``status`` at once (when ``when`` holds for the hook's arguments)."""

    def hook(*args) -> None:
        if when(*args):
            raise Reply(status, kind, "fault")

    return hook


def _recreate(group) -> None:
    group.created_at = group.updated_at = datetime.now(UTC)


def shifted(value: str, delta: timedelta) -> str:
    return timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")) + delta)


def _duplicated_status(status, body, headers):
    """The body with a first ``status`` member 'paused' before the real one (parsers disagree on
    which of two members with one name wins: most keep the last)."""
    if not isinstance(body, dict):
        return status, body, headers
    return status, b'{"status":"paused",' + json.dumps(body).encode()[1:], headers


def _case_insensitive_token(header, valid, token) -> bool:
    scheme, _, credentials = (header or "").partition(" ")
    return valid or (scheme.lower() == "bearer" and credentials.strip().lower() == token.lower())


def _echo_credentials(header, valid, token) -> bool:
    if not valid:
        raise Reply(401, "unauthorized", f"Invalid credentials: {header!r}", {"WWW-Authenticate": "Bearer"})
    return True


def _stack_trace(status, body, headers):
    if status != 404:
        return status, body, headers
    trace = (
        'Traceback (most recent call last):\n  File "/srv/api/handlers/ad_groups.py", line 88, in unpause\n'
        "    group = store.get(group_id)\nKeyError: 'ad group'"
    )
    return status, {"error": {**body["error"], "message": trace}}, headers


def _rewrite_settings(group) -> None:
    """An activation that also renames the group and resets its bid strategy, persisted and
    consistent (a minimum-cost bid has no target cost)."""
    group.title = f"{group.title or 'Ad group'} (resumed)"
    group.bid_type, group.desired_cost_per_result = "minimum_cost", None


def _case_insensitive_id(group_id: str, groups: dict):
    return groups.get(group_id) or next((g for i, g in groups.items() if i.lower() == group_id.lower()), None)


def _desired_cost_for_any_bid(body, group):
    if body["bid_type"] == "minimum_cost" and body["desired_cost_per_result"] is None:
        return 9.5
    return body["desired_cost_per_result"]


def _flat_error(status, body, headers):
    return status, {"message": body["error"]["message"]}, headers


def _plain_error(status, body, headers):
    return status, body["error"]["message"], headers


FAULTS = [
    # -- schema ------------------------------------------------------------------------------
    Fault(
        "missing-platform",
        "2025-01-01 bodies omit the required platform.",
        ("SCHEMA-REQUIRED",),
        Hooks(body=dropped("platform", ORIGINAL)),
    ),
    Fault(
        "missing-conversion-event",
        "2026-06-20 bodies omit conversion_event (as the page's example does).",
        ("SCHEMA-REQUIRED",),
        Hooks(body=dropped("conversion_event", LATEST)),
    ),
    Fault(
        "missing-campaign-id",
        "ad_campaign is an empty object in every version.",
        ("SCHEMA-REQUIRED",),
        Hooks(body=changed(ad_campaign=lambda b, g: {})),
    ),
    Fault(
        "clicks-as-string",
        "clicks is sent as a JSON string.",
        ("SCHEMA-TYPE",),
        Hooks(body=changed(LATEST, clicks=lambda b, g: str(b["clicks"]))),
    ),
    Fault(
        "null-spend",
        "spend, not nullable, is null.",
        ("SCHEMA-TYPE",),
        Hooks(body=changed(LATEST, spend=lambda b, g: None)),
    ),
    Fault(
        "issues-null",
        "issues, a required array, is null.",
        ("SCHEMA-TYPE",),
        Hooks(body=changed(LATEST, issues=lambda b, g: None)),
    ),
    Fault(
        "title-as-number",
        "title is a number in 2025-01-01.",
        ("SCHEMA-TYPE",),
        Hooks(body=changed(ORIGINAL, title=lambda b, g: 42)),
    ),
    Fault(
        "status-from-other-version",
        "2026-06-20 reports an active ad group as 'in_review', a 2025-01-01 value.",
        ("SCHEMA-ENUM", "BEH-ACTIVATES"),
        Hooks(
            body=changed(LATEST, status=lambda b, g: "in_review" if b["status"] == "active" else b["status"])
        ),
    ),
    Fault(
        "platform-unknown",
        "platform is 'google', not in the enum.",
        ("SCHEMA-ENUM",),
        Hooks(body=changed(ORIGINAL, platform=lambda b, g: "google")),
    ),
    Fault(
        "bid-type-unknown",
        "bid_type is 'lowest_cost', not in the enum.",
        ("SCHEMA-ENUM",),
        Hooks(body=changed(LATEST, bid_type=lambda b, g: "lowest_cost" if b["bid_type"] else None)),
    ),
    Fault(
        "created-at-us-format",
        "2025-01-01 created_at is '12/01/2023 05:00', not date-time.",
        ("SCHEMA-TIMESTAMP",),
        Hooks(body=changed(ORIGINAL, created_at=lambda b, g: "12/01/2023 05:00")),
    ),
    Fault(
        "updated-at-http-date",
        "2026-06-20 updated_at is an HTTP date, not ISO 8601.",
        ("SCHEMA-TIMESTAMP",),
        Hooks(body=changed(LATEST, updated_at=lambda b, g: "Fri, 01 Dec 2023 05:00:00 GMT")),
    ),
    # -- invariants --------------------------------------------------------------------------
    Fault(
        "ctr-as-percent",
        "click_through_rate is a percentage (×100).",
        ("INV-CTR",),
        Hooks(body=changed(LATEST, click_through_rate=lambda b, g: round(b["click_through_rate"] * 100, 4))),
    ),
    Fault(
        "ctr-over-reach",
        "click_through_rate divides clicks by reach, not impressions.",
        ("INV-CTR",),
        Hooks(body=changed(LATEST, click_through_rate=lambda b, g: ratio(b["clicks"], b["reach"]))),
    ),
    Fault(
        "unique-ctr-uses-clicks",
        "unique_click_through_rate divides clicks, not unique clicks.",
        ("INV-UNIQUE-CTR",),
        Hooks(
            body=changed(
                LATEST,
                unique_click_through_rate=lambda b, g: (
                    ratio(b["clicks"], b["impressions"]) if b["impressions"] else None
                ),
            )
        ),
    ),
    Fault(
        "cpc-without-clicks",
        "cost_per_click is the whole spend when there are no clicks.",
        ("INV-CPC",),
        Hooks(body=changed(LATEST, cost_per_click=lambda b, g: b["cost_per_click"] or b["spend"])),
    ),
    Fault(
        "cpc-inverted",
        "cost_per_click is clicks / spend.",
        ("INV-CPC",),
        Hooks(
            body=changed(
                LATEST, cost_per_click=lambda b, g: round(b["clicks"] / b["spend"], 2) if b["spend"] else 0.0
            )
        ),
    ),
    Fault(
        "cpm-per-impression",
        "cost_per_mille forgets the ×1000.",
        ("INV-CPM",),
        Hooks(body=changed(LATEST, cost_per_mille=lambda b, g: round(b["cost_per_mille"] / 1000, 6))),
    ),
    Fault(
        "cpl-zero-when-not-goal",
        "cost_per_lead is 0 instead of null with no leads and no lead goal.",
        ("INV-CPL",),
        Hooks(
            body=changed(
                LATEST, cost_per_lead=lambda b, g: 0.0 if b["cost_per_lead"] is None else b["cost_per_lead"]
            )
        ),
    ),
    Fault(
        "cpp-off-by-one",
        "cost_per_purchase divides by purchases + 1.",
        ("INV-CPP",),
        Hooks(
            body=changed(
                LATEST,
                cost_per_purchase=lambda b, g: (
                    round(b["spend"] / (b["purchases"] + 1), 2) if b["purchases"] else b["cost_per_purchase"]
                ),
            )
        ),
    ),
    Fault(
        "roas-inverted",
        "return_on_ad_spend is spend / purchase_value.",
        ("INV-ROAS",),
        Hooks(body=changed(LATEST, return_on_ad_spend=lambda b, g: ratio(b["spend"], b["purchase_value"]))),
    ),
    Fault(
        "fractional-reach",
        "reach carries a modelled fraction (x.5).",
        ("INV-COUNTS",),
        Hooks(body=changed(LATEST, reach=lambda b, g: b["reach"] + 0.5 if b["reach"] else b["reach"])),
    ),
    Fault(
        "unique-clicks-exceed-clicks",
        "unique_clicks is clicks + 1.",
        ("INV-COUNT-ORDER",),
        Hooks(body=changed(LATEST, unique_clicks=lambda b, g: b["clicks"] + 1)),
    ),
    Fault(
        "negative-purchase-value",
        "purchase_value goes negative after refunds.",
        ("INV-MONEY",),
        Hooks(body=changed(LATEST, purchase_value=lambda b, g: -abs(b["purchase_value"]) - 1.0)),
    ),
    Fault(
        "currency-lowercase",
        "spend_currency is lower-case ('usd').",
        ("INV-CURRENCY",),
        Hooks(
            body=changed(
                LATEST, spend_currency=lambda b, g: b["spend_currency"] and b["spend_currency"].lower()
            )
        ),
    ),
    Fault(
        "currency-unknown",
        "spend_currency is 'XYZ', not an ISO 4217 code.",
        ("INV-CURRENCY",),
        Hooks(body=changed(LATEST, spend_currency=lambda b, g: "XYZ")),
    ),
    Fault(
        "frequency-inverted",
        "frequency is reach / impressions, below 1.",
        ("INV-FREQUENCY",),
        Hooks(
            body=changed(
                LATEST, frequency=lambda b, g: ratio(b["reach"], b["impressions"]) if b["reach"] else None
            )
        ),
    ),
    Fault(
        "frequency-drift",
        "frequency is 1.5× impressions / reach (an advisory finding).",
        ("INV-FREQUENCY-RATIO",),
        Hooks(
            body=changed(
                LATEST, frequency=lambda b, g: round(b["frequency"] * 1.5, 4) if b["frequency"] else None
            )
        ),
    ),
    Fault(
        "cbo-half-null",
        "budget_type stays 'daily' when budget_amount is null (CBO).",
        ("INV-CBO",),
        Hooks(body=changed(LATEST, budget_type=lambda b, g: b["budget_type"] or "daily")),
    ),
    Fault(
        "budget-half-null",
        "2025-01-01 budget_type stays 'daily' when budget is null.",
        ("INV-BUDGET-PAIR",),
        Hooks(body=changed(ORIGINAL, budget_type=lambda b, g: b["budget_type"] or "daily")),
    ),
    Fault(
        "bid-target-without-cost",
        "desired_cost_per_result is null for target bids.",
        ("INV-BID-TARGET",),
        Hooks(body=changed(LATEST, desired_cost_per_result=lambda b, g: None)),
    ),
    Fault(
        "desired-cost-on-minimum-cost",
        "minimum_cost groups carry a desired_cost_per_result (a target their bid strategy has not).",
        ("INV-BID-TARGET-ONLY",),
        Hooks(body=changed(LATEST, desired_cost_per_result=_desired_cost_for_any_bid)),
    ),
    Fault(
        "frequency-cap-everywhere",
        "frequency_cap is set on every ad group (an advisory finding).",
        ("INV-FREQUENCY-CAP",),
        Hooks(body=changed(LATEST, frequency_cap=lambda b, g: b["frequency_cap"] or {"impressions": 3})),
    ),
    Fault(
        "schedule-reversed",
        "starts_at and ends_at are swapped.",
        ("INV-SCHEDULE",),
        Hooks(body=changed(LATEST, starts_at=lambda b, g: b["ends_at"], ends_at=lambda b, g: b["starts_at"])),
    ),
    Fault(
        "updated-before-created",
        "updated_at is a day before created_at.",
        ("INV-UPDATED-AFTER-CREATED",),
        Hooks(body=changed(updated_at=lambda b, g: shifted(b["created_at"], timedelta(days=-1)))),
    ),
    Fault(
        "min-spend-above-budget",
        "minimum_daily_spend is twice the daily budget_amount.",
        ("INV-MIN-DAILY-SPEND",),
        Hooks(
            body=changed(
                LATEST,
                minimum_daily_spend=lambda b, g: (
                    b["budget_amount"] * 2 if b["budget_type"] == "daily" else b["minimum_daily_spend"]
                ),
            )
        ),
    ),
    Fault(
        "updated-at-tomorrow",
        "updated_at is a day after the time of the answer.",
        ("INV-NOT-FUTURE",),
        Hooks(body=changed(updated_at=lambda b, g: timestamp(datetime.now(UTC) + timedelta(days=1)))),
    ),
    # -- versioning --------------------------------------------------------------------------
    Fault(
        "default-is-latest",
        "A request without Api-Version-Date gets the latest shape.",
        ("VER-DEFAULT",),
        Hooks(version=lambda header, correct: LATEST if header is None else correct),
    ),
    Fault(
        "version-ignored",
        "Every request gets the original shape, whatever it asks for.",
        ("VER-SHAPE",),
        Hooks(version=lambda header, correct: correct and ORIGINAL),
    ),
    Fault(
        "unknown-version-served-latest",
        "An unrecognized version gets the latest shape with 200.",
        ("VER-UNKNOWN-400",),
        Hooks(version=lambda header, correct: correct or LATEST),
    ),
    Fault(
        "unknown-version-422",
        "An unrecognized version gets 422, not 400.",
        ("VER-UNKNOWN-400",),
        Hooks(unknown_version_status=422),
    ),
    Fault(
        "version-prefix-match",
        "Any value starting with a registered version is accepted as it.",
        ("VER-UNKNOWN-400",),
        Hooks(
            version=lambda header, correct: (
                correct or next((v for v in (LATEST, ORIGINAL) if header and header.startswith(v)), None)
            )
        ),
    ),
    Fault(
        "platform-leaks-into-latest",
        "2026-06-20 bodies also carry platform.",
        ("VER-NO-LEAK",),
        Hooks(body=changed(LATEST, platform=lambda b, g: g.platform)),
    ),
    Fault(
        "metrics-leak-into-original",
        "2025-01-01 bodies also carry clicks and impressions.",
        ("VER-NO-LEAK",),
        Hooks(
            body=changed(
                ORIGINAL, clicks=lambda b, g: g.raw.clicks, impressions=lambda b, g: g.raw.impressions
            )
        ),
    ),
    # -- auth --------------------------------------------------------------------------------
    Fault(
        "auth-missing-accepted",
        "A request with no Authorization is served.",
        ("AUTH-401",),
        Hooks(authorized=lambda header, valid, token: valid or header is None),
    ),
    Fault(
        "auth-any-bearer",
        "Any bearer token is accepted.",
        ("AUTH-401",),
        Hooks(authorized=lambda header, valid, token: valid or (header or "").lower().startswith("bearer ")),
    ),
    Fault(
        "auth-raw-token",
        "The token without 'Bearer' is accepted.",
        ("AUTH-401",),
        Hooks(authorized=lambda header, valid, token: valid or header == token),
    ),
    Fault(
        "auth-token-case-insensitive",
        "The token is compared without regard to case (the configured token in other case is accepted).",
        ("AUTH-401",),
        Hooks(authorized=_case_insensitive_token),
    ),
    Fault(
        "side-effect-after-401",
        "The transition happens before the credentials are checked: a refused (401) unpause of a "
        "paused group still activates it.",
        ("BEH-REFUSAL-INERT",),
        Hooks(acts_before=("auth",)),
    ),
    Fault(
        "side-effect-after-400",
        "The transition happens before the version is checked: an unpause refused with 400 for an "
        "unrecognized Api-Version-Date still activates the group.",
        ("BEH-REFUSAL-INERT",),
        Hooks(acts_before=("version",)),
    ),
    Fault(
        "side-effect-after-refused-body",
        "A request body is refused with 400 (a correct reading), but only after the transition: the "
        "refused unpause of a paused group still activates it.",
        ("BEH-REFUSAL-INERT",),
        Hooks(
            acts_before=("body",),
            request_body=raising(400, "invalid_request", when=lambda length: length not in ("", "0")),
        ),
    ),
    Fault("auth-403", "A bad token gets 403, not 401.", ("AUTH-401",), Hooks(auth_status=403)),
    # -- what an answer exposes, and what else a request changed ------------------------------
    Fault(
        "credentials-echoed",
        "A refused request's 401 message quotes the Authorization header it was sent.",
        ("EXP-NO-CREDENTIALS",),
        Hooks(authorized=_echo_credentials),
    ),
    Fault(
        "stack-trace-in-404",
        "A 404's message is the server's stack trace, source path included (an advisory finding).",
        ("EXP-NO-STACK",),
        Hooks(error=_stack_trace),
    ),
    Fault(
        "public-cache",
        "A 200 to an authenticated unpause says Cache-Control: public, max-age=60 (an advisory finding).",
        ("EXP-NO-PUBLIC-CACHE",),
        Hooks(success=lambda s, b, h: (s, b, {**h, "Cache-Control": "public, max-age=60"})),
    ),
    Fault(
        "unpause-rewrites-settings",
        "An activation also renames the group and resets its bid strategy, persisted: the answers "
        "agree with each other, so no invariant notices.",
        ("INT-OTHER-FIELDS",),
        Hooks(activated=_rewrite_settings),
    ),
    Fault(
        "unpause-activates-another",
        "An unpause that activates its group also activates the account's last paused ad group (a "
        "campaign-wide resume gone wrong); the restore at the end would pause it again unseen.",
        ("INT-OTHER-GROUPS",),
        Hooks(activates_another="last"),
    ),
    Fault(
        "unpause-activates-campaign",
        "An unpause that activates its group also activates every paused group of its campaign (a "
        "campaign-wide resume): only a watched group in a neighbour's campaign shows it.",
        ("INT-OTHER-GROUPS",),
        Hooks(activates_another="campaign"),
    ),
    Fault(
        "request-body-applied",
        "A JSON object sent as the unpause's body is written onto the group (mass assignment): "
        "status, title, budget, bid strategy, whatever it names.",
        ("INT-BODY-IGNORED",),
        Hooks(applies_body=True),
    ),
    Fault(
        "any-token-any-group",
        "Any valid token reaches any account's ad groups: another account's token unpauses, pauses and "
        "reads this account's, and this account's reaches theirs (OWASP API1, BOLA).",
        ("AUTHZ-PEER", "AUTHZ-FOREIGN"),
        Hooks(owner_blind=True),
    ),
    Fault(
        "any-token-any-group-toggles",
        "Any valid token reaches any account's ad groups, and unpausing an active group pauses it: the "
        "run's no-op unpause of another account's active group pauses it (the run must put it back with "
        "its owner's token, or say it could not).",
        ("AUTHZ-FOREIGN",),
        Hooks(owner_blind=True, toggles=True),
    ),
    Fault(
        "scope-not-enforced",
        "A token without ad_campaign:update unpauses and pauses (OWASP API5, BFLA).",
        ("AUTHZ-SCOPE",),
        Hooks(scope_check="never"),
    ),
    Fault(
        "scope-refused-after-acting",
        "A token without ad_campaign:update is answered 403, but only after the transition: the refused "
        "unpause still activates the group.",
        ("AUTHZ-SCOPE",),
        Hooks(scope_check="after"),
    ),
    Fault(
        "foreign-403",
        "Another account's ad group is answered 403 where an unknown id gets 404: which ids exist in "
        "other accounts shows (an advisory finding).",
        ("AUTHZ-EXISTENCE",),
        Hooks(foreign_status=403),
    ),
    Fault(
        "idempotency-keys-ignored",
        "Idempotency-Key is ignored: a retry is executed again, never replayed (an advisory finding).",
        ("IDEM-HONOURED",),
        Hooks(idempotency="ignored"),
    ),
    Fault(
        "idempotency-replay-executes",
        "A retry with the same Idempotency-Key is answered with the stored answer (Idempotent-Replayed: "
        "true), but the request is executed again: a group paused in between is activated.",
        ("IDEM-REPLAY",),
        Hooks(idempotency="replay-executes"),
    ),
    Fault(
        "idempotency-mismatch-replays",
        "An Idempotency-Key already used is replayed for another request (another group, version or "
        "body) instead of refused with 400 idempotency_key_mismatch.",
        ("IDEM-MISMATCH",),
        Hooks(idempotency="mismatch-replays"),
    ),
    Fault(
        "idempotency-keys-shared",
        "Idempotency-Keys are not scoped to the caller: another account's request with the same key "
        "gets this account's stored answer replayed.",
        ("IDEM-CALLER",),
        Hooks(idempotency="shared-across-callers"),
    ),
    Fault(
        "idempotency-stores-unauthenticated",
        "An unauthenticated request's 401 is stored under its Idempotency-Key and replayed to the "
        "authenticated retry.",
        ("IDEM-UNAUTHENTICATED",),
        Hooks(idempotency="stores-unauthenticated"),
    ),
    Fault(
        "id-case-insensitive",
        "Ad group ids are looked up without regard to case: an id that differs from a real one in "
        "case reaches that group (and activates it).",
        ("AUTHZ-NEAR-MISS-ID",),
        Hooks(lookup=_case_insensitive_id),
    ),
    Fault(
        "auth-token-trimmed",
        "The token is compared with whitespace around it trimmed: the token with a no-break space after "
        "it is accepted (an advisory finding: the caller gains nothing).",
        ("AUTH-TRIMMED",),
        Hooks(authorized=lambda header, valid, token: valid or (header or "").strip() == f"Bearer {token}"),
    ),
    Fault(
        "401-without-challenge",
        "401 answers carry no WWW-Authenticate (an advisory finding).",
        ("AUTH-CHALLENGE",),
        Hooks(error=lambda s, b, h: (s, b, {k: v for k, v in h.items() if k.lower() != "www-authenticate"})),
    ),
    # -- errors ------------------------------------------------------------------------------
    Fault(
        "not-found-500",
        "An unknown id crashes with 500.",
        ("ERR-NOT-FOUND", "ERR-NO-5XX"),
        Hooks(error=lambda s, b, h: (500, b, h) if s == 404 else (s, b, h)),
    ),
    Fault(
        "not-found-400",
        "An unknown id gets 400, not 404.",
        ("ERR-NOT-FOUND",),
        Hooks(error=lambda s, b, h: (400, b, h) if b["error"]["type"] == "not_found" else (s, b, h)),
    ),
    Fault(
        "error-envelope-flat",
        "4xx bodies are {'message': …}, not the envelope.",
        ("ERR-ENVELOPE",),
        Hooks(error=_flat_error),
    ),
    Fault(
        "error-plain-text",
        "4xx bodies are text/plain.",
        ("ERR-JSON", "ERR-ENVELOPE"),
        Hooks(error=_plain_error),
    ),
    Fault(
        "long-id-500",
        "An id longer than 200 characters crashes with 500.",
        ("ERR-NOT-FOUND", "ERR-NO-5XX"),
        Hooks(group_id=raising(500, when=lambda group_id: len(group_id) > 200)),
    ),
    Fault(
        "method-500",
        "GET on the path crashes with 500.",
        ("ERR-METHOD", "ERR-NO-5XX"),
        Hooks(method=raising(500)),
    ),
    Fault(
        "405-without-allow",
        "405 answers carry no Allow header (an advisory finding).",
        ("ERR-ALLOW",),
        Hooks(error=lambda s, b, h: (s, b, {k: v for k, v in h.items() if k.lower() != "allow"})),
    ),
    Fault(
        "request-body-500",
        "A request body on the POST crashes with 500.",
        ("ERR-METHOD", "ERR-NO-5XX"),
        Hooks(request_body=raising(500, when=lambda length: length not in ("", "0"))),
    ),
    Fault(
        "frequency-nan",
        "frequency is NaN when there is no reach.",
        ("ERR-JSON",),
        Hooks(
            body=changed(LATEST, frequency=lambda b, g: float("nan") if not b["reach"] else b["frequency"])
        ),
    ),
    Fault(
        "query-string-500",
        "Any query string on the unpause path crashes with 500.",
        ("ERR-EXTRA-INPUT", "ERR-NO-5XX"),
        Hooks(query=raising(500, when=lambda query: bool(query))),
    ),
    Fault(
        "duplicated-member",
        "200 bodies carry the member status twice: first 'paused', then the group's real status.",
        ("ERR-JSON-UNIQUE",),
        Hooks(success=_duplicated_status),
    ),
    Fault(
        "success-as-html",
        "200 bodies are labelled text/html.",
        ("ERR-JSON",),
        Hooks(success=lambda s, b, h: (s, json.dumps(b), h)),
    ),
    Fault(
        "byte-order-mark",
        "200 bodies start with a UTF-8 byte order mark (RFC 8259: implementations MUST NOT add one); "
        "the GET the census reads has it too.",
        ("ERR-JSON",),
        Hooks(success=lambda s, b, h: (s, b"\xef\xbb\xbf" + json.dumps(b).encode(), h)),
    ),
    # -- state -------------------------------------------------------------------------------
    Fault(
        "unpause-noop",
        "Unpause answers 200 but leaves a paused ad group paused.",
        ("BEH-ACTIVATES",),
        Hooks(activates=False),
    ),
    Fault(
        "reports-paused",
        "Unpause activates the ad group but answers with status 'paused'.",
        ("BEH-ACTIVATES",),
        Hooks(body=changed(status=lambda b, g: "paused" if b["status"] == "active" else b["status"])),
    ),
    Fault(
        "second-unpause-409",
        "Unpausing an active ad group gets 409 (correct, but not idempotent: an advisory finding).",
        ("BEH-IDEMPOTENT",),
        Hooks(already_active=raising(409, "conflict")),
    ),
    Fault(
        "second-unpause-500",
        "Unpausing an active ad group crashes with 500.",
        ("BEH-NOT-PAUSED", "ERR-NO-5XX"),
        Hooks(already_active=raising(500)),
    ),
    Fault(
        "second-unpause-pauses",
        "Unpausing an active ad group toggles it back to paused (200, status paused).",
        ("BEH-ACTIVATES", "BEH-NOT-PAUSED"),
        Hooks(toggles=True),
    ),
    Fault(
        "rejected-activated",
        "Unpausing a group that is neither paused nor active (rejected, say) makes it active.",
        ("BEH-REJECTED-STAYS",),
        Hooks(activates_unmovable=True),
    ),
    Fault(
        "activation-keeps-updated-at",
        "An activation leaves updated_at where the pause put it.",
        ("BEH-UPDATED-MOVES",),
        Hooks(stamps_activation=False),
    ),
    Fault(
        "created-at-follows-updates",
        "created_at is recomputed as a day before updated_at, so it moves with every transition.",
        ("BEH-CREATED-STABLE",),
        Hooks(body=changed(created_at=lambda b, g: shifted(b["updated_at"], timedelta(days=-1)))),
    ),
    Fault(
        "wrong-id-echo",
        "The returned id is the ad campaign's id.",
        ("BEH-ID-ECHO",),
        Hooks(body=changed(id=lambda b, g: g.ad_campaign_id)),
    ),
    Fault(
        "concurrent-500",
        "Overlapping unpauses of one ad group crash with 500.",
        ("BEH-CONCURRENT",),
        Hooks(concurrent=raising(500), transition_delay=0.05),
    ),
    # -- found only by a sequence: no fixed test pauses a group twice in a row (the state machine) --
    Fault(
        "forgets-unpause-after-two-pauses",
        "An unpause right after two pauses in a row answers 200 but leaves the group paused, and says so.",
        ("BEH-ACTIVATES",),
        Hooks(forgets_after_two_pauses=True),
    ),
    Fault(
        "second-pause-recreates",
        "A second pause in a row re-creates the ad group: created_at (and updated_at) become now.",
        ("BEH-CREATED-STABLE",),
        Hooks(paused=lambda group: _recreate(group) if group.pauses_in_a_row >= 2 else None),
    ),
    # -- cross-version -----------------------------------------------------------------------
    Fault(
        "title-differs",
        "2026-06-20 titles carry a version suffix.",
        ("XVER-CONSISTENT",),
        Hooks(body=changed(LATEST, title=lambda b, g: f"{b['title']} (v2)" if b["title"] else "untitled")),
    ),
    Fault(
        "budget-in-cents",
        "2025-01-01 budget is in cents.",
        ("XVER-CONSISTENT",),
        Hooks(body=changed(ORIGINAL, budget=lambda b, g: b["budget"] and round(b["budget"] * 100))),
    ),
    Fault(
        "created-at-shifted",
        "2026-06-20 created_at is an hour later than 2025-01-01's.",
        ("XVER-CONSISTENT",),
        Hooks(body=changed(LATEST, created_at=lambda b, g: shifted(b["created_at"], timedelta(hours=1)))),
    ),
]

CATALOGUE: dict[str, Fault] = {fault.name: fault for fault in FAULTS}
if len(CATALOGUE) != len(FAULTS):
    raise ValueError("fault names are not unique")
