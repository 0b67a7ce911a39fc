"""The session: the target, its client (and the embedded mock), the census before the first
test and the restore after the last, the second target of a drift run, the fixtures the suites
use, and the property-based tests' runner."""

from __future__ import annotations

import contextvars
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import hypothesis
import pytest

from conformance import __version__
from conformance.adgroups import census, dry_run, state
from conformance.adgroups.identities import PEER, READ_ONLY, Identity, prove
from conformance.client.http import ApiClient
from conformance.client.redaction import Redactor
from conformance.contract import invariants, rules
from conformance.judge import coverage, drift, waivers
from conformance.judge.checks import CURRENT_TEST, Verdicts
from conformance.judge.notes import NoteKind
from conformance.plugin import options
from conformance.plugin.clients import (
    attach_mirror,
    detach_mirror,
    make_client,
    make_compare_client,
    preflight,
    reachable,
)
from conformance.plugin.failures import rule_ids_of
from conformance.plugin.groups import leave_out, restore_groups, take_census
from conformance.plugin.keys import (
    AHEAD,
    BEFORE,
    CENSUS_FACTS,
    CLIENT,
    COMPARE_BEFORE,
    COMPARE_CLIENT,
    COVERAGE,
    MIRROR,
    MOCK,
    PAUSE_FILE,
    SEED,
    STARTED,
    STARTED_AT,
    TARGET,
    VERDICTS,
    WAIVERS,
)
from conformance.plugin.reporting import say
from conformance.plugin.target import Target, neighbours, resolve, shown_url, to_watch
from conformance.plugin.titles import label
from conformance.plugin.xdist import is_worker, refuse_unsafe_distribution, shared_input, worker_count

