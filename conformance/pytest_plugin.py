"""The suite's pytest plugin: target options, the session's client and mock, hypothesis
profiles, allure labels (version → area → rule), attachments and the findings summary."""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import allure
import hypothesis
import pytest

from conformance import __version__, census, coverage, drift, engines, rules, state
from conformance.checks import JUDGED_ON_EVERY_RESPONSE, RuleFailure, Verdicts
from conformance.http import ApiClient, Redactor, TargetError, TargetStopped
from conformance.report import note_sections
from conformance.target import Target, add_options, resolve, shown_url

TARGET = pytest.StashKey[Target]()
VERDICTS = pytest.StashKey[Verdicts]()
SEED = pytest.StashKey[int]()
CLIENT = pytest.StashKey[ApiClient]()
STARTED = pytest.StashKey[float]()
BEFORE = pytest.StashKey[dict]()  # group id -> state.Before, in the process that took the census
# what the census learned of the target, for the side-effect checks' observer (workers get a copy)
CENSUS_FACTS = pytest.StashKey[
    dict
]()  # {"reads": bool | None, "calibration": Calibration | None, "statuses"}
COVERAGE = pytest.StashKey[coverage.Recorder]()  # this process's 200 bodies, by documented branch
RUN_COVERAGE = pytest.StashKey[dict]()  # the whole run's, merged where the files are written
COMPARE_CLIENT = pytest.StashKey[ApiClient]()  # the second target's (--compare-base-url)
COMPARE_BEFORE = pytest.StashKey[dict]()  # its groups' status before the run
MIRROR = pytest.StashKey[drift.Mirror]()  # this process's copies of the target's requests
RUN_DRIFT = pytest.StashKey[dict]()

