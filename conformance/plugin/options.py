"""The plugin's options, hypothesis profiles and the state machine's sizes. Light to import:
``pytest --help`` and a run of anything but the suites load this module alone."""

from __future__ import annotations

import argparse
import os

import pytest

# hypothesis profiles: name -> (parent, settings); "quick" locally, "thorough" under CI=true
PROFILES = {
    "quick": (None, {"max_examples": 25}),
    # for mutation runs: the verdict matters, not the minimal example, so no shrinking
    "verdict": ("quick", {"max_examples": 10, "phases": ("explicit", "reuse", "generate")}),
    # for benchmarks: a fixed, larger amount of work without shrinking
    "benchmark": ("verdict", {"max_examples": 200}),
    "thorough": ("quick", {"max_examples": 300}),
}
# the state machine's sequences and steps per run: enough that pause, pause, unpause turns up in a quick run
STATE_MACHINE_SIZES = {"thorough": (40, 10), "quick": (20, 8), "verdict": (20, 8), "benchmark": (20, 8)}


def default_profile() -> str:
    return "thorough" if os.environ.get("CI") == "true" else "quick"


def register_profiles() -> None:
    """The suite's hypothesis profiles (imported here, when the suites run, not for --help)."""
    import hypothesis

    for name, (parent, values) in PROFILES.items():
        settings = dict(values)
        if "phases" in settings:
            settings["phases"] = [hypothesis.Phase[phase] for phase in settings["phases"]]
        if parent is None:
            settings |= {
                "deadline": None,
                "print_blob": True,
                "suppress_health_check": [
                    hypothesis.HealthCheck.too_slow,
                    hypothesis.HealthCheck.function_scoped_fixture,
                ],
            }
        parent_settings = hypothesis.settings.get_profile(parent) if parent else None
        hypothesis.settings.register_profile(name, parent=parent_settings, **settings)


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of cases")
    return number


