"""The target's client and the second target's, the mirror between them, and whether a target
answers at all before the first test."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.adgroups import census
from conformance.client.http import ApiClient
from conformance.client.slots import SharedSlots
from conformance.judge import drift
from conformance.judge.checks import Verdicts
from conformance.plugin.keys import COMPARE_CLIENT, COVERAGE, MIRROR, TARGET, VERDICTS
from conformance.plugin.target import Target
from conformance.plugin.xdist import shared_input


def make_client(
    target: Target, base_url: str, verdicts: Verdicts, config: pytest.Config, token: str | None = None
) -> ApiClient:
    shared = shared_input(config, "conformance_pause_file")
    slots = shared_input(config, "conformance_slots" if token is None else "conformance_compare_slots")
    # against one shared target, N xdist workers each send at most 1/N of --rate-limit
    # (Target.split_for_workers), and share a 429's Retry-After through a file; each worker with
    # its own embedded mock has its own limits
    client = ApiClient(
        base_url,
        token=token or target.token,
        timeout=target.timeout,
        rate_limit=target.rate_limit,
        redactor=verdicts.redact,
        time_budget=target.time_budget,
        max_body=target.max_body,
        shared_pause=Path(shared) if shared and not target.embedded else None,
        slots=SharedSlots(Path(slots["target"]), slots["count"]) if slots and not target.embedded else None,
    )
    if token is None:  # the target's client: the coverage is of the target's bodies
        client.observers.append(config.stash[COVERAGE].observe)
    client.last_seen = census.LastSeen()  # what each group is now, for a restore that failed
    client.observers.append(client.last_seen.observe)
    return client


def make_compare_client(config: pytest.Config) -> ApiClient:
    target = config.stash[TARGET]
    return make_client(
        target, target.compare_base_url, config.stash[VERDICTS], config, token=target.compare_token
    )


def attach_mirror(config: pytest.Config, client: ApiClient) -> None:
    """From here on, every request of the target's client is sent to the second target too."""
    target = config.stash[TARGET]
    if not target.compare_base_url:
        return
    if COMPARE_CLIENT not in config.stash:
        preflight(target.compare_base_url, target.timeout, "compare target (--compare-base-url)")
        config.stash[COMPARE_CLIENT] = make_compare_client(config)
    pairing = dict(zip(target.ad_group_ids, target.compare_ad_group_ids, strict=True))
    client.mirror = config.stash[MIRROR] = drift.Mirror(
        config.stash[COMPARE_CLIENT], client.base_url, target.token, pairing
    )


def detach_mirror(config: pytest.Config, client: ApiClient) -> None:
    """Before the restore: each target's restore is its own (the second one's, from its census)."""
    if client.mirror is not None:
        client.mirror.pool.shutdown(wait=True)
        client.mirror = None


def reachable(base_url: str, timeout: float) -> OSError | None:
    """One TCP connection: None when it connects, else the error (an unreachable target)."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as error:
        return error
    return None


def preflight(base_url: str, timeout: float, what: str = "target") -> None:
    """One TCP connection before any test: an unreachable target is one message and one exit."""
    error = reachable(base_url, timeout)
    if error is not None:
        parts = urlsplit(base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        pytest.exit(
            f"{what} unreachable: cannot connect to {parts.hostname}:{port} ({error}); no test was run",
            returncode=pytest.ExitCode.TESTS_FAILED,
        )