TOKEN_VARIABLES = (
    "CONFORMANCE_API_TOKEN",
    "CONFORMANCE_COMPARE_API_TOKEN",
    "CONFORMANCE_PEER_API_TOKEN",
    "CONFORMANCE_READ_ONLY_API_TOKEN",
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pick and print a seed before hypothesis's own plugin reads the option, so every run can be replayed
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = random.SystemRandom().randrange(2**32)
    config.stash[SEED] = int(config.getoption("hypothesis_seed"))
    config.stash[COVERAGE] = coverage.Recorder()
    if config.getoption("hypothesis_profile", None) is None:
        config.option.hypothesis_profile = options.default_profile()
        hypothesis.settings.load_profile(config.option.hypothesis_profile)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # pytest-base-url has read --base-url/PYTEST_BASE_URL/ini at configure; raises before any
    # request. First, so that against a remote target the census is taken before xdist starts workers.
    config = session.config
    target = resolve(config)
    if not target.embedded and worker_count(config) > 1:  # the controller's stays whole
        statuses = (shared_input(config, "conformance_census") or {}).get("statuses", {})
        target = target.split_for_workers(worker_count(config), census.unmovable(statuses))
    if target.embedded and target.restore and not target.dry_run:
        from conformance.mock.dataset import build_dataset
        from conformance.mock.profiles import CATALOGUE as PROFILES

        # the embedded mock's statuses are its dataset's (its census runs later, in the api fixture)
        groups = build_dataset(target.mock_seed)
        dataset = {group.id: group.status for group in groups}
        campaigns = {group.id: group.ad_campaign_id for group in groups}
        readable = set(dataset) if PROFILES[target.mock_profile].read_endpoint else set()
        watched = to_watch(target.ad_group_ids, dataset, readable, campaigns)
        target = target.watching(watched, neighbours(target.ad_group_ids, watched, campaigns))
    config.stash[TARGET] = target
    shared = shared_input(config, "conformance_census") or {}
    if shared.get("left_out"):  # the controller's census could not know them, and sent them nothing
        leave_out(config, shared["left_out"])
    if shared.get("watched"):  # the controller set them apart: no worker's test sends them anything
        config.stash[TARGET] = config.stash[TARGET].watching(shared["watched"], shared.get("neighbours", []))
    refuse_unsafe_distribution(config)
    config.stash[STARTED] = time.monotonic()
    config.stash[STARTED_AT] = datetime.now(UTC)
    # a remote target's token is the user's, in CONFORMANCE_API_TOKEN (or given as --api-token)
    named = zip(
        (target.token, target.compare_token, target.peer_token, target.read_only_token),
        TOKEN_VARIABLES,
        strict=True,
    )
    variables = {} if target.embedded else {secret: name for secret, name in named if secret}
    config.stash[VERDICTS] = Verdicts(target.strict, Redactor(target.secrets, variables))
    path = config.getoption("waivers")
    try:
        config.stash[WAIVERS] = waivers.load(Path(path)) if path else []
    except waivers.WaiverError as error:
        raise pytest.UsageError(str(error)) from None
    # One lifecycle whatever the target: the process that owns it learns each group's status before
    # any test and restores it after the last (pytest_sessionfinish). A remote target is shared by
    # every worker: the controller (or the only process) owns it; an unreachable one is left to the
    # api fixture, which says so once. The embedded mock is each test-running process's own.
    if target.dry_run:
        return  # not a request: the plan is printed after collection (dry_run_plan)
    if target.embedded and owns_the_target(config):
        client = start_embedded_mock(config, target)
        if target.restore:
            take_census(config, client)
    elif owns_the_target(config) and target.restore and reachable(target.base_url, target.timeout) is None:
        client = config.stash[CLIENT] = make_client(target, target.base_url, config.stash[VERDICTS], config)
        take_census(config, client)
    # the second target of a drift run is always shared: its census and restore are the controller's
    compare = target.compare_base_url
    if compare and not is_worker(config) and reachable(compare, target.timeout) is None:
        compare_client = config.stash[COMPARE_CLIENT] = make_compare_client(config)
        if target.restore:
            take_census(
                config, compare_client, target.compare_ad_group_ids, COMPARE_BEFORE, "compare target "
            )


def about(item: pytest.Item) -> contextvars.Token | None:
    """Tells the mirror which rule the running test is about (drift is filed under it)."""
    ids = rule_ids_of(item)
    return drift.ABOUT.set(ids[0]) if item.config.stash.get(MIRROR, None) is not None and ids else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.stash.get(TARGET, None)
    where = "embedded mock" if target is None or target.embedded else target.base_url
    if target is not None and target.embedded and target.mock_profile != "default":
        where += f", profile {target.mock_profile}"
    if target is not None and target.mock_fault:
        where += f" with fault {target.mock_fault}"
    if target is not None and target.compare_base_url:
        where += f"; every request also sent to {shown_url(target.compare_base_url)} (drift)"
    return [
        f"conformance {__version__}: target {where}; versions {', '.join(target.versions) if target else '-'}",
        f"hypothesis profile {config.getoption('hypothesis_profile')}, seed {config.stash[SEED]} "
        f"(replay with --hypothesis-seed={config.stash[SEED]})",
        f"concurrency {target.concurrency}; shrinking capped at {target.shrink_time:g} s of new requests "
        "after a property test's first failure"
        if target
        else "concurrency -",
    ]


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return pytestconfig.stash[TARGET]


@pytest.fixture(scope="session")
def verdicts(pytestconfig: pytest.Config) -> Verdicts:
    return pytestconfig.stash[VERDICTS]


def owns_the_target(config: pytest.Config) -> bool:
    """Whether this process takes the census and restores: for a remote target the controller (or
    the only process), for the embedded mock every process that runs tests (not a controller that
    hands them to xdist workers, each with a mock of its own)."""
    if config.stash[TARGET].embedded:
        return not config.pluginmanager.has_plugin("dsession")
    return not is_worker(config)


def start_embedded_mock(config: pytest.Config, target: Target) -> ApiClient:
    """The embedded mock (its fault or profile), and the session's client of it."""
    from conformance.mock.profiles import CATALOGUE as PROFILES
    from conformance.mock.server import MockServer

    mock = config.stash[MOCK] = MockServer(
        target.token,
        target.mock_seed,
        profile=PROFILES[target.mock_profile],
        peer_token=target.peer_token,
        read_only_token=target.read_only_token,
    ).start()
    base_url = mock.url + (f"/__faults/{target.mock_fault}" if target.mock_fault else "")
    client = config.stash[CLIENT] = make_client(target, base_url, config.stash[VERDICTS], config)
    return client


@pytest.fixture(scope="session")
def api(pytestconfig: pytest.Config, target: Target, verdicts: Verdicts):
    """The session's one keep-alive client, against the target or the embedded mock (both closed at
    pytest_sessionfinish, after the restore)."""
    client = pytestconfig.stash.get(CLIENT, None)  # the census's, when this process took it
    if client is None and target.embedded:  # --dry-run: started for the tests, never for the plan
        client = start_embedded_mock(pytestconfig, target)
    elif client is None:
        preflight(target.base_url, target.timeout)
        client = pytestconfig.stash[CLIENT] = make_client(target, target.base_url, verdicts, pytestconfig)
    attach_mirror(pytestconfig, client)
    return client


@pytest.fixture(scope="session")
def specimens(pytestconfig: pytest.Config, api: ApiClient, target: Target) -> state.Specimens:
    """The 200 unpause body of each (group, version), obtained once for every rule that judges it."""
    found = state.Specimens(api, target.use_pause, target.ad_group_ids, target.concurrency)
    for was in pytestconfig.stash.get(BEFORE, {}).values():
        if was.first is not None and was.first.exchange is not None:
            found.offer(was.first)
    return found


def census_facts(config: pytest.Config) -> dict:
    """What the census learned (this process's, or the controller's copy in an xdist worker)."""
    facts = config.stash.get(CENSUS_FACTS, None)
    if facts is None:
        shared = shared_input(config, "conformance_census")
        if shared is not None:
            check = shared["calibration"]
            facts = {**shared, "calibration": check and census.Calibration(*check)}
    return facts or {"reads": None, "calibration": None, "statuses": {}}


@pytest.fixture(scope="session")
def observer(pytestconfig: pytest.Config, api: ApiClient) -> census.Observer:
    """Whether a group the run paused is still paused, as the census found it can be seen."""
    facts = census_facts(pytestconfig)
    return census.Observer(api, facts["reads"], facts["calibration"])


@pytest.fixture(scope="session")
def identities(api: ApiClient, target: Target, verdicts: Verdicts) -> dict[str, Identity]:
    """The peer's token and the read-only token, each proved once (changing nothing) before use."""
    foreign = (target.foreign_ad_group_ids or [None])[0]
    if target.compare_base_url:  # every request is mirrored to a second target that has no such identity
        why = "a drift run sends every request to the second target too, which has no such token"
        found = {name: Identity(name, "", False, why) for name in (PEER, READ_ONLY)}
    else:
        found = {
            PEER: prove(api, PEER, target.peer_token, foreign),
            READ_ONLY: prove(api, READ_ONLY, target.read_only_token, target.ad_group_ids[0]),
        }
    for each in found.values():
        verdicts.note(
            NoteKind.IDENTITY,
            each.name,
            f"{each.name} token {'proved' if each.proven else 'NOT proved'}: {each.how}",
        )
    return found


@pytest.fixture(scope="session")
def status_before(pytestconfig: pytest.Config, api: ApiClient) -> dict[str, str | None]:
    """Each group's status before the run, as the census read it (or the user declared it)."""
    return {**census_facts(pytestconfig)["statuses"], **pytestconfig.stash[TARGET].declared}


@pytest.fixture(scope="session")
def tolerance(target: Target) -> invariants.Tolerance:
    return target.tolerance


@pytest.fixture(scope="session")
def seed(pytestconfig: pytest.Config) -> int:
    """The run's hypothesis seed, as printed in the header (--hypothesis-seed replays it)."""
    return pytestconfig.stash[SEED]


@pytest.fixture(scope="session")
def state_machine_sizes(pytestconfig: pytest.Config, target: Target) -> tuple[int, int]:
    """(sequences, steps per sequence) of the state machine in this run's profile; --max-examples
    sets the sequences."""
    profile = pytestconfig.getoption("hypothesis_profile") or "quick"
    sequences, steps = options.STATE_MACHINE_SIZES.get(profile, options.STATE_MACHINE_SIZES["quick"])
    return target.max_examples or sequences, steps


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``version``: each selected version; with ``rule_id``, each (version, body rule) pair."""
    if "version" not in metafunc.fixturenames:
        return
    versions = metafunc.config.stash[TARGET].versions
    if "rule_id" in metafunc.fixturenames:
        pairs = [(version, rule_id) for version in versions for rule_id in rules.body_rule_ids(version)]
        metafunc.parametrize(("version", "rule_id"), pairs, ids=[f"{v}-{r}" for v, r in pairs])
    else:
        metafunc.parametrize("version", versions)


@pytest.fixture(autouse=True)
def _conformance_test(request: pytest.FixtureRequest, api: ApiClient):
    """Each test starts a fresh exchange record (for its attachments) and gets its allure labels;
    what it tells the plugin is its own until it ends (then the session's: census, restore)."""
    api.begin()
    running = CURRENT_TEST.set(request.node.nodeid)
    label(request.node)
    filed = about(request.node)
    yield
    CURRENT_TEST.reset(running)
    if filed is not None:
        drift.ABOUT.reset(filed)


@pytest.hookimpl(trylast=True)  # after -k, -m and the rest have chosen the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    catalogue = rules.catalogue()
    for item in items:
        for rule_id in rule_ids_of(item):
            if rule_id not in catalogue:
                raise pytest.UsageError(
                    f"{item.nodeid} names rule {rule_id}, which is not in schemas/rules.yaml"
                )
    target = config.stash.get(TARGET, None)
    if target is not None and target.dry_run:
        files = {Path(str(item.fspath)).name for item in items}
        where = shown_url(target.base_url) if target.base_url else "the embedded mock"
        say(
            config,
            dry_run.plan(
                where,
                target.ad_group_ids,
                target.versions,
                files,
                target.declared,
                target.use_pause,
                target.restore,
                target.concurrency,
                target.foreign_ad_group_ids,
            ),
            red=False,
        )
        config.hook.pytest_deselected(items=list(items))
        items[:] = []


@pytest.hookimpl(tryfirst=True)  # before reporting's, which writes what the restore noted
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The restore, by the process that took the census (owns_the_target): the second target's, then
    the target's; then the clients are closed and the embedded mock stopped."""
    config = session.config
    if AHEAD in config.stash:
        config.stash[AHEAD].finish()  # no property case in flight while the groups are put back
    if not is_worker(config) and PAUSE_FILE in config.stash:
        shutil.rmtree(config.stash[PAUSE_FILE].parent, ignore_errors=True)
    client, target = config.stash.get(CLIENT, None), config.stash.get(TARGET, None)
    if client is not None:
        detach_mirror(config, client)
    compare_client = config.stash.get(COMPARE_CLIENT, None)
    if compare_client is not None and not is_worker(config):
        restore_groups(config, compare_client, COMPARE_BEFORE, "compare target ")
        compare_client.close()
    if client is not None and target is not None and owns_the_target(config):
        restore_groups(config, client)
    if client is not None:
        client.close()
    if MOCK in config.stash:
        config.stash[MOCK].stop()