def add_options(parser: pytest.Parser) -> None:
    """Every option of the suite: they are listed by --help whether or not the suites run."""
    group = parser.getgroup("conformance", "unpause conformance target")
    group.addoption(
        "--api-token",
        default=os.environ.get("CONFORMANCE_API_TOKEN"),
        help="bearer token for the target (env CONFORMANCE_API_TOKEN); never printed",
    )
    group.addoption(
        "--ad-group-id",
        action="append",
        default=None,
        help="an ad group the suite may unpause and pause, repeatable (env CONFORMANCE_AD_GROUP_IDS)",
    )
    group.addoption(
        "--peer-api-token",
        default=os.environ.get("CONFORMANCE_PEER_API_TOKEN"),
        help="a valid token of ANOTHER account (env CONFORMANCE_PEER_API_TOKEN): it must reach none of "
        "the ad groups; never printed",
    )
    group.addoption(
        "--read-only-api-token",
        default=os.environ.get("CONFORMANCE_READ_ONLY_API_TOKEN"),
        help="a token of this account without ad_campaign:update (env CONFORMANCE_READ_ONLY_API_TOKEN): "
        "it must pause and unpause nothing; never printed",
    )
    group.addoption(
        "--foreign-ad-group-id",
        action="append",
        default=None,
        help="an ad group of ANOTHER account (the peer's), repeatable (env CONFORMANCE_FOREIGN_AD_GROUP_IDS): "
        "the run's token must reach none; it is sent only requests that change nothing even if wrongly allowed",
    )
    group.addoption(
        "--ad-group-status",
        action="append",
        default=[],
        metavar="ID=STATUS",
        help="the status an --ad-group-id has before the run, as you know it (e.g. adgrp_1=paused), "
        "repeatable: the census reads nothing for it and the restore puts it back to that",
    )
    group.addoption(
        "--no-overlap",
        action="store_true",
        help="against --base-url in one process, run the property-based tests in their turn instead of "
        "beside the example tests (each half of the ad groups for one side, as under xdist)",
    )
    group.addoption(
        "--dry-run",
        action="store_true",
        default=False,
        help="print, per ad group, every state-changing request the run would send, and send no request",
    )
    group.addoption(
        "--api-version",
        action="append",
        default=None,
        help="restrict the run to this registered version, repeatable (default: all)",
    )
    group.addoption(
        "--use-pause",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="state tests may call POST /ad_groups/{id}/pause as set-up (default on)",
    )
    group.addoption(
        "--allow-host",
        action="append",
        default=[],
        help="allow state-changing requests to this non-loopback host, repeatable",
    )
    group.addoption("--request-timeout", type=float, default=10.0, help="seconds per request (default 10)")
    group.addoption(
        "--time-budget",
        type=float,
        default=600.0,
        help="seconds for the whole run's requests; past it every request fails at once (default 600)",
    )
    group.addoption(
        "--max-body-bytes",
        type=int,
        default=5_000_000,
        help="response bodies above this size are refused, not read into memory (default 5 MB)",
    )
    group.addoption("--rate-limit", type=float, default=0.0, help="requests per second, 0 for none (default)")
    group.addoption(
        "--ratio-tolerance",
        type=float,
        default=None,  # conformance.contract.invariants.Tolerance's
        help="absolute tolerance on ratios (default 0.00005: 4 decimal places)",
    )
    group.addoption(
        "--money-tolerance",
        type=float,
        default=None,
        help="absolute tolerance on money (default 0.005: cents)",
    )
    group.addoption(
        "--max-examples",
        type=_at_least_one,
        default=None,
        help="generated cases per property-based test (default: the hypothesis profile's, "
        "quick 25, thorough 300)",
    )
    group.addoption("--mock-seed", type=int, default=0, help="dataset seed of the embedded mock")
    group.addoption(
        "--waivers",
        default=os.environ.get("CONFORMANCE_WAIVERS"),
        metavar="FILE",
        help="accepted failures (YAML: rule, version, optional ad_group, reason, expires): a failure they "
        "cover is reported as waived; an expired waiver fails the run (env CONFORMANCE_WAIVERS)",
    )
    group.addoption(
        "--list-faults",
        action="store_true",
        help="print the mock's fault catalogue (name, what it breaks, the rules that catch it) and exit",
    )
    group.addoption(
        "--list-profiles",
        action="store_true",
        help="print the mock's correct variants (name, the reading of the docs it embodies) and exit",
    )
    group.addoption(
        "--rule",
        action="append",
        default=None,
        metavar="ID",
        help="run only the tests that judge this rule (repeatable; ids in schemas/rules.yaml)",
    )
    group.addoption(
        "--stop-when-broken",
        action="store_true",
        help="with --rule: stop once every rule given has been broken (failed, or a SHOULD finding)",
    )
    group.addoption(
        "--mock-fault",
        default=None,
        help="run against the embedded mock with this fault switched on (see conformance.mock.faults)",
    )
    group.addoption(
        "--concurrency",
        type=_at_least_one,
        default=None,
        help="requests in flight at once where they cannot interfere (default 8 against --base-url, "
        "1 against the embedded mock; 1 is strictly sequential)",
    )
    group.addoption(
        "--shrink-time",
        type=float,
        default=5.0,
        help="seconds of new requests a failing property-based test may spend shrinking (default 5)",
    )
    group.addoption(
        "--mock-profile",
        default="default",
        help="run against the embedded mock in this correct variant (see conformance.mock.profiles)",
    )
    group.addoption(
        "--restore",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="at the end, pause again every ad group the run found paused (default on)",
    )
    group.addoption(
        "--compare-base-url",
        default=os.environ.get("CONFORMANCE_COMPARE_BASE_URL"),
        help="a second target: every request is sent to it too, and where the answers differ is reported "
        "as drift (env CONFORMANCE_COMPARE_BASE_URL; the same guard as --base-url)",
    )
    group.addoption(
        "--compare-api-token",
        default=os.environ.get("CONFORMANCE_COMPARE_API_TOKEN"),
        help="bearer token for the second target (env CONFORMANCE_COMPARE_API_TOKEN); never printed",
    )
    group.addoption(
        "--compare-ad-group-id",
        action="append",
        default=None,
        help="the second target's ad group paired with each --ad-group-id, in the same order, repeatable "
        "(env CONFORMANCE_COMPARE_AD_GROUP_IDS; default: the same ids)",
    )
    parser.addoption(
        "--verdicts-json",
        default=None,
        help="write every test's outcome and the rules it found broken to this JSON file",
    )
    parser.addini(
        "conformance_suites",
        default="suites",
        help="the directory of the conformance suites, from the rootdir: the plugin acts only on a run of them",
    )
    parser.addini(
        "conformance_allowed_hosts",
        type="linelist",
        default=[],
        help="non-loopback hosts state-changing requests may go to",
    )
