"""The suite's pytest plugin, registered by the ``conformance`` pytest11 entry point (pyproject.toml).

Loaded by every pytest run in the environment, it adds the suite's options (so ``--help`` lists
them) and nothing else until a run collects the conformance suites (the ``conformance_suites``
ini directory, ``suites`` by default): only then does it register its parts, each one concern:

- ``options``: every option, the hypothesis profiles, the state machine's sizes;
- ``session``: the target, its client and embedded mock, census and restore, the fixtures;
- ``properties``: the property-based tests' runner, and running them ahead of the example tests;
- ``xdist``: shards, the examples' worker, what the controller and workers hand each other;
- ``reporting``: redaction, failure texts, Allure, outcomes, ``verdicts.json``, the terminal;
- ``summary``: what the run was, for every artifact, and its verdict line, last in the terminal;
- ``titles``: how a test reads in Allure (tree, title, description, a failure's story);
- ``selection``: ``--rule ID``, only the tests that judge those rules.

``-p no:conformance`` switches it off.
"""

from __future__ import annotations

import re

import pytest

from conformance.plugin import options


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def runs_the_suites(config: pytest.Config) -> bool:
    """Whether a path this run collects is the suites' directory, inside it or above it."""
    suites = (config.rootpath / config.getini("conformance_suites")).resolve()
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == suites or suites in path.parents or path in suites.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not runs_the_suites(config):
        return
    options.register_profiles()
    from conformance.plugin import properties, reporting, selection, session, summary, titles, xdist

    # registered now, their own pytest_configure runs at once (a historic hook), before hypothesis's
    for name, part in (
        ("reporting", reporting),
        ("summary", summary),
        ("titles", titles),
        ("xdist", xdist),
        ("session", session),
        ("properties", properties),
        ("selection", selection),
    ):
        config.pluginmanager.register(part, f"conformance.{name}")


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--list-faults and --list-profiles: the names --mock-fault and --mock-profile take, each with
    one line of what it is; then exit, as --fixtures does."""
    if not (config.getoption("list_faults") or config.getoption("list_profiles")):
        return None
    lines = []
    if config.getoption("list_faults"):
        from conformance.mock.faults import CATALOGUE

        lines.append(f"faults (--mock-fault NAME): {len(CATALOGUE)}")
        width = max(map(len, CATALOGUE))
        lines += [f"  {f.name:<{width}}  {f.description} [{', '.join(f.rules)}]" for f in CATALOGUE.values()]
    if config.getoption("list_profiles"):
        from conformance.mock.profiles import CATALOGUE as PROFILES

        lines.append(f"correct variants (--mock-profile NAME): {len(PROFILES)}")
        width = max(map(len, PROFILES))
        lines += [f"  {p.name:<{width}}  {first_sentence(p.reading)}" for p in PROFILES.values()]
    print("\n".join(lines))
    return 0


def first_sentence(text: str) -> str:
    """A description's first sentence (up to a full stop or colon), on one line."""
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.:])(?:\s|$)", flat)
    return match.group(1).rstrip(":") if match else flat
