"""Correct variants of the mock: the twin of the fault catalogue.

Each profile is a server that reads what the two pages leave open differently from the default
mock, as a real, correct implementation may: how it answers a state conflict, how it writes
numbers and timestamps, which headers, encodings and extra members it sends, how it handles
connections, rate limits and latency, how much detail its errors carry. ``reading`` says which
reading it embodies and why the docs allow it. The suites must pass on every one (no MUST
failure); ``advisory`` lists the SHOULD rules a profile is expected to show up, with the reason.

Select one with ``--mock-profile NAME`` (suites) or ``--profile NAME`` (``python -m conformance.mock``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from conformance.contract.invariants import COUNT_FIELDS

TIMESTAMP_FIELDS = ("created_at", "updated_at", "starts_at", "ends_at")


def compact_json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Profile:
    name: str
    reading: str
    # 409 with the envelope when unpausing a group that is not paused, or pausing one that is not active
    conflict: bool = False
    # a rendering of a 200 body (after the dataset's): (body, version) -> body
    body: Callable[[dict, str], dict] | None = field(default=None, repr=False)
    dumps: Callable[[Any], bytes] = field(default=compact_json, repr=False)
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    echo_version: bool = False  # answers with the Api-Version-Date it served
    # the error envelope's details: (status, body, headers) -> (status, body, headers)
    error: Callable[[int, dict, dict], tuple[int, dict, dict]] | None = field(default=None, repr=False)
    gzip: bool = False  # compresses every body the client accepts gzip for
    close_connections: bool = False  # Connection: close on every response
    latency: float = 0.0  # seconds before every answer
    rate_limit_every: int = 0  # every Nth request gets 429 with Retry-After: 1 (0: never)
    # rejects a request body (400), malformed ids (400) and other methods without a route (404)
    strict_requests: bool = False
    # the status of a refused state change (409 conflict; 422 unprocessable is the other the SDKs map)
    refusal_status: int = 409
    # refuses to unpause or pause a group that is neither active nor paused (rejected, say), even
    # where unpausing an active group is idempotent
    refuse_unmovable: bool = False
    read_endpoint: bool = True  # answers GET /ad_groups/{id}; without it, 404 (no such route)
    stamp_every_call: bool = False  # a successful pause or unpause stamps updated_at, changed or not
    error_content_type: str = "application/json"  # the media type of error bodies
    trim_token: bool = False  # the credentials with whitespace around them trimmed (str.strip())
    # the status of an Authorization that is no Bearer credential at all (empty, 'Bearer' alone, no
    # scheme, another scheme): 400 invalid_request is RFC 6750 §3.1's reading; a wrong token gets 401
    malformed_auth_status: int = 401
    read_lag: float = 0.0  # seconds GET /ad_groups/{id} lags the writes (a read replica)
    keep_alive: float = 5.0  # seconds an idle connection is kept open (uvicorn's default: 5)
    clock_skew: float = 0.0  # seconds the server's clock is ahead of the suite's (what it stamps)
    date_header: bool = True  # sends Date (RFC 9110 §6.6.1: a server with a clock MUST)
    retry_after_date: bool = False  # a 429's or 503's Retry-After as an HTTP-date, not seconds
    # how another account's ad group is answered: 404 (as if it did not exist) or 403
    foreign_status: int = 404
    idempotency: bool = True  # honours Idempotency-Key as the API's idempotency page documents
    # (after this many requests, for this many seconds): every answer is 503 with Retry-After: 1
    outage: tuple[int, float] | None = None
    advisory: dict[str, str] = field(default_factory=dict)  # SHOULD rule -> why this reading shows it
    # rule -> why this reading leaves a black-box suite nothing to judge it on (the mutation score
    # excuses a fault of such a rule only where the run's verdicts show no test judged it)
    unjudgeable: dict[str, str] = field(default_factory=dict)

    def render(self, body: dict, version: str) -> dict:
        return self.body(body, version) if self.body else body


def _floats_and_exact_ratios(body: dict, version: str) -> dict:
    """Counts as JSON floats (240.0), derived ratios unrounded: both are numbers as typed."""
    if "impressions" not in body:
        return body
    out = {**body, **{name: float(body[name]) for name in COUNT_FIELDS}}

    def exact(num: float, den: float, scale: float = 1.0) -> float:
        return scale * num / den if den else 0.0

    out["click_through_rate"] = exact(out["clicks"], out["impressions"])
    if out["impressions"]:
        out["unique_click_through_rate"] = exact(out["unique_clicks"], out["impressions"])
    out["cost_per_click"] = exact(out["spend"], out["clicks"])
    out["cost_per_mille"] = exact(out["spend"], out["impressions"], 1000.0)
    out["return_on_ad_spend"] = exact(out["purchase_value"], out["spend"])
    if out["reach"]:
        out["frequency"] = out["impressions"] / out["reach"]
    return out


PLUS_TWO = timezone(timedelta(hours=2))


def _offset_timestamps(body: dict, version: str) -> dict:
    """The same instants written with a +02:00 offset and microseconds: RFC 3339 and ISO 8601."""
    out = dict(body)
    for name in TIMESTAMP_FIELDS:
        if isinstance(out.get(name), str):
            moment = datetime.fromisoformat(out[name].replace("Z", "+00:00"))
            out[name] = moment.astimezone(PLUS_TWO).isoformat(timespec="microseconds")
    return out


def _additive_members(body: dict, version: str) -> dict:
    """Members no page lists, at the top level and inside objects: the pages never forbid them."""
    out = {
        **body,
        "object": "ad_group",
        "etag": 'W/"3f1c"',
        "metadata": {"labels": ["conformance"]},
    }
    out["ad_campaign"] = {**body["ad_campaign"], "object": "ad_campaign", "title": "Campaign"}
    if isinstance(body.get("issues"), list):
        out["issues"] = [{**issue, "severity": "error"} for issue in body["issues"]]
    return out


def _other_silent_branch(body: dict, version: str) -> dict:
    """Where the docs are silent, the other reading: a cost per conversion with the goal and none
    attributed is null (the default mock says 0), and a unique click-through rate with no
    impressions is 0 (the default mock says null)."""
    out = dict(body)
    for cost, count in (("cost_per_lead", "leads"), ("cost_per_purchase", "purchases")):
        if out.get(count) == 0 and out.get(cost) == 0:
            out[cost] = None
    if out.get("impressions") == 0 and "unique_click_through_rate" in out:
        out["unique_click_through_rate"] = 0.0
    return out


def _whole_seconds(body: dict, version: str) -> dict:
    """Timestamps without fractions of a second: RFC 3339 and ISO 8601 both make them optional."""
    out = dict(body)
    for name in TIMESTAMP_FIELDS:
        if isinstance(out.get(name), str):
            moment = datetime.fromisoformat(out[name].replace("Z", "+00:00"))
            out[name] = moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return out


def _pretty_ascii(body: Any) -> bytes:
    """Indented, keys reversed, every non-ASCII character escaped: the same JSON value."""

    def reorder(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: reorder(node[key]) for key in reversed(list(node))}
        if isinstance(node, list):
            return [reorder(item) for item in node]
        return node

    return (json.dumps(reorder(body), indent=4, ensure_ascii=True) + "\n").encode()


def _rich_errors(status: int, body: dict, headers: dict) -> tuple[int, dict, dict]:
    """The envelope with every optional member the SDKs know (code, param) and more."""
    error = {
        **body["error"],
        "code": body["error"].get("code") or body["error"]["type"].upper(),
        "param": None,
        "request_id": "req_0f3a",
        "doc_url": "https://docs.example.invalid/errors",
    }
    if status == 401:
        headers = {**headers, "WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}
    return status, {"error": error}, headers


NO_FOREIGN_READ = (
    "without a read no foreign group's status is known, and a read is no route: it is sent nothing"
)

PROFILES = [
    Profile(
        "default",
        "The embedded mock as it is: unpause of an active group answers 200 (idempotent), and "
        "Idempotency-Key is honoured as the API's idempotency page documents (stored per caller and "
        "key, replayed byte for byte with Idempotent-Replayed: true; another request with a used key "
        "gets 400 idempotency_key_mismatch).",
    ),
    Profile(
        "conflict",
        "Unpausing a group that is not paused (active or rejected) answers 409 with the envelope, and "
        "pausing one that is not active answers 409: nothing in the pages says unpause is idempotent, "
        "and the newest SDK declares 409 (conflict) as unpause's one typed error.",
        conflict=True,
        advisory={"BEH-IDEMPOTENT": "a second unpause answers 409, not 200: allowed, so only advisory"},
    ),
    Profile(
        "unprocessable-conflict",
        "The conflict reading answered with 422 (unprocessable) instead of 409: the SDKs map both, and "
        "nothing in the pages says which a refused state change gets.",
        conflict=True,
        refusal_status=422,
        advisory={"BEH-IDEMPOTENT": "a second unpause answers 422, not 200: allowed, so only advisory"},
    ),
    Profile(
        "unprocessable-unmovable",
        "Unpausing an active group is idempotent (200), but unpausing or pausing a group that can be "
        "neither (rejected, in review, flagged, inactive) answers 422 with the envelope: its state does "
        "not allow the change, and the SDKs map 422.",
        refuse_unmovable=True,
        refusal_status=422,
    ),
    Profile(
        "stamp-every-call",
        "Every successful pause and unpause stamps updated_at with the time of the call, even one "
        "that changes nothing: 'When the ad group was last updated' allows a write that is a no-op.",
        stamp_every_call=True,
    ),
    Profile(
        "no-read-endpoint",
        "No GET /ad_groups/{id} (404, no such route), and timestamps in whole seconds: the pages "
        "document unpause alone, and RFC 3339 makes fractions of a second optional.",
        read_endpoint=False,
        body=_whole_seconds,
        unjudgeable={
            "BEH-REJECTED-STAYS": "without a read, the census's first unpause is the first word on a group: "
            "one it wrongly activated looks like one that was active, and the user declared none",
            "INT-OTHER-GROUPS": "no read, so no group can be watched: the watch reads the groups set apart",
            "AUTHZ-FOREIGN": NO_FOREIGN_READ,
            "AUTHZ-EXISTENCE": NO_FOREIGN_READ,
        },
    ),
    Profile(
        "problem-json-errors",
        "Error bodies are labelled application/problem+json (the envelope inside): a JSON media type "
        "(RFC 6839's +json suffix), and the pages name none for errors.",
        error_content_type="application/problem+json",
    ),
    Profile(
        "float-numbers",
        "Counts are written as floats (240.0) and ratios unrounded: the pages type every metric "
        "'number', and 240.0 is the number 240.",
        body=_floats_and_exact_ratios,
    ),
    Profile(
        "offset-timestamps",
        "Timestamps carry a +02:00 offset and microseconds: the same instants, valid RFC 3339 "
        "(2025-01-01's date-time) and ISO 8601 (2026-06-20's wording).",
        body=_offset_timestamps,
    ),
    Profile(
        "additive-members",
        "Bodies carry members no page lists (top level, ad_campaign, issue items): additive fields "
        "are how a dated API evolves without a new version, and no page forbids them.",
        body=_additive_members,
    ),
    Profile(
        "other-silent-branch",
        "A cost per lead or purchase with the goal and none attributed is null, and a unique "
        "click-through rate with no impressions is 0: the docs define neither case, so both readings stand.",
        body=_other_silent_branch,
    ),
    Profile(
        "pretty-json",
        "Bodies are indented, with keys in another order and non-ASCII escaped: JSON is JSON.",
        dumps=_pretty_ascii,
    ),
    Profile(
        "verbose-headers",
        "Every answer says 'application/json; charset=utf-8' and carries request ids, caching and "
        "security headers, and echoes the version it served: nothing in the pages forbids headers.",
        content_type="application/json; charset=utf-8",
        headers={
            "X-Request-Id": "req_7d2e",
            "Cache-Control": "no-store",
            "Strict-Transport-Security": "max-age=63072000",
            "Vary": "Authorization, Api-Version-Date",
        },
        echo_version=True,
    ),
    Profile(
        "rich-errors",
        "Error envelopes carry code, param, request_id and doc_url beside type and message, and a 401 "
        "challenge with a realm and an error: the SDKs read type and message and tolerate the rest.",
        error=_rich_errors,
    ),
    Profile(
        "gzip",
        "Every body is gzip-compressed when the client accepts it: HTTP content coding.",
        gzip=True,
    ),
    Profile(
        "connection-close",
        "Every connection is closed after one answer (Connection: close): HTTP/1.1 allows it.",
        close_connections=True,
    ),
    Profile(
        "rate-limited",
        "Every 60th request is refused with 429 and Retry-After: 1: the SDKs map 429, and a staging "
        "API has rate limits.",
        rate_limit_every=60,
    ),
    Profile(
        "slow",
        "Every answer takes 15 ms: a network away, not on loopback.",
        latency=0.015,
    ),
    Profile(
        "strict-requests",
        "A request body or a query string on unpause is rejected with 400, a malformed id gets 400, "
        "and other methods get 404 (no such route): the pages define none of these, and each is a 4xx.",
        strict_requests=True,
        unjudgeable={
            "ERR-ALLOW": "no method gets 405 (every other one is 404, no such route): no Allow to judge"
        },
    ),
]

PROFILES += [
    Profile(
        "trimmed-token",
        "The token is read with whitespace around it trimmed (str.strip(), JavaScript's trim(), Go's "
        "strings.TrimSpace, all of which remove a no-break space), so what is compared is exactly the "
        "configured token: a caller gains nothing, and RFC 6750 §3.1 asks for a 400 there as a SHOULD.",
        trim_token=True,
        advisory={"AUTH-TRIMMED": "the token with a no-break space after it is accepted, trimmed"},
    ),
    Profile(
        "malformed-auth-400",
        "An Authorization header that is no Bearer credential at all (empty, 'Bearer' alone, no scheme, "
        "another scheme) answers 400 invalid_request with the envelope, a wrong token 401: RFC 6750 §3.1 "
        "names 400 for a malformed request, and both are refusals the SDKs map.",
        malformed_auth_status=400,
    ),
    Profile(
        "lagging-read",
        "GET /ad_groups/{id} is served from a replica that shows the writes a second late: the read is "
        "not documented on these pages at all, and staging stacks commonly read from replicas.",
        read_lag=1.0,
    ),
    Profile(
        "brief-outage",
        "Unavailable for two seconds mid-run, as during a deploy: every answer is 503 with Retry-After: 1 "
        "and the envelope. A 503 with Retry-After says 'not now' (RFC 9110 §15.6.4), like a 429.",
        outage=(150, 2.0),
    ),
    Profile(
        "short-keep-alive",
        "An idle connection is closed after one second (a proxy's or load balancer's idle timeout): "
        "HTTP/1.1 lets either side close a persistent connection at any time.",
        keep_alive=1.0,
    ),
    Profile(
        "skewed-clock-no-read",
        "No GET /ad_groups/{id}, a clock two minutes ahead of the suite's, and no Date header (as a "
        "proxy that trims headers sends it): the pages promise ISO 8601 timestamps, not a synchronised "
        "clock, and an origin server without a reliable clock must not send Date (RFC 9110 §6.6.1).",
        read_endpoint=False,
        clock_skew=120.0,
        date_header=False,
        unjudgeable={
            "BEH-REJECTED-STAYS": "without a read, the census's first unpause is the first word on a group",
            "INT-OTHER-GROUPS": "no read, so no group can be watched: the watch reads the groups set apart",
            "AUTHZ-FOREIGN": NO_FOREIGN_READ,
            "AUTHZ-EXISTENCE": NO_FOREIGN_READ,
        },
    ),
    Profile(
        "retry-after-date",
        "Every 60th request is refused with 429 whose Retry-After is an HTTP-date a second ahead: RFC "
        "9110 §10.2.3 allows a date or seconds.",
        rate_limit_every=60,
        retry_after_date=True,
    ),
    Profile(
        "keys-ignored",
        "Idempotency-Key is ignored: every request is executed (unpause is idempotent in effect anyway). "
        "The API's idempotency page says keys are honoured, the reference pages do not: a SHOULD matter.",
        idempotency=False,
        advisory={"IDEM-HONOURED": "a retry with the same key is executed again, not replayed"},
    ),
    Profile(
        "foreign-403",
        "Another account's ad group is answered 403 (forbidden), an unknown one 404: both refuse, and "
        "the SDKs map both; that the two differ tells a caller which ids exist elsewhere, a SHOULD matter.",
        foreign_status=403,
        advisory={"AUTHZ-EXISTENCE": "another account's ad group gets 403 where an unknown one gets 404"},
    ),
    Profile(
        "conflict-no-read",
        "The conflict reading (409 to unpausing a group that is not paused) without GET /ad_groups/{id}: "
        "on it an unpause answers 200 only when it activated the group, the strongest evidence a census "
        "can have.",
        conflict=True,
        read_endpoint=False,
        advisory={"BEH-IDEMPOTENT": "a second unpause answers 409, not 200: allowed, so only advisory"},
        unjudgeable={
            "BEH-REJECTED-STAYS": "without a read, the census's first unpause is the first word on a group",
            "INT-OTHER-GROUPS": "no read, so no group can be watched: the watch reads the groups set apart",
            "AUTHZ-FOREIGN": NO_FOREIGN_READ,
            "AUTHZ-EXISTENCE": NO_FOREIGN_READ,
        },
    ),
]

CATALOGUE: dict[str, Profile] = {profile.name: profile for profile in PROFILES}
if len(CATALOGUE) != len(PROFILES):
    raise ValueError("profile names are not unique")
DEFAULT = CATALOGUE["default"]
