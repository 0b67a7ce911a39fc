"""Standalone mock: ``python -m conformance.mock [--port N] [--token T] [--seed S] [--profile NAME]``."""

from __future__ import annotations

import argparse
import secrets
import signal
import threading

from conformance.contract import schemas
from conformance.mock import profiles
from conformance.mock.faults import CATALOGUE
from conformance.mock.server import MockServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unpause-mock", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--token", default=None, help="the bearer token to accept (default: a random one)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument(
        "--profile",
        default="default",
        choices=list(profiles.CATALOGUE),
        help="a correct variant: how the server reads what the docs leave open (default: default)",
    )
    args = parser.parse_args(argv)
    token = args.token or secrets.token_urlsafe(24)
    profile = profiles.CATALOGUE[args.profile]
    server = MockServer(token, args.seed, port=args.port, profile=profile).start()
    print(f"unpause mock listening on {server.url}")
    print(f"token: {token}")
    print(f"versions: {', '.join(schemas.versions())} (default {schemas.registry_data()['default']})")
    print("ad groups:")
    for group in server.api.dataset:
        print(f"  {group.id}  {group.status:<8} {group.scenario}")
    print(f"profile: {profile.name}: {profile.reading}")
    print(f"faults: {len(CATALOGUE)}, under {server.url}/__faults/<name>/ad_groups/<id>/unpause", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
