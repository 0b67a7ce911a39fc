"""The mock's ASGI app: POST /ad_groups/{id}/unpause and /pause, and GET /ad_groups/{id} (the
read the census uses; a profile may lack it), every registered version.

``/__faults/<name>/…`` serves the same API with one fault from faults.CATALOGUE switched on, each
fault with its own copy of the dataset, so one process serves the correct API and every fault.
A profile (profiles.CATALOGUE) is server-wide: a correct reading of what the docs leave open,
under which the faults are served too.
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import hashlib
import hmac
import json
import math
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from conformance.contract import schemas
from conformance.mock.dataset import AdGroup, build_dataset, build_foreign, render
from conformance.mock.faults import CATALOGUE, Fault
from conformance.mock.profiles import DEFAULT, Profile
from conformance.mock.replies import JSON, Reply, error_body, json_response

ACTIONS = ("unpause", "pause")


def apply_body(group: AdGroup, content: bytes) -> None:
    """A fault's mass assignment: each member of a JSON object body that names a stored setting."""
    try:
        fields = json.loads(content)
    except ValueError:
        return
    if not isinstance(fields, dict):
        return
    for name, value in fields.items():
        if name == "ad_campaign" and isinstance(value, dict) and isinstance(value.get("id"), str):
            group.ad_campaign_id = value["id"]
        elif name in ("budget", "budget_amount") and isinstance(value, (int, float)):
            group.budget_amount = float(value)
        elif name in ("status", "title", "bid_type", "desired_cost_per_result", "budget_type") and hasattr(
            group, name
        ):
            setattr(group, name, value)


class Store:
    """The ad groups one mode (correct, or one fault) sees, by id: the main account's and the
    peer's (``foreign``)."""

    def __init__(self, groups: list[AdGroup], profile: Profile, foreign: list[AdGroup] = ()):
        self.groups = {group.id: group for group in groups}
        self.foreign = {group.id: group for group in foreign}
        self.profile = profile
        self.in_flight: set[str] = set()
        self.rendered: dict[tuple[str, str], tuple[tuple, bytes]] = {}
        # (caller, Idempotency-Key) -> (the request's fingerprint, status, headers, body)
        self.idempotent: dict[tuple, tuple] = {}
        # under a lagging read: each group's states with when they were written (monotonic seconds)
        self.history = {group.id: [(-math.inf, copy.copy(group))] for group in [*groups, *foreign]}

    def wrote(self, group: AdGroup) -> None:
        if self.profile.read_lag:
            self.history[group.id].append((time.monotonic(), copy.copy(group)))

    def as_read(self, group: AdGroup) -> AdGroup:
        """The group as the read shows it: under a lagging read, its last state written at least
        the lag ago."""
        if not self.profile.read_lag:
            return group
        seen_since = time.monotonic() - self.profile.read_lag
        return [state for at, state in self.history[group.id] if at <= seen_since][-1]

    def render(self, group: AdGroup, version: str) -> dict:
        return self.profile.render(render(group, version), version)

    def body(self, group: AdGroup, version: str) -> bytes:
        """The 200 body as sent, serialised once per state of the group: only pause and unpause
        change a group (status, updated_at), and rendering + JSON cost most of a request."""
        state = (group.status, group.updated_at)
        cached = self.rendered.get((group.id, version))
        if cached is None or cached[0] != state:
            payload = self.profile.dumps(self.render(group, version))
            cached = self.rendered[(group.id, version)] = (state, payload)
        return cached[1]


def derived_token(token: str, role: str) -> str:
    """Another identity's token, derived from the main one (the standalone mock prints it): none is
    a near-miss of another."""
    return hashlib.sha256(f"{role}/{token}".encode()).hexdigest()[:32]


MAIN, PEER, READ_ONLY = "main", "peer", "read-only"  # who a valid token is


