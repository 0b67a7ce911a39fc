"""The suite's pytest plugin, registered by the ``conformance`` pytest11 entry point (pyproject.toml).

Loaded by every pytest run in the environment, it adds the suite's options (so ``--help`` lists
them) and nothing else until a run collects the conformance suites (the ``conformance_suites``
ini directory, ``suites`` by default, or the packaged ones an installed run collects): only then does it register its parts, each one concern:

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

import pytest

from conformance.contract import data
from conformance.plugin import options


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def runs_the_suites(config: pytest.Config) -> bool:
    """Whether a path this run collects is a suites' directory (the rootdir's, or the packaged one an
    installed run collects wherever it starts), inside it or above it."""
    folders = {(config.rootpath / config.getini("conformance_suites")).resolve(), data.SUITES}
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if any(path == suites or suites in path.parents or path in suites.parents for suites in folders):
            return True
    return False


# the suites' own markers, registered by the plugin so a run outside this repository (no
# pyproject.toml of ours) accepts them under --strict-markers
MARKERS = (
    "rule(id): the catalogue rule (schemas/rules.yaml) a conformance test checks",
    "area(name): the allure feature (area) of a test, when not its first rule's area",
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
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
    from conformance.mock.listing import listing

    print(listing(config.getoption("list_faults"), config.getoption("list_profiles")))
    return 0
