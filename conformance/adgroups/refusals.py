"""Requests the contract refuses, in one catalogue, and the check that a refusal changed nothing.

The suites judge each request's answer (test_auth, test_versioning, test_errors); ``witness``
sends the same requests at one paused ad group and observes, once per batch, that it is still
paused (BEH-REFUSAL-INERT): a server that applies the transition and validates after it answers
401 or 400 while the ad group goes live. Only a batch after which the group is not paused is
bisected, to name the request that did it.
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from conformance.adgroups.census import Observation, Observer
from conformance.adgroups.state import Obtained, pause_first, refused
from conformance.client.http import ApiClient, Exchange
from conformance.contract import schemas
from conformance.contract.endpoints import unpause_path, version_header
from conformance.runner import engines


@dataclass(frozen=True)
class Credentials:
    """An Authorization (or its absence, or the token elsewhere) that must be refused."""

    headers: dict[str, str | bytes]
    query: str = ""  # appended to the path: the token in the URL
    # 400 is also right: not a well-formed Bearer credential (RFC 6750 §3.1 invalid_request), or
    # carried by an input the target refuses on its own (a query string)
    also_400: bool = False
    # the exact token once whitespace around it is trimmed: a target that trims gives the caller
    # nothing it did not have, so accepting it breaks a SHOULD (AUTH-TRIMMED), not AUTH-401
    trimmed: bool = False


def credentials(token: str) -> dict[str, Credentials]:
    """Every near-miss of ``Bearer <token>`` a careless comparison accepts, derived from the token
    (never printed: the redactor covers every six-character run of it, in any case)."""
    return {
        "missing": Credentials({}),
        # no Bearer credential at all: 401, or 400 invalid_request (RFC 6750 §3.1)
        "empty": Credentials({"Authorization": ""}, also_400=True),  # 'Bearer ' is the same on the wire
        "bearer-without-token": Credentials({"Authorization": "Bearer"}, also_400=True),
        "token-without-scheme": Credentials({"Authorization": token}, also_400=True),
        "basic-scheme": Credentials({"Authorization": f"Basic {token}"}, also_400=True),
        "token-scheme": Credentials({"Authorization": f"Token {token}"}, also_400=True),
        "invalid-token": Credentials({"Authorization": "Bearer not-the-token-0000"}),
        "token-with-suffix": Credentials({"Authorization": f"Bearer {token}x"}),
        "token-prefix": Credentials({"Authorization": f"Bearer {token[:-1]}"}),
        # compared without regard to case (the scheme's case is free, the token's is not)
        "token-other-case": Credentials({"Authorization": f"Bearer {token.swapcase()}"}),
        # an endswith / contains comparison
        "token-with-prefix": Credentials({"Authorization": f"Bearer x{token}"}),
        "token-inside-longer": Credentials({"Authorization": f"Bearer x{token}x"}),
        # split()[1], str.strip() (which strips a no-break space), startswith('Bearer') + slicing
        "token-then-more": Credentials({"Authorization": f"Bearer {token} x"}, also_400=True),
        "token-with-no-break-space": Credentials(
            {"Authorization": f"Bearer {token}\xa0".encode("latin-1")}, also_400=True, trimmed=True
        ),
        "scheme-without-space": Credentials({"Authorization": f"Bearer{token}"}, also_400=True),
        "scheme-twice": Credentials({"Authorization": f"Bearer Bearer {token}"}, also_400=True),
        # the right token in the wrong place (the pages: the Authorization header is required)
        "token-in-query": Credentials({}, query=f"?access_token={token}", also_400=True),
        "token-in-other-header": Credentials({"X-Api-Key": token}),
    }


CREDENTIAL_CASES = list(credentials("T0k"))


def unregistered_versions() -> list[str]:
    """Values of Api-Version-Date that are not registered: well-formed dates around, between and
    after the versions, then malformed ones."""
    registered = set(schemas.versions())
    days = sorted(date.fromisoformat(name[:10]) for name in registered)
    candidates = []
    for day in days:
        candidates += [day - timedelta(days=1), day + timedelta(days=1)]
    candidates += [a + (b - a) / 2 for a, b in itertools.pairwise(days)]
    candidates += [days[-1] + timedelta(days=400), date(2024, 12, 31)]
    values = [d.isoformat() for d in candidates] + [f"{name}-1" for name in registered if len(name) == 10]
    return sorted({v for v in values if v not in registered}) + MALFORMED_VERSIONS


MALFORMED_VERSIONS = [
    "2026-6-20",
    "20260620",
    "2026/06/20",
    "06-20-2026",
    "2026-06-20T00:00:00Z",
    "latest",
    "v2",
    "0",
    "garbage!@#",
    "2026-13-01",
    "2026-02-30",
    "x" * 4096,
    "2026-06-20,2025-01-01",
]

MALFORMED_IDS = {
    "very-long": "/ad_groups/" + "a" * 5000 + "/unpause",
    "unicode": "/ad_groups/" + "adgrp_%C3%A9%E2%9C%93%F0%9F%98%80" + "/unpause",
    "encoded-slash": "/ad_groups/adgrp_a%2Fb/unpause",
    "empty-segment": "/ad_groups//unpause",
    "dot-dot": "/ad_groups/%2E%2E/unpause",
    "null-byte": "/ad_groups/adgrp_%00/unpause",
}

OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]

BODIES = {
    "json-object": (b'{"status": "paused"}', "application/json"),
    "json-garbage": (b'{"unterminated', "application/json"),
    "form": (b"status=paused", "application/x-www-form-urlencoded"),
    "binary": (bytes(range(256)), "application/octet-stream"),
}

# unpause takes no query parameters (the SDKs): each is ignored or refused, never a crash
QUERIES = {
    "unknown-parameter": "?foo=bar",
    "status-parameter": "?status=paused",
    "dry-run": "?dry_run=true",
    "empty-value": "?include=",
    "repeated": "?a=1&a=2",
    "no-value": "?verbose",
    "encoded": "?q=%E2%9C%93%00",
}


def idempotency_keys() -> dict[str, str]:
    """Idempotency-Key values of each shape the newer SDKs may send, fresh at every call: a server
    that honours keys replays the stored answer to a key it has seen (for 24 hours, whoever's run
    sent it), so a key reused by accident would judge an old answer."""
    return {
        "uuid": str(uuid.uuid4()),
        "short": secrets.token_urlsafe(3),
        "long": secrets.token_hex(128)[:255],
    }


IDEMPOTENCY_KEY_CASES = list(idempotency_keys())


NEAR_MISS_ID = "ad group id: "  # how a refusal aimed at an id that resembles the witness's is named


@dataclass(frozen=True)
class Refusal:
    """One request at the witness group: ``must`` be refused (the contract says so), or may be
    accepted (a body, a query, an Idempotency-Key: then it witnesses nothing)."""

    name: str
    method: str
    path: str
    headers: dict[str, str | bytes]
    content: bytes = b""
    must: bool = True

    def send(self, api: ApiClient) -> Exchange:
        return api.request(self.method, self.path, headers=self.headers, content=self.content)


def must_refuse(api: ApiClient, group_id: str, version: str) -> list[Refusal]:
    """Every request the suite sends that the contract refuses, aimed at ``group_id``: each
    credential near-miss, each unrecognized version, each other method, near-miss ids."""
    path = unpause_path(group_id)
    valid = {**api.auth, **version_header(version)}
    found = [
        Refusal(
            f"credentials: {case}", "POST", path + given.query, {**given.headers, **version_header(version)}
        )
        for case, given in credentials(api.token).items()
    ]
    found += [
        Refusal(f"Api-Version-Date: {value[:40]}", "POST", path, {**api.auth, **version_header(value)})
        for value in unregistered_versions()
    ]
    found += [Refusal(f"{method} on unpause", method, path, valid) for method in OTHER_METHODS]
    # ids a prefix, suffix or case-folding lookup would resolve to the witness
    for case, other in {
        "id-with-suffix": group_id + "0",
        "id-prefix": group_id[:-1],
        "id-other-case": group_id.swapcase(),
    }.items():
        if other != group_id:
            found.append(Refusal(f"{NEAR_MISS_ID}{case}", "POST", unpause_path(other), valid))
    return found


def may_refuse(api: ApiClient, group_id: str, version: str) -> list[Refusal]:
    """Requests a target may accept or refuse: only the refused ones must change nothing."""
    path = unpause_path(group_id)
    valid = {**api.auth, **version_header(version)}
    found = [
        Refusal(f"request body: {case}", "POST", path, {**valid, "Content-Type": kind}, content, must=False)
        for case, (content, kind) in BODIES.items()
    ]
    found += [
        Refusal(f"query: {case}", "POST", path + query, valid, must=False) for case, query in QUERIES.items()
    ]
    found += [
        Refusal(f"Idempotency-Key: {case}", "POST", path, {**valid, "Idempotency-Key": key}, must=False)
        for case, key in idempotency_keys().items()
    ]
    return found


def is_refusal(exchange: Exchange) -> bool:
    """A 4xx that refuses the request itself; 409 and 422 refuse the group's state (it is not
    paused: an earlier request of the batch was accepted), so they witness nothing."""
    return exchange.status is not None and 400 <= exchange.status < 500 and not refused(exchange)


@dataclass
class Witnessed:
    """What one batch of refusals did to a paused group."""

    batch: str
    refused: list[tuple[Refusal, Exchange]] = field(default_factory=list)  # answered 4xx
    accepted: list[tuple[Refusal, Exchange]] = field(default_factory=list)  # any other answer
    suspects: list[tuple[Refusal, Exchange]] = field(default_factory=list)  # one of these changed it
    observation: Observation | None = None  # the one that saw it changed, or the last one
    not_exercised: str | None = None


class Witness:
    """One paused group that witnesses batches of refusals: each batch is sent concurrently and
    followed by one observation that the group is still paused. Answers other than a 4xx refusal
    witness nothing (other rules judge them): where there were some, the group is paused again
    and the refused ones alone are sent again. A batch after which it is not paused is bisected
    down to one refusal. The group is paused again only when the run no longer knows it is (an
    unpause observed it, or a refusal changed it): two pauses in a row are a sequence of their
    own, which the state machine explores."""

    def __init__(self, api: ApiClient, observer: Observer, paused: Obtained, concurrency: int):
        self.api, self.observer, self.concurrency = api, observer, concurrency
        self.group_id = paused.group_id
        self.pause = paused.exchange  # the 200 pause the next observation compares with
        self.paused_at = time.monotonic()  # when it was answered (or when the run last knew)
        self.known_paused = True
        self.requests = 0  # every request the side-effect checks sent: pauses, refusals, observations
        # the read's lag, measured on this pause where the run has not measured it yet
        self.lag_measured = observer.measure_lag(self.group_id, self.pause)

    def _count(self, sent: int) -> None:
        """The side-effect checks' requests, counted here and in the client's summary."""
        self.requests += sent
        self.api.count_side_effects(sent)

    def _send(self, batch: list[Refusal]) -> list[Exchange] | None:
        """``batch`` at the group, paused first where the run does not know it is; None when it
        cannot be paused."""
        if not self.known_paused:
            again = pause_first(self.api, self.group_id)
            self._count(len(again.route))
            if again.not_exercised is not None:
                return None
            self.pause, self.paused_at, self.known_paused = again.exchange, time.monotonic(), True
        self._count(len(batch))
        self.known_paused = False  # until an observation says so
        return engines.run_all(lambda refusal: refusal.send(self.api), batch, self.concurrency)

    def _observe(self) -> Observation:
        observation = self.observer.still_paused(self.group_id, self.pause, self.paused_at)
        self._count(len(observation.sent))
        # a read that found it paused leaves it so; an unpause that observed it activated it
        self.known_paused = observation.paused is True and not observation.sent
        return observation

    def check(self, name: str, refusals: list[Refusal]) -> Witnessed:
        result = Witnessed(name)
        answers = self._send(refusals)
        if answers is None:
            result.not_exercised = f"{self.group_id} cannot be paused again"
            return result
        for refusal, exchange in zip(refusals, answers, strict=True):
            (result.refused if is_refusal(exchange) else result.accepted).append((refusal, exchange))
        candidates = result.refused
        if not candidates:
            result.not_exercised = "the target accepted every one (the docs allow it): no refusal, so no side effect of one to check"
            return result
        if result.accepted:  # an accepted one may have activated the group: again, refused ones only
            answers = self._send([refusal for refusal, _ in candidates])
            if answers is None:
                result.not_exercised = f"{self.group_id} cannot be paused again"
                return result
            candidates = list(zip([refusal for refusal, _ in candidates], answers, strict=True))
        observation = result.observation = self._observe()
        if observation.paused is None:
            result.not_exercised = observation.how
            return result
        while observation.paused is False and len(candidates) > 1:
            half, rest = candidates[: len(candidates) // 2], candidates[len(candidates) // 2 :]
            answers = self._send([refusal for refusal, _ in half])
            if answers is None:
                break  # bisecting stops: the batch as a whole is the finding
            found = self._observe()
            if found.paused is False:
                candidates, observation = list(zip([r for r, _ in half], answers, strict=True)), found
            elif found.paused is True:
                candidates = rest  # the batch changed it and this half did not: the rest did
            else:
                break
        if observation.paused is False:
            result.suspects = candidates  # one, unless bisecting had to stop
        result.observation = observation
        return result