class MockApi:
    """Two accounts: the main one owns the dataset, a peer owns ``foreign``; a token of each, and a
    token of the main account without ad_campaign:update (it may read, not pause or unpause)."""

    def __init__(
        self,
        token: str,
        seed: int = 0,
        profile: Profile = DEFAULT,
        peer_token: str | None = None,
        read_only_token: str | None = None,
    ):
        self.token = token
        self.peer_token = peer_token or derived_token(token, PEER)
        self.read_only_token = read_only_token or derived_token(token, READ_ONLY)
        self.seed = seed
        self.profile = profile
        self.dataset = build_dataset(seed)
        self.foreign = build_foreign(seed)
        self.stores: dict[str, Store] = {}
        self.requests = 0  # served, for benchmarks: GET /__stats
        self.in_flight = self.most_in_flight = 0  # answered at once (its self-tests bound it)

    def store(self, mode: str) -> Store:
        if mode not in self.stores:
            self.stores[mode] = Store(copy.deepcopy(self.dataset), self.profile, copy.deepcopy(self.foreign))
        return self.stores[mode]

    def statuses(self, mode: str = "correct") -> dict[str, str]:
        """Each ad group's status as this mode's store has it now (for the restore self-test)."""
        return {group_id: group.status for group_id, group in self.store(mode).groups.items()}

    def foreign_statuses(self, mode: str = "correct") -> dict[str, str]:
        """The peer account's ad groups' statuses: no request of the run may change them."""
        return {group_id: group.status for group_id, group in self.store(mode).foreign.items()}

    def group_of(self, store: Store, caller: str, group_id: str, fault: Fault) -> AdGroup:
        """The ad group ``group_id`` names for ``caller``: one of its own account's; another
        account's is answered as the profile says (404, as if none, or 403)."""
        own, other = (store.foreign, store.groups) if caller == PEER else (store.groups, store.foreign)
        group = fault.lookup(group_id, own)
        if group is None and group_id in other:
            if fault.owner_blind():
                return other[group_id]
            status = fault.foreign_status(self.profile.foreign_status)
            if status == 403:
                raise Reply(403, "forbidden", "This ad group belongs to another account.")
            raise Reply(404, "not_found", "Ad group not found.")
        if group is None:
            raise Reply(404, "not_found", "Ad group not found.")
        return group

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return  # no lifespan or websocket handling: nothing to set up
        request = Request(scope, receive)
        if scope["path"] == "/__stats":
            await json_response(200, {"requests": self.requests})(scope, receive, send)
            return
        self.requests += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            profile = self.profile
            if profile.latency:
                await asyncio.sleep(profile.latency)
            if self.unavailable():
                response = self.error_response(
                    503, "unavailable", "Deploying: back in a moment.", self.retry_after(1), Fault.NONE
                )
            elif profile.rate_limit_every and self.requests % profile.rate_limit_every == 0:
                response = self.error_response(
                    429, "rate_limited", "Too many requests.", self.retry_after(1), Fault.NONE
                )
            else:
                response = await self.handle(request)
            self.transport(request, response)
            await response(scope, receive, send)
        finally:
            self.in_flight -= 1

    def now(self) -> datetime:
        """The server's clock, which a profile may set ahead of the suite's."""
        return datetime.now(UTC) + timedelta(seconds=self.profile.clock_skew)

    def retry_after(self, seconds: int) -> dict[str, str]:
        if not self.profile.retry_after_date:
            return {"Retry-After": str(seconds)}
        # whole seconds, as the Date header beside it: read against it, the wait is ``seconds``
        return {"Retry-After": format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)}

    def unavailable(self) -> bool:
        """Under the profile's outage: from its request on, for its seconds."""
        if self.profile.outage is None:
            return False
        after, seconds = self.profile.outage
        if self.requests == after:
            self.outage_began = time.monotonic()
        began = getattr(self, "outage_began", None)
        return began is not None and time.monotonic() - began < seconds

    def transport(self, request: Request, response: Response) -> None:
        """The profile's transport-level readings: headers, version echo, gzip, connection close."""
        profile = self.profile
        for name, value in profile.headers.items():  # defaults: a header the answer set (a fault's) stays
            response.headers.setdefault(name, value)
        if profile.echo_version and "api-version-date" in request.headers and response.status_code == 200:
            response.headers["Api-Version-Date"] = request.headers["api-version-date"]
        if profile.gzip and "gzip" in request.headers.get("accept-encoding", "") and response.body:
            response.body = gzip.compress(response.body, mtime=0)
            response.headers["Content-Encoding"] = "gzip"
            response.headers["Content-Length"] = str(len(response.body))
        if profile.close_connections:
            response.headers["Connection"] = "close"

    def error_response(
        self, status: int, kind: str, message: str, headers: dict, fault: Fault, code: str | None = None
    ) -> Response:
        body, headers = error_body(kind, message), dict(headers)
        if code is not None:
            body["error"]["code"] = code
        if self.profile.error:
            status, body, headers = self.profile.error(status, body, headers)
        status, body, headers = fault.error(status, body, headers)
        if isinstance(body, str):
            return Response(body, status_code=status, headers=headers, media_type="text/plain")
        if self.profile.error_content_type != JSON:
            return Response(
                self.profile.dumps(body),
                status_code=status,
                headers=headers,
                media_type=self.profile.error_content_type,
            )
        return self.json(status, body, headers)

    def json(self, status: int, body, headers: dict | None = None, *, allow_nan: bool = False) -> Response:
        if allow_nan:
            return json_response(status, body, headers, allow_nan=True)
        return Response(
            self.profile.dumps(body),
            status_code=status,
            headers=headers,
            media_type=self.profile.content_type,
        )

    async def handle(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        segments = [unquote(part) for part in raw_path.decode("latin-1").split("?")[0].split("/")[1:]]
        fault = None
        if len(segments) >= 2 and segments[0] == "__faults":
            fault = CATALOGUE.get(segments[1])
            if fault is None:
                return json_response(404, error_body("not_found", f"no such fault: {segments[1]}"))
            segments = segments[2:]
        fault = fault or Fault.NONE
        mode = fault.idempotency() or ("correct" if self.profile.idempotency else "ignored")
        mode = None if mode == "ignored" else mode
        key = request.headers.get("idempotency-key") if request.method == "POST" and mode else None
        caller = self.caller_of(request.headers.get("authorization"))
        if key is not None and (caller is not None or mode == "stores-unauthenticated"):
            return await self.idempotent(request, segments, fault, mode, caller, key)
        return await self.answer(request, segments, fault)

    async def answer(self, request: Request, segments: list[str], fault: Fault) -> Response:
        try:
            return await self.route(request, segments, fault)
        except Reply as reply:
            return self.error_response(reply.status, reply.kind, reply.message, reply.headers, fault)

    async def idempotent(
        self, request: Request, segments: list[str], fault: Fault, mode: str, caller: str | None, key: str
    ) -> Response:
        """The API's idempotency page: an authenticated POST's success or 4xx is stored under its key
        (scoped to the caller) and replayed byte for byte, status included, with Idempotent-Replayed:
        true, to a retry of the same request (method, path, query, body, Api-Version-Date); the same
        key with another request is refused with 400 idempotency_key_mismatch. A fault's ``mode``
        breaks one of these."""
        store = self.store(fault.name)
        fingerprint = (
            request.method,
            request.url.path,
            request.url.query,
            await request.body(),
            request.headers.get("api-version-date"),
        )
        scope = (None if mode == "shared-across-callers" else caller, key)
        stored = store.idempotent.get(scope)
        if stored is None and mode == "stores-unauthenticated":
            stored = store.idempotent.get((None, key))
        if stored is not None:
            seen, status, headers, body = stored
            if seen != fingerprint and mode != "mismatch-replays":
                return self.error_response(
                    400,
                    "invalid_request",
                    "This Idempotency-Key was used with another request.",
                    {},
                    fault,
                    code="idempotency_key_mismatch",
                )
            if mode == "replay-executes":
                await self.answer(request, segments, fault)
            return Response(body, status_code=status, headers={**headers, "Idempotent-Replayed": "true"})
        response = await self.answer(request, segments, fault)
        if response.status_code < 500:
            headers = {
                k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "date")
            }
            store.idempotent[scope] = (fingerprint, response.status_code, headers, response.body)
        return response

    def caller_of(self, header: str | None) -> str | None:
        """Who a valid Authorization is (no refusal, no fault): for scoping idempotency keys."""
        scheme, _, credentials = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.holder(credentials.strip().encode("latin-1", "replace"))

    def holder(self, given: bytes) -> str | None:
        """Whose token ``given`` is (MAIN, PEER, READ_ONLY), compared in constant time; None: nobody's."""
        tokens = ((MAIN, self.token), (PEER, self.peer_token), (READ_ONLY, self.read_only_token))
        return next((who for who, token in tokens if hmac.compare_digest(given, token.encode())), None)

    async def route(self, request: Request, segments: list[str], fault: Fault) -> Response:
        strict = self.profile.strict_requests
        if len(segments) == 2 and segments[0] == "ad_groups" and self.profile.read_endpoint:
            return self.read(request, segments[1], fault)
        if len(segments) != 3 or segments[0] != "ad_groups" or segments[2] not in ACTIONS:
            raise Reply(404, "not_found", "No such route.")
        if request.method != "POST":
            fault.method(request.method)
            if strict:
                raise Reply(404, "not_found", "No such route.")
            raise Reply(405, "method_not_allowed", "Only POST is allowed here.", {"Allow": "POST"})
        group_id, action = segments[1], segments[2]
        store = self.store(fault.name)
        early: Reply | bool = False  # the fault: the transition first, the checks it names after it
        late = fault.acts_before()
        if late and group_id in store.groups:
            if "auth" not in late:  # the checks the fault does not postpone, in their order
                self.authorize(request.headers.get("authorization"), fault)
                if "version" not in late:
                    self.negotiate(request.headers.get("api-version-date"), fault)
            try:
                await self.transition(store, store.groups[group_id], action, fault)
                early = True
            except Reply as refusal:  # the group's state refused it: answered once the checks pass
                early = refusal
        if fault.applies_body() and group_id in store.groups:  # written before anything is checked
            apply_body(store.groups[group_id], await request.body())
        fault.request_body(request.headers.get("content-length", "0"))
        if strict and request.headers.get("content-length", "0") not in ("", "0"):
            raise Reply(400, "invalid_request", "This endpoint takes no request body.")
        fault.query(request.url.query)
        if strict and request.url.query:
            raise Reply(400, "invalid_request", "This endpoint takes no query parameters.")
        caller = self.authorize(request.headers.get("authorization"), fault)
        version = self.negotiate(request.headers.get("api-version-date"), fault)
        fault.group_id(group_id)
        if strict and not (0 < len(group_id) <= 200 and group_id.isprintable() and "/" not in group_id):
            raise Reply(400, "invalid_request", "Malformed ad group id.")
        lacks_scope = caller == READ_ONLY and fault.scope_check() != "never"
        if lacks_scope and fault.scope_check() == "before":
            raise Reply(403, "forbidden", "This token lacks the ad_campaign:update permission.")
        group = self.group_of(store, caller, group_id, fault)
        if isinstance(early, Reply):
            raise early
        if not early:
            await self.transition(store, group, action, fault)
        if lacks_scope:  # the fault: refused, but only after the transition
            raise Reply(403, "forbidden", "This token lacks the ad_campaign:update permission.")
        return self.success(store, group, version, fault)

    async def transition(self, store: Store, group: AdGroup, action: str, fault: Fault) -> None:
        try:
            if action == "pause":
                self.pause(group, fault)
            else:
                await self.unpause(group, store, fault)
        finally:
            store.wrote(group)

    def read(self, request: Request, group_id: str, fault: Fault) -> Response:
        """GET /ad_groups/{id}: the group as it is, in the negotiated version; changes nothing."""
        if request.method != "GET":
            raise Reply(405, "method_not_allowed", "Only GET is allowed here.", {"Allow": "GET"})
        caller = self.authorize(request.headers.get("authorization"), fault)
        version = self.negotiate(request.headers.get("api-version-date"), fault)
        store = self.store(fault.name)
        group = self.group_of(store, caller, group_id, fault)
        return self.success(store, store.as_read(group), version, fault)

    def refuse(self, group: AdGroup, action: str) -> None:
        """The profile's answer to a state change the group's status does not allow."""
        profile = self.profile
        movable = group.status in ("active", "paused")
        if profile.conflict or (profile.refuse_unmovable and not movable):
            wanted = "paused" if action == "unpause" else "active"
            raise Reply(
                profile.refusal_status,
                "conflict" if profile.refusal_status == 409 else "unprocessable",
                f"Ad group is {group.status}, not {wanted}.",
            )

    def stamp(self, group: AdGroup) -> None:
        """A successful call that changes nothing: some servers stamp updated_at on every write."""
        if self.profile.stamp_every_call:
            group.updated_at = self.now()

    def success(self, store: Store, group: AdGroup, version: str, fault: Fault) -> Response:
        if fault is Fault.NONE:
            return Response(store.body(group, version), status_code=200, media_type=self.profile.content_type)
        body = fault.body(store.render(group, version), version, group)
        status, body, headers = fault.success(200, body, {})
        if isinstance(body, str):
            return Response(body, status_code=status, headers=headers, media_type="text/html")
        if isinstance(body, bytes):  # already serialised, as the fault wants it on the wire
            return Response(body, status_code=status, headers=headers, media_type=JSON)
        nan = any(isinstance(v, float) and not math.isfinite(v) for v in body.values())
        return self.json(status, body, headers, allow_nan=nan)

    def authorize(self, header: str | None, fault: Fault) -> str:
        """Who the request is (MAIN, PEER, READ_ONLY), or a refusal."""
        # exactly 'Bearer' (any case, RFC 9110 §11.1), one or more spaces, the token byte for byte
        scheme, _, credentials = (header or "").partition(" ")
        credentials = credentials.strip() if self.profile.trim_token else credentials.lstrip(" ")
        caller = self.holder(credentials.encode("latin-1", "replace")) if scheme.lower() == "bearer" else None
        if fault.authorized(header, caller == MAIN, self.token):
            return MAIN
        if caller is not None:
            return caller
        status = fault.auth_status()
        if header is not None and (scheme.lower() != "bearer" or not credentials) and status == 401:
            status = self.profile.malformed_auth_status  # no Bearer credential at all: malformed
        kind = {401: "unauthorized", 400: "invalid_request"}.get(status, "forbidden")
        challenge = "Bearer" if status != 400 else 'Bearer error="invalid_request"'
        raise Reply(status, kind, "A valid bearer token is required.", {"WWW-Authenticate": challenge})

    def negotiate(self, header: str | None, fault: Fault) -> str:
        registered = schemas.versions()
        correct = (
            schemas.registry_data()["default"]
            if header is None
            else (header if header in registered else None)
        )
        chosen = fault.version(header, correct)
        if chosen is None:
            raise Reply(fault.unknown_version_status(), "invalid_request", "Unrecognized Api-Version-Date.")
        return chosen

    def pause(self, group: AdGroup, fault: Fault) -> None:
        group.pauses_in_a_row += 1
        fault.paused(group)
        if group.status != "active":
            self.refuse(group, "pause")
            self.stamp(group)
        if group.status == "active":
            group.status = "paused"
            group.updated_at = self.now()

    async def unpause(self, group: AdGroup, store: Store, fault: Fault) -> None:
        if group.id in store.in_flight:
            fault.concurrent()
        store.in_flight.add(group.id)
        after_two_pauses, group.pauses_in_a_row = group.pauses_in_a_row >= 2, 0
        try:
            if group.status == "paused":
                await fault.slow_transition()  # widens the race window of a real transition only
            if group.status == "active":
                fault.already_active()
                if fault.toggles():
                    group.status = "paused"
                    group.updated_at = self.now()
                    return
            if group.status != "paused" and fault.activates_unmovable() and group.status != "active":
                group.status = "paused"  # the fault: activated below like a paused group
            if group.status != "paused":
                self.refuse(group, "unpause")
                self.stamp(group)
            if group.status == "paused" and fault.activates() and not (after_two_pauses and fault.forgets()):
                group.status = "active"
                if fault.stamps_activation():
                    group.updated_at = self.now()
                fault.activated(group)
                if spread := fault.activates_another():
                    other = [g for g in store.groups.values() if g.status == "paused" and g is not group]
                    if spread == "campaign":
                        other = [g for g in other if g.ad_campaign_id == group.ad_campaign_id]
                    for sibling in other if spread == "campaign" else other[-1:]:
                        sibling.status, sibling.updated_at = "active", self.now()
                        store.wrote(sibling)
        finally:
            store.in_flight.discard(group.id)
