"""Paths and headers of the endpoint under test, so tests spell requests the same way."""

from __future__ import annotations

from urllib.parse import quote

VERSION_HEADER = "Api-Version-Date"


def segment(group_id: str) -> str:
    """``group_id`` as exactly one path segment, whatever it holds: percent-encoded ('/', '?', '#',
    CR LF and all), and an id of dots only spelled with %2E, because every URL normaliser (httpx's
    included) resolves a literal '.' or '..' segment and the request would leave the endpoint."""
    encoded = quote(group_id, safe="")
    return encoded.replace(".", "%2E") if encoded and set(encoded) == {"."} else encoded


def unpause_path(group_id: str) -> str:
    return f"/ad_groups/{segment(group_id)}/unpause"


def pause_path(group_id: str) -> str:
    return f"/ad_groups/{segment(group_id)}/pause"


def version_header(version: str | None, name: str = VERSION_HEADER) -> dict[str, str]:
    """The Api-Version-Date header for ``version``; none at all for None (the default shape)."""
    return {} if version is None else {name: version}


def read_path(group_id: str) -> str:
    """GET /ad_groups/{id}: the API's read (known from its SDKs), used by the census only."""
    return f"/ad_groups/{segment(group_id)}"
