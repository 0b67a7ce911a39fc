"""The mock's ASGI app: POST /ad_groups/{id}/unpause and /pause, every registered version.

``/__faults/<name>/…`` serves the same API with one fault from faults.CATALOGUE switched on, each
fault with its own copy of the dataset, so one process serves the correct API and every fault.
"""

from __future__ import annotations

import copy
import hmac
import json
import math
from datetime import UTC, datetime
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from conformance import schemas
from conformance.mock.dataset import AdGroup, build_dataset, render
from conformance.mock.faults import CATALOGUE, Fault

JSON = "application/json"
ACTIONS = ("unpause", "pause")


class Reply(Exception):
    """Raised to answer at once: status, error type and message (the SDKs' error envelope)."""

    def __init__(self, status: int, kind: str, message: str, headers: dict | None = None):
        self.status, self.kind, self.message, self.headers = status, kind, message, headers or {}


def json_response(status: int, body, headers: dict | None = None, *, allow_nan: bool = False) -> Response:
    payload = json.dumps(body, allow_nan=allow_nan, separators=(",", ":"))
    return Response(payload, status_code=status, headers=headers, media_type=JSON)


def error_body(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


class Store:
    """The ad groups one mode (correct, or one fault) sees, by id."""

    def __init__(self, groups: list[AdGroup]):
        self.groups = {group.id: group for group in groups}
        self.in_flight: set[str] = set()
        self.rendered: dict[tuple[str, str], tuple[tuple, bytes]] = {}

    def body(self, group: AdGroup, version: str) -> bytes:
        """The 200 body as sent, serialised once per state of the group: only pause and unpause
        change a group (status, updated_at), and rendering + JSON cost most of a request."""
        state = (group.status, group.updated_at)
        cached = self.rendered.get((group.id, version))
        if cached is None or cached[0] != state:
            payload = json.dumps(render(group, version), separators=(",", ":")).encode()
            cached = self.rendered[(group.id, version)] = (state, payload)
        return cached[1]


class MockApi:
    def __init__(self, token: str, seed: int = 0):
        self.token = token
        self.seed = seed
        self.dataset = build_dataset(seed)
        self.stores: dict[str, Store] = {}
        self.requests = 0  # served, for benchmarks: GET /__stats

    def store(self, mode: str) -> Store:
        if mode not in self.stores:
            self.stores[mode] = Store(copy.deepcopy(self.dataset))
        return self.stores[mode]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return  # no lifespan or websocket handling: nothing to set up
        request = Request(scope, receive)
        if scope["path"] == "/__stats":
            await json_response(200, {"requests": self.requests})(scope, receive, send)
            return
        self.requests += 1
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        segments = [unquote(part) for part in raw_path.decode("latin-1").split("?")[0].split("/")[1:]]
        fault = None
        if len(segments) >= 2 and segments[0] == "__faults":
            fault = CATALOGUE.get(segments[1])
            if fault is None:
                return json_response(404, error_body("not_found", f"no such fault: {segments[1]}"))
            segments = segments[2:]
        try:
            return await self.route(request, segments, fault or Fault.NONE)
        except Reply as reply:
            status, body, headers = (fault or Fault.NONE).error(
                reply.status, error_body(reply.kind, reply.message), reply.headers
            )
            if isinstance(body, str):
                return Response(body, status_code=status, headers=headers, media_type="text/plain")
            return json_response(status, body, headers)

    async def route(self, request: Request, segments: list[str], fault: Fault) -> Response:
        if len(segments) != 3 or segments[0] != "ad_groups" or segments[2] not in ACTIONS:
            raise Reply(404, "not_found", "No such route.")
        if request.method != "POST":
            fault.method(request.method)
            raise Reply(405, "method_not_allowed", "Only POST is allowed here.", {"Allow": "POST"})
        fault.request_body(request.headers.get("content-length", "0"))
        self.authorize(request.headers.get("authorization"), fault)
        version = self.negotiate(request.headers.get("api-version-date"), fault)
        group_id = segments[1]
        fault.group_id(group_id)
        store = self.store(fault.name)
        group = store.groups.get(group_id)
        if group is None:
            raise Reply(404, "not_found", "Ad group not found.")
        if segments[2] == "pause":
            self.pause(group)
            return Response(store.body(group, version), status_code=200, media_type=JSON)
        await self.unpause(group, store, fault)
        if fault is Fault.NONE:
            return Response(store.body(group, version), status_code=200, media_type=JSON)
        body = fault.body(render(group, version), version, group)
        status, body, headers = fault.success(200, body, {})
        if isinstance(body, str):
            return Response(body, status_code=status, headers=headers, media_type="text/html")
        nan = any(isinstance(v, float) and not math.isfinite(v) for v in body.values())
        return json_response(status, body, headers, allow_nan=nan)

    def authorize(self, header: str | None, fault: Fault) -> None:
        scheme, _, credentials = (header or "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self.token.encode()
        )
        if fault.authorized(header, valid, self.token):
            return
        status = fault.auth_status()
        raise Reply(
            status,
            "unauthorized" if status == 401 else "forbidden",
            "A valid bearer token is required.",
            {"WWW-Authenticate": "Bearer"},
        )

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

    @staticmethod
    def pause(group: AdGroup) -> None:
        if group.status == "active":
            group.status = "paused"
            group.updated_at = datetime.now(UTC)

    async def unpause(self, group: AdGroup, store: Store, fault: Fault) -> None:
        if group.id in store.in_flight:
            fault.concurrent()
        store.in_flight.add(group.id)
        try:
            if group.status == "paused":
                await fault.slow_transition()  # widens the race window of a real transition only
            if group.status == "active":
                fault.already_active()
            if group.status == "paused" and fault.activates():
                group.status = "active"
                group.updated_at = datetime.now(UTC)
        finally:
            store.in_flight.discard(group.id)


def make_app(token: str, seed: int = 0) -> MockApi:
    return MockApi(token, seed)
