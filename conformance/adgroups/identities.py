"""The run's other identities, each proved before a check relies on it: another account's token
(the peer's) and this account's token without ad_campaign:update (read-only). A token that cannot
be proved leaves its checks not exercised, with the reason, never failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.adgroups.census import lenient_body
from conformance.client.http import ApiClient, Exchange, TargetError
from conformance.contract.endpoints import read_path, unpause_path

PEER, READ_ONLY = "peer", "read-only"
# an id no account has: a request to it changes nothing, and a token the target accepts gets 404
# (or 403) for it where one it does not accept gets 401
NO_SUCH_GROUP = "adgrp_conformance_no_such_group"


@dataclass
class Identity:
    name: str
    token: str = field(repr=False)
    proven: bool
    how: str  # how it was proved, or why it could not be

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _accepted_by(exchange: Exchange, group_id: str) -> bool:
    body = lenient_body(exchange) if exchange.status == 200 else None
    return body is not None and body.get("id") == group_id


def prove(api: ApiClient, name: str, token: str, readable: str | None) -> Identity:
    """``token`` proved to be a token the target accepts: it reads ``readable`` (an ad group it may
    read: a foreign one for the peer, a configured one for the read-only token), or, where that
    read is not answered 200, its unpause of an id no account has is answered 404 or 403, not 401.
    Neither request changes anything."""
    if not token:
        option = "--peer-api-token" if name == PEER else "--read-only-api-token"
        return Identity(name, token, False, f"no {option} given")
    identity = Identity(name, token, False, "")
    try:
        if readable is not None:
            read = api.request("GET", read_path(readable), headers=identity.auth)
            if _accepted_by(read, readable):
                identity.proven, identity.how = True, f"it reads {readable} (GET answered 200)"
                return identity
        probe = api.post(unpause_path(NO_SUCH_GROUP), headers=identity.auth)
    except TargetError as error:
        identity.how = f"proving it: {error}"
        return identity
    if probe.status in (403, 404):
        identity.proven = True
        identity.how = (
            f"an unpause of an id no account has was answered {probe.status}, not 401: the target accepts it"
        )
    else:
        identity.how = (
            f"an unpause of an id no account has was answered {probe.status}: not a token the target accepts"
        )
    return identity