hypothesis.settings.register_profile(
    "quick",
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.function_scoped_fixture],
)
# for mutation runs: the verdict matters, not the minimal example, so no shrinking
hypothesis.settings.register_profile(
    "verdict",
    parent=hypothesis.settings.get_profile("quick"),
    max_examples=10,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate],
)
# for benchmarks: a fixed, larger amount of work without shrinking
hypothesis.settings.register_profile(
    "benchmark",
    parent=hypothesis.settings.get_profile("verdict"),
    max_examples=200,
)
hypothesis.settings.register_profile(
    "thorough",
    parent=hypothesis.settings.get_profile("quick"),
    max_examples=300,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.addoption(
        "--verdicts-json",
        default=None,
        help="write every test's outcome and the rules it found broken to this JSON file",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pick and print a seed before hypothesis's own plugin reads the option, so every run can be replayed
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = random.SystemRandom().randrange(2**32)
    config.stash[SEED] = int(config.getoption("hypothesis_seed"))
    config.pluginmanager.register(OutcomeRecorder(config), "conformance-outcomes")
    config.stash[COVERAGE] = coverage.Recorder()
    if config.getoption("hypothesis_profile", None) is None:
        profile = "thorough" if os.environ.get("CI") == "true" else "quick"
        config.option.hypothesis_profile = profile
        hypothesis.settings.load_profile(profile)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # pytest-base-url has read --base-url/PYTEST_BASE_URL/ini at configure; raises before any
    # request. First, so that against a remote target the census is taken before xdist starts workers.
    config = session.config
    target = resolve(config)
    if not target.embedded and worker_count(config) > 1:
        target = target.split_for_workers(worker_count(config))  # the controller's stays whole
    elif not target.embedded and not hasattr(config, "workerinput"):
        refuse_unsafe_distribution(config, target)
    config.stash[TARGET] = target
    config.stash[STARTED] = time.monotonic()
    config.stash[VERDICTS] = Verdicts(target.strict, Redactor(target.secrets))
    # one target shared by every worker: the controller (or the only process) learns each group's
    # status before any test and restores it after the last (pytest_sessionfinish); an unreachable
    # target is left to the api fixture, which says so once
    if target.dry_run:
        return  # not a request: the plan is printed after collection (dry_run_plan)
    shared = not target.embedded and not hasattr(config, "workerinput")
    if shared and target.restore and reachable(target.base_url, target.timeout) is None:
        client = config.stash[CLIENT] = make_client(target, target.base_url, config.stash[VERDICTS], config)
        take_census(config, client)
    # the second target of a drift run is always shared: its census and restore are the controller's
    compare = target.compare_base_url
    if compare and not hasattr(config, "workerinput") and reachable(compare, target.timeout) is None:
        compare_client = config.stash[COMPARE_CLIENT] = make_compare_client(config)
        if target.restore:
            take_census(
                config, compare_client, target.compare_ad_group_ids, COMPARE_BEFORE, "compare target "
            )


def make_client(
    target: Target, base_url: str, verdicts: Verdicts, config: pytest.Config, token: str | None = None
) -> ApiClient:
    workerinput = getattr(config, "workerinput", None) or {}
    shared = workerinput.get("conformance_pause_file")
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


def about(item: pytest.Item) -> None:
    """Tells the mirror which rule the running test is about (drift is filed under it)."""
    mirror = item.config.stash.get(MIRROR, None)
    ids = rule_ids_of(item)
    if mirror is not None and ids:
        mirror.about = ids[0]


PAUSE_FILE = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, on the controller, per worker: the file through which workers share a Retry-After."""
    config = node.config
    if PAUSE_FILE not in config.stash:
        scratch = Path(tempfile.mkdtemp(prefix="conformance-"))
        config.stash[PAUSE_FILE] = scratch / "retry-after"
    node.workerinput["conformance_pause_file"] = str(config.stash[PAUSE_FILE])
    facts = config.stash.get(CENSUS_FACTS, None)
    if facts is not None:
        check = facts["calibration"]
        node.workerinput["conformance_census"] = {
            "reads": facts["reads"],
            "calibration": None if check is None else [check.trusted, check.how, check.offset],
            "statuses": facts["statuses"],
        }


def take_census(
    config: pytest.Config,
    client: ApiClient,
    group_ids: list[str] | None = None,
    key: pytest.StashKey[dict] = BEFORE,
    who: str = "",
) -> None:
    """Each group's status before the run, into ``key``; ``who`` names a second target in the notes.
    A status the census cannot know is said at once, before the first test."""
    target = config.stash[TARGET]
    declared = target.declared if not who else {}
    before, check = census.census(
        client, group_ids or target.ad_group_ids, target.concurrency, declared, target.use_pause
    )
    config.stash[key] = before
    if key is BEFORE:
        reads = True if any(was.read for was in before.values()) else None
        statuses = {was.group_id: was.status for was in before.values()}
        config.stash[CENSUS_FACTS] = {"reads": reads, "calibration": check, "statuses": statuses}
    verdicts = config.stash[VERDICTS]
    if check is not None:
        verdicts.note("census", who + "updated_at", f"{who}what updated_at tells: {check.how}")
    for was in before.values():
        verdicts.note(
            "census", who + was.group_id, f"{who}{was.status or 'unknown'} before the run ({was.how})"
        )
    unknown = [was for was in before.values() if was.status is None]
    if unknown:
        lines = [
            f"census: {who}status before the run UNKNOWN for {len(unknown)} ad group(s): none will be "
            "paused or unpaused at the end, and the run will fail (exit 6); declare a status you know "
            "with --ad-group-status ID=STATUS"
        ]
        if check is not None and not check.trusted:
            lines.append(f"  what updated_at tells: {check.how}")
        lines += [f"  {was.group_id}: {was.how}" for was in unknown]
        say(config, lines)


def say(config: pytest.Config, lines: list[str], red: bool = True) -> None:
    """Lines to the terminal now, past output capturing (a census can run inside a fixture)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line, red=red, bold=red)


def restore_groups(
    config: pytest.Config, client: ApiClient, key: pytest.StashKey[dict] = BEFORE, who: str = ""
) -> None:
    before = config.stash.get(key, None)
    if before is None:
        return
    del config.stash[key]
    verdicts = config.stash[VERDICTS]
    for restored in census.restore(client, before, config.stash[TARGET].concurrency, client.last_seen):
        kind = "restored" if restored.ok else "restore-failed"
        verdicts.note(kind, who + restored.group_id, who + restored.line())


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


@pytest.fixture(scope="session")
def api(pytestconfig: pytest.Config, target: Target, verdicts: Verdicts):
    """The session's one keep-alive client, against the target or the embedded mock."""
    if not target.embedded:
        preflight(target.base_url, target.timeout)
        client = pytestconfig.stash.get(CLIENT, None)  # the census's, when this process took it
        if client is None:
            client = pytestconfig.stash[CLIENT] = make_client(target, target.base_url, verdicts, pytestconfig)
        attach_mirror(pytestconfig, client)
        yield client  # closed at pytest_sessionfinish, after the restore
        return
    from conformance.mock.profiles import CATALOGUE as PROFILES
    from conformance.mock.server import MockServer

    mock = MockServer(target.token, target.mock_seed, profile=PROFILES[target.mock_profile]).start()
    base_url = mock.url + (f"/__faults/{target.mock_fault}" if target.mock_fault else "")
    client = pytestconfig.stash[CLIENT] = make_client(target, base_url, verdicts, pytestconfig)
    if target.restore:
        take_census(pytestconfig, client)  # each process has its own embedded mock
    attach_mirror(pytestconfig, client)
    try:
        yield client
    finally:
        detach_mirror(pytestconfig, client)
        if target.restore:
            restore_groups(pytestconfig, client)
        client.close()
        mock.stop()


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
        shared = (getattr(config, "workerinput", None) or {}).get("conformance_census")
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
def status_before(pytestconfig: pytest.Config, api: ApiClient) -> dict[str, str | None]:
    """Each group's status before the run, as the census read it (or the user declared it)."""
    return {**census_facts(pytestconfig)["statuses"], **pytestconfig.stash[TARGET].declared}


def refuse_unsafe_distribution(config: pytest.Config, target: Target) -> None:
    """xdist against one shared target is safe only as Target.split_for_workers arranges it:
    every example test on one worker (--dist loadgroup) and at least one group for each half."""
    workers = config.getoption("numprocesses", None) or 0
    if workers <= 1 or target.dry_run:
        return
    if config.getoption("dist", "no") != "loadgroup":
        raise pytest.UsageError(
            f"-n {workers} against --base-url needs --dist loadgroup: the example tests pause ad groups "
            "of the shared target and must run on one worker, in order"
        )
    if len(target.ad_group_ids) < 2:
        raise pytest.UsageError(
            f"-n {workers} against --base-url needs at least two --ad-group-id: the example tests "
            "pause one half of them, the property-based tests on every worker unpause the other"
        )


def worker_count(config: pytest.Config) -> int:
    """xdist workers in this run, 1 without xdist (every worker collects the same tests). From
    the worker's own config, not the environment: a suite run started by a test that itself runs
    under xdist inherits PYTEST_XDIST_WORKER_COUNT without being a worker."""
    workerinput = getattr(config, "workerinput", None)
    return int(workerinput["workercount"]) if workerinput else 1


def process_name(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    count = worker_count(metafunc.config)
    if "run_property" in metafunc.fixturenames and count > 1:
        shards = [(index, count) for index in range(count)]
        metafunc.parametrize("property_shard", shards, ids=[f"shard{i + 1}of{count}" for i, _ in shards])


@pytest.fixture
def property_shard() -> tuple[int, int]:
    """(index, count): the part of a property-based test's cases this item runs; (0, 1) is all."""
    return (0, 1)


@pytest.fixture
def run_property(
    pytestconfig: pytest.Config, target: Target, verdicts: Verdicts, property_shard: tuple[int, int]
):
    """``run_property(body, **strategies)``: runs ``body`` under ``@given(**strategies)`` with the
    run's number of cases (--max-examples, else the profile's), with the suite's bounds:

    - Shards: under xdist (-n N) each property test is N items; within an item, ``--concurrency``
      threads each run their own hypothesis engine (thread-safe since hypothesis 6.136; the rest is
      engines.prepare's) over a share of the cases, from the printed seed + the shard's index.
    - Each distinct input is sent once, shrinking is capped, a target error stops the test at once
      (engines.Memory)."""

    def run(body, **strategies) -> None:
        index, count = property_shard
        total = target.max_examples or hypothesis.settings.default.max_examples
        mine = max(1, math.ceil(total / count))
        threads = max(1, min(target.concurrency, mine))
        memory = engines.Memory(target.shrink_time)

        def guarded():
            # a function per shard: hypothesis keeps state on the test function it is given
            def guarded_body(**kwargs):
                memory.run(repr(sorted(kwargs.items())), body, kwargs)

            return guarded_body

        def shard(number: int) -> None:
            test = hypothesis.given(**strategies)(guarded())
            cases = mine // threads + (1 if number < mine % threads else 0)
            test = hypothesis.settings(max_examples=max(1, cases))(test)
            if count > 1 or threads > 1:
                test = hypothesis.seed(pytestconfig.stash[SEED] + index * threads + number)(test)
            test()

        shown: dict[int, object] = {}
        _, chosen = engines.fan_out(
            shard,
            range(threads),
            threads,
            after=lambda number: shown.__setitem__(number, verdicts.take_shown()),
        )
        if chosen is not None:
            number, error = chosen
            verdicts.local.shown = shown.get(number)
            raise engines.verdict_first(error)

    return run


@pytest.fixture(scope="session")
def tolerance(target: Target) -> rules.Tolerance:
    return target.tolerance


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


def rule_ids_of(item: pytest.Item) -> list[str]:
    ids = [rule for marker in item.iter_markers("rule") for rule in marker.args]
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "rule_id" in callspec.params:
        ids.append(callspec.params["rule_id"])
    return ids


def version_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("version") if callspec is not None else None


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the xdist_group marks added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    catalogue = rules.catalogue()
    for item in items:
        for rule_id in rule_ids_of(item):
            if rule_id not in catalogue:
                raise pytest.UsageError(
                    f"{item.nodeid} names rule {rule_id}, which is not in schemas/rules.yaml"
                )
        if worker_count(config) > 1 and "run_property" not in getattr(item, "fixturenames", ()):
            # under xdist (with --dist loadgroup) every test but the property shards runs on one
            # worker, in order: the other workers only ever unpause, which leaves an active ad group
            # as it is, so against a shared target no pause of a state test lands inside another
            # test's before/after comparison
            item.add_marker(pytest.mark.xdist_group("examples"))
    target = config.stash.get(TARGET, None)
    if target is not None and target.dry_run:
        files = {Path(str(item.fspath)).name for item in items}
        where = shown_url(target.base_url) if target.base_url else "the embedded mock"
        say(
            config,
            census.plan(
                where,
                target.ad_group_ids,
                target.versions,
                files,
                target.declared,
                target.use_pause,
                target.restore,
                target.concurrency,
            ),
            red=False,
        )
        config.hook.pytest_deselected(items=list(items))
        items[:] = []


OUTCOMES = pytest.StashKey[list]()
FINDINGS = pytest.StashKey[list]()
NOTES = pytest.StashKey[list]()  # census, not exercised, restored: {"kind", "group", "text"}


def redact_report(
    item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo, redact: Redactor
) -> None:
    """The last line of defence: no secret in tracebacks, falsifying examples or captured output.

    Runs innermost (trylast), so allure-pytest and junitxml read the redacted texts."""
    error = call.excinfo.value if call.excinfo is not None else None
    verdict = verdict_text(error) if error is not None else None
    if verdict is not None:
        report.longrepr = redact(verdict)  # the verdict alone: the traceback is the suite's, not news
    elif error is not None and report.failed and "api" in getattr(item, "fixturenames", ()):
        report.longrepr = (
            "SUITE ERROR: raised inside the conformance suite, not a verdict on the target "
            f"(exit {EXIT_SUITE_ERROR}); please report it with the traceback below\n\n{report.longrepr}"
        )
    if report.longrepr is not None:
        text = str(report.longrepr)
        if redact(text) != text:
            report.longrepr = redact(text)
    report.sections = [(name, redact(content)) for name, content in report.sections]
    if hasattr(report, "wasxfail"):
        report.wasxfail = redact(report.wasxfail)
    if error is not None and any(isinstance(arg, str) and redact(arg) != arg for arg in error.args):
        error.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in error.args)


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside an exception group (hypothesis reports several failures, or a flaky
    one, as a group), flattened; a plain exception is its own leaf."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


SUITE_ERROR = "suite-error"  # a test's outcome when the suite itself raised: no verdict on the target
# exit statuses of a run that is no verdict (pytest's own: 0 passed, 1 failed, 2 interrupted,
# 3 internal error, 4 usage error, 5 no tests)
EXIT_SUITE_ERROR = 3  # a test ended in an exception raised by the suite, not a rule or the target
EXIT_NOT_RESTORED = 6  # an ad group's status before the run is unknown, or its restore failed


def raised_by_suite(error: BaseException) -> bool:
    """Neither a rule verdict nor a target error (inside whatever groups hypothesis wraps them in)."""
    found = [leaf.error if isinstance(leaf, TargetStopped) else leaf for leaf in leaves(error)]
    return not found or not all(isinstance(leaf, (RuleFailure, TargetError)) for leaf in found)


def suite_error_line(error: BaseException) -> str:
    """The first line of each exception the suite raised (none for a verdict or a target error)."""
    if not raised_by_suite(error):
        return ""
    return "; ".join(
        dict.fromkeys(
            f"{type(leaf).__name__}: {str(leaf).strip().splitlines()[0] if str(leaf).strip() else ''}"
            for leaf in leaves(error)
        )
    )


def verdict_text(error: BaseException) -> str | None:
    """What a failure shows: each rule verdict (rule, level, quote, violations, curl, response, and
    hypothesis's falsifying example where there is one), and a target error as one line. None for
    anything else: an error in the suite itself keeps its traceback."""
    if raised_by_suite(error):
        return None
    found = [leaf.error if isinstance(leaf, TargetStopped) else leaf for leaf in leaves(error)]
    targets = [leaf for leaf in found if isinstance(leaf, TargetError)]
    if targets and len(targets) == len(found):
        return f"TargetError: {targets[0]}"
    parts = []
    for leaf in dict.fromkeys(found):
        if isinstance(leaf, TargetError):
            parts.append(f"TargetError: {leaf}")
            continue
        notes = [note for note in getattr(leaf, "__notes__", []) if note.startswith("Falsifying")]
        parts.append("\n".join([str(leaf), *notes]))
    return "\n\n".join(parts)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Innermost: redacts before allure-pytest and junitxml read the report, attaches exchanges."""
    report = yield
    if VERDICTS in item.config.stash:
        redact_report(item, report, call, item.config.stash[VERDICTS].redact)
    client, shown = item.config.stash.get(CLIENT, None), None
    if report.when == "call" and VERDICTS in item.config.stash:
        shown = item.config.stash[VERDICTS].take_shown()
    if report.when == "call" and client is not None and (report.failed or hasattr(report, "wasxfail")):
        redact = item.config.stash[VERDICTS].redact
        exchanges = client.exchanges[-6:]
        if shown is not None and shown not in exchanges:
            exchanges = [shown, *exchanges[-5:]]  # a body obtained once, by an earlier test
        for number, exchange in enumerate(exchanges, 1):
            allure.attach(
                exchange.curl(redact), name=f"{number}. curl", attachment_type=allure.attachment_type.TEXT
            )
            allure.attach(
                exchange.describe_request(redact),
                name=f"{number}. request",
                attachment_type=allure.attachment_type.TEXT,
            )
            allure.attach(
                exchange.describe_response(redact),
                name=f"{number}. response",
                attachment_type=allure.attachment_type.TEXT,
            )
    return report


class OutcomeRecorder:
    """Outermost makereport: sees the final outcome (after xfail handling) and puts it, with the
    SHOULD findings made meanwhile, on the report; logreport collects them. Reports travel from
    xdist workers to the controller, so the outcomes and findings of every worker are gathered
    where the files are written. A class, because a module defines a hook only once."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.findings_reported = 0
        self.notes_reported = 0
        self.requests_by_process: dict[str, dict[str, int]] = {}  # cumulative counts by kind
        self.coverage_by_process: dict[str, dict] = {}  # cumulative coverage snapshots
        self.drift_by_process: dict[str, dict] = {}  # cumulative drift snapshots

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        verdicts = item.config.stash.get(VERDICTS, None)
        if hasattr(report, "wasxfail") and verdicts is not None:
            report.wasxfail = verdicts.redact(report.wasxfail)
        client = item.config.stash.get(CLIENT, None)
        report.conformance_requests = [process_name(item.config), counts_of(client)]
        if COVERAGE in item.config.stash:
            report.conformance_coverage = [process_name(item.config), item.config.stash[COVERAGE].snapshot()]
        if MIRROR in item.config.stash:
            report.conformance_drift = [process_name(item.config), item.config.stash[MIRROR].snapshot()]
        if verdicts is not None:
            report.conformance_findings = [f.__dict__ for f in verdicts.findings[self.findings_reported :]]
            self.findings_reported = len(verdicts.findings)
            report.conformance_notes = verdicts.notes[self.notes_reported :]
            self.notes_reported = len(verdicts.notes)
        if report.when == "call" or report.failed or report.skipped:
            # a conformance test (the suites' tests all use the target's client), not a self-test
            conformance_test = call.excinfo is not None and "api" in getattr(item, "fixturenames", ())
            broken = []
            if call.excinfo is not None and any(
                isinstance(leaf, RuleFailure) for leaf in leaves(call.excinfo.value)
            ):
                # hypothesis may group several failures (distinct bugs, or a flaky one): every rule of each
                broken = sorted(
                    {
                        v.rule
                        for leaf in leaves(call.excinfo.value)
                        if isinstance(leaf, RuleFailure)
                        for v in leaf.violations
                    }
                )
            elif hasattr(report, "wasxfail"):
                broken = [word for word in report.wasxfail.split() if word.rstrip(",") in rules.catalogue()]
                broken = [word.rstrip(",") for word in broken]
            report.conformance_outcome = {
                "test": item.nodeid,
                "when": report.when,
                "outcome": "xfailed"
                if hasattr(report, "wasxfail")
                else SUITE_ERROR
                if report.failed and conformance_test and raised_by_suite(call.excinfo.value)
                else report.outcome,
                "rules": broken,
                "error": suite_error_line(call.excinfo.value) if conformance_test else "",
                "version": version_of(item),
                "requests_so_far": client.count if client else 0,
                "seconds_so_far": round(time.monotonic() - item.config.stash[STARTED], 3),
                "process": process_name(item.config),  # "main", or the xdist worker (gw0, gw1…)
                "start": report.start,  # epoch seconds: comparable across xdist workers
                "stop": report.stop,
                "declared": rule_ids_of(item)
                + (list(JUDGED_ON_EVERY_RESPONSE) if "api" in getattr(item, "fixturenames", ()) else []),
            }
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        stash = self.config.stash
        if getattr(report, "conformance_outcome", None):
            stash.setdefault(OUTCOMES, []).append(report.conformance_outcome)
        stash.setdefault(FINDINGS, []).extend(getattr(report, "conformance_findings", []))
        stash.setdefault(NOTES, []).extend(getattr(report, "conformance_notes", []))
        process, counts = getattr(report, "conformance_requests", ("main", {}))
        if sum(counts.values()) >= sum(self.requests_by_process.get(process, {}).values()):
            self.requests_by_process[process] = counts
        process, snapshot = getattr(report, "conformance_coverage", ("main", {}))
        seen = sum(self.coverage_by_process.get(process, {}).get("bodies", {}).values())
        if snapshot and sum(snapshot["bodies"].values()) >= seen:
            self.coverage_by_process[process] = snapshot
        process, snapshot = getattr(report, "conformance_drift", ("main", {}))
        if snapshot and snapshot["mirrored"] >= self.drift_by_process.get(process, {}).get("mirrored", 0):
            self.drift_by_process[process] = snapshot

    @property
    def run_coverage(self) -> dict:
        return coverage.merge(list(self.coverage_by_process.values()))

    @property
    def requests_by_kind(self) -> dict[str, int]:
        total = {"unpause": 0, "pause": 0, "read": 0, "other": 0}
        for counts in self.requests_by_process.values():
            for kind, number in counts.items():
                total[kind] = total.get(kind, 0) + number
        return total

    @property
    def requests(self) -> int:
        return sum(n for kind, n in self.requests_by_kind.items() if kind != SIDE_EFFECT)


SIDE_EFFECT = "side-effect checks"  # counted among the kinds above too: not a kind of its own


def counts_of(client: ApiClient | None) -> dict[str, int]:
    if client is None:
        return {}
    return {**client.counts, SIDE_EFFECT: client.side_effect_requests}


def label(item: pytest.Item) -> None:
    """Allure grouping: epic = API version, feature = area, story = rule."""
    catalogue = rules.catalogue()
    ids = rule_ids_of(item)
    version = version_of(item) or "all versions"
    allure.dynamic.epic(f"API {version}")
    # the first rule a test names is what it is about; the others are judged along the way
    area = item.get_closest_marker("area")
    allure.dynamic.feature(area.args[0] if area else catalogue[ids[0]].area if ids else "fuzz")
    # one story per test, so every test is counted once in the tree; all its rules are tags
    if ids:
        allure.dynamic.story(ids[0])
    allure.dynamic.tag(*dict.fromkeys([*ids, *(catalogue[rule_id].level for rule_id in ids)]))
    allure.dynamic.description(
        "\n\n".join(
            f"**{rule.level} {rule.id}**: {rule.text}\n\n> {rule.quote}\n\n({rule.source})"
            for rule in (catalogue[rule_id] for rule_id in ids)
        )
    )
    # the pages report.py writes beside index.html: which documented cases a body rule was judged
    # on, and what the version a versioning rule pins changed
    if any(rule_id.startswith(("SCHEMA-", "INV-")) for rule_id in ids):
        allure.dynamic.link("response-coverage.html", name="Response coverage: the branches the bodies hit")
    if any(rule_id.startswith("VER-") for rule_id in ids):
        allure.dynamic.link("version-changelog.html", name="Version changelog")


def git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).parent,
        )
    except OSError:
        return "unknown"
    return completed.stdout.strip() or "unknown"


