"""What the mock answers with, for the app and the faults alike (neither imports the other)."""

from __future__ import annotations

import json

from starlette.responses import Response

JSON = "application/json"


class Reply(Exception):
    """Raised to answer at once: status, error type and message (the SDKs' error envelope)."""

    def __init__(self, status: int, kind: str, message: str, headers: dict | None = None):
        self.status, self.kind, self.message, self.headers = status, kind, message, headers or {}


def json_response(status: int, body, headers: dict | None = None, *, allow_nan: bool = False) -> Response:
    payload = json.dumps(body, allow_nan=allow_nan, separators=(",", ":"))
    return Response(payload, status_code=status, headers=headers, media_type=JSON)


def error_body(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}