def write_allure_context(config: pytest.Config, directory: Path) -> None:
    """environment.properties and executor.json for the Allure report; never a secret."""
    target = config.stash[TARGET]
    where = "embedded mock" if target.embedded else target.base_url
    if target.embedded and target.mock_profile != "default":
        where += f" (profile {target.mock_profile})"
    if target.mock_fault:
        where += f" (fault {target.mock_fault})"
    environment = {
        "target": where,
        "versions": ", ".join(target.versions),
        "suite": f"unpause-conformance {__version__}",
        "hypothesis.profile": config.getoption("hypothesis_profile"),
        "hypothesis.seed": str(config.stash[SEED]),
        "git.commit": git_commit(),
        "matrix": "conformance-matrix.html (beside index.html)",
        "response.coverage": "response-coverage.html (beside index.html)",
        "version.changelog": "version-changelog.html (beside index.html)",
        "drift": "drift.html (beside index.html)",
    }
    redact = config.stash[VERDICTS].redact
    lines = [f"{key}={redact(value)}" for key, value in environment.items()]
    (directory / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        repository, run_id = os.environ.get("GITHUB_REPOSITORY", ""), os.environ.get("GITHUB_RUN_ID", "")
        executor = {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": f"{os.environ.get('GITHUB_WORKFLOW', '')} #{os.environ.get('GITHUB_RUN_NUMBER', '')}",
            "buildUrl": f"{server}/{repository}/actions/runs/{run_id}",
            "reportName": "unpause conformance",
        }
        (directory / "executor.json").write_text(redact(json.dumps(executor)), encoding="utf-8")


def final_exit_status(session: pytest.Session, exitstatus: int) -> int:
    """A run that passed or failed on the rules is no verdict when an ad group was not left as
    found (EXIT_NOT_RESTORED) or the suite itself raised (EXIT_SUITE_ERROR); a dry run sent nothing."""
    config = session.config
    target = config.stash.get(TARGET, None)
    if target is not None and target.dry_run and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        exitstatus = pytest.ExitCode.OK
    elif exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        if any(note["kind"] == "restore-failed" for note in config.stash.get(NOTES, [])):
            exitstatus = EXIT_NOT_RESTORED
        elif any(o["outcome"] == SUITE_ERROR for o in config.stash.get(OUTCOMES, [])):
            exitstatus = EXIT_SUITE_ERROR
    session.exitstatus = exitstatus
    return int(exitstatus)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return  # an xdist worker: its outcomes reached the controller, which writes the files
    client = config.stash.get(CLIENT, None)
    target = config.stash.get(TARGET, None)
    if PAUSE_FILE in config.stash:
        shutil.rmtree(config.stash[PAUSE_FILE].parent, ignore_errors=True)
    recorder = config.pluginmanager.get_plugin("conformance-outcomes")
    if client is not None:
        detach_mirror(config, client)
    compare_client = config.stash.get(COMPARE_CLIENT, None)
    if compare_client is not None:
        restore_groups(config, compare_client, COMPARE_BEFORE, "compare target ")
        compare_client.close()
    if recorder is not None and MIRROR in config.stash:
        recorder.drift_by_process[process_name(config)] = config.stash[MIRROR].snapshot()
    if recorder is not None and target is not None and target.compare_base_url:
        config.stash[RUN_DRIFT] = drift.merge(list(recorder.drift_by_process.values()))
    if client is not None and target is not None and not target.embedded:
        restore_groups(config, client)  # the census was taken here, at pytest_sessionstart
        client.close()
        if recorder is not None:  # this process's own requests (census, restore, and its tests' if any)
            recorder.requests_by_process[process_name(config)] = counts_of(client)
    if recorder is not None and COVERAGE in config.stash:  # this process's bodies, the restore's too
        recorder.coverage_by_process[process_name(config)] = config.stash[COVERAGE].snapshot()
        config.stash[RUN_COVERAGE] = recorder.run_coverage
    verdicts = config.stash.get(VERDICTS, None)
    if verdicts is not None and recorder is not None:
        # notes made outside any test (the controller's census, this restore) reach no report
        config.stash.setdefault(NOTES, []).extend(verdicts.notes[recorder.notes_reported :])
        recorder.notes_reported = len(verdicts.notes)
    exitstatus = final_exit_status(session, exitstatus)
    alluredir = config.getoption("allure_report_dir", None)
    if alluredir and TARGET in config.stash:
        write_allure_context(config, Path(alluredir))
    path = config.getoption("verdicts_json")
    if path:
        recorder = config.pluginmanager.get_plugin("conformance-outcomes")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "exitstatus": int(exitstatus),
                    "outcomes": config.stash.get(OUTCOMES, []),
                    "findings": config.stash.get(FINDINGS, []),
                    "notes": config.stash.get(NOTES, []),
                    "requests": recorder.requests if recorder else 0,
                    "requests_by_kind": recorder.requests_by_kind if recorder else {},
                    "coverage": config.stash.get(RUN_COVERAGE, {}),
                    "compare": shown_url(target.compare_base_url)
                    if target and target.compare_base_url
                    else None,
                    "drift": config.stash.get(RUN_DRIFT, None),
                },
                handle,
                indent=1,
            )


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    recorder = config.pluginmanager.get_plugin("conformance-outcomes")
    if recorder is not None and recorder.requests:
        kinds = recorder.requests_by_kind
        terminalreporter.write_line(
            f"requests: {recorder.requests} (unpause {kinds['unpause']}, pause {kinds['pause']}, "
            f"read {kinds['read']}, other {kinds['other']})"
            + (
                f"; of them, {kinds[SIDE_EFFECT]} for the side-effect checks (BEH-REFUSAL-INERT)"
                if kinds.get(SIDE_EFFECT)
                else ""
            )
        )
    errors = [o for o in config.stash.get(OUTCOMES, []) if o["outcome"] == SUITE_ERROR]
    if errors:
        terminalreporter.section(
            f"SUITE ERRORS: raised inside the suite, not verdicts on the target (exit {EXIT_SUITE_ERROR})",
            red=True,
        )
        for outcome in errors:
            terminalreporter.write_line(f"{outcome['test']} ({outcome['when']}): {outcome.get('error', '')}")
    run_coverage = config.stash.get(RUN_COVERAGE, None)
    if run_coverage and run_coverage["bodies"]:
        terminalreporter.write_line(coverage.summary_line(run_coverage))
        gaps = coverage.gap_lines(run_coverage)
        if gaps:
            terminalreporter.section(
                "Documented branches never exercised (their rules were not judged on them)"
            )
            for line in gaps:
                terminalreporter.write_line(line)
    run_drift, target = config.stash.get(RUN_DRIFT, None), config.stash.get(TARGET, None)
    if run_drift is not None and target is not None and target.compare_base_url:
        compare = shown_url(target.compare_base_url)
        terminalreporter.write_line(drift.summary(run_drift, compare))
        drifted = drift.lines(run_drift)
        if drifted:
            terminalreporter.section(
                f"Drift between the target and {compare} (answers that differ)", yellow=True
            )
            for line in drifted[:50]:
                terminalreporter.write_line(line)
            if len(drifted) > 50:
                terminalreporter.write_line(f"… {len(drifted) - 50} more in reports/drift.md")
    for heading, lines in note_sections(config.stash.get(NOTES, [])):
        terminalreporter.section(heading, yellow=heading.startswith("Ad groups not"), red="FAILED" in heading)
        for line in lines:
            terminalreporter.write_line(line)
    findings = config.stash.get(FINDINGS, [])
    if not findings:
        return
    terminalreporter.section("advisory findings (SHOULD rules; --strict makes them fail)")
    for finding in findings[:50]:
        terminalreporter.write_line(f"{finding['rule']} [{finding['version']}] {finding['message']}")
    if len(findings) > 50:
        terminalreporter.write_line(f"… {len(findings) - 50} more")
