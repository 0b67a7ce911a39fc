"""The property-based tests: their runner (``run_property``: engines in threads, the suite's
bounds) and, against a remote target in one process, running them ahead, beside the example tests
(conformance.plugin.ahead), with the fixture the tests of every group's body wait on."""

from __future__ import annotations

import functools
import math
import threading

import hypothesis
import hypothesis.stateful
import pytest

from conformance.adgroups import census, state
from conformance.client.http import ApiClient
from conformance.judge.checks import Verdicts
from conformance.plugin import ahead
from conformance.plugin.keys import AHEAD, CENSUS_FACTS, SEED, TARGET, VERDICTS
from conformance.plugin.target import Target
from conformance.plugin.xdist import worker_count
from conformance.runner import engines


@pytest.fixture
def run_property(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    target: Target,
    verdicts: Verdicts,
    property_shard: tuple[int, int],
):
    """``run_property(body, **strategies)``: runs ``body`` under ``@given(**strategies)``
    (property_runner), or, for a test that ran ahead (conformance.plugin.ahead), ends as that run did."""
    ahead = pytestconfig.stash.get(AHEAD, None)
    if ahead is not None and ahead.runs(request.node):
        return ahead.replay(request.node)
    return property_runner(pytestconfig, target, verdicts, property_shard)


def property_runner(
    config: pytest.Config,
    target: Target,
    verdicts: Verdicts,
    property_shard: tuple[int, int] = (0, 1),
    stop: threading.Event | None = None,
):
    """``run(body, **strategies)``: runs ``body`` under ``@given(**strategies)`` with the
    run's number of cases (--max-examples, else the profile's), with the suite's bounds:

    - Shards: under xdist (-n N) each property test is N items; within an item, ``--concurrency``
      threads each run their own hypothesis engine (thread-safe since hypothesis 6.136; the rest is
      engines.prepare's) over a share of the cases, from the printed seed + the shard's index.
    - Each distinct input is sent once, shrinking is capped, a target error stops the test at once
      (engines.Memory).
    - A SHOULD finding on a case is recorded and the cases go on; the test ends as an advisory
      finding (Verdicts.deferring). Under --strict it fails the case like a MUST.
    - ``stop`` set: each engine ends before its next input (a run ahead, at the session's end)."""

    def run(body, **strategies) -> None:
        index, count = property_shard
        total = target.max_examples or hypothesis.settings.default.max_examples
        mine = max(1, math.ceil(total / count))
        threads = max(1, min(target.concurrency, mine))
        memory = engines.Memory(target.shrink_time, stop=stop)

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
                test = hypothesis.seed(config.stash[SEED] + index * threads + number)(test)
            test()

        with verdicts.deferring():
            engines.run_all(shard, range(threads), threads, engines=True)

    return run


@pytest.fixture
def run_state_machines(
    api: ApiClient, target: Target, verdicts: Verdicts, seed: int, state_machine_sizes: tuple[int, int]
):
    """``run(machine_for)``: a hypothesis state machine per ad group, ``machine_for(group_id, memory)``
    its class. Each machine runs on one group that could be paused. Against a remote target, up to
    --concurrency groups each run their own machine, in threads, over a share of the sequences
    (from the printed seed + the group's index): a step waits on a round trip, and machines on
    different groups cannot interfere. Against the embedded mock (concurrency 1): one machine."""

    def run(machine_for) -> None:
        lanes = max(1, min(target.concurrency, len(target.ad_group_ids)))
        tried = engines.run_all(
            lambda group_id: state.pause_first(api, group_id), target.ad_group_ids[:lanes], lanes
        )
        if all(attempt.not_exercised is not None for attempt in tried) and len(target.ad_group_ids) > lanes:
            tried.append(state.first_pausable(api, target.ad_group_ids[lanes:]))
        groups = [attempt.group_id for attempt in verdicts.exercised(tried, "paused")]
        sequences, steps = state_machine_sizes
        settings = hypothesis.settings(
            max_examples=max(1, math.ceil(sequences / len(groups))),
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            report_multiple_bugs=False,  # one bug, shown by its shortest sequence
        )
        engines.prepare()
        tests = []
        for index, group_id in enumerate(groups):
            memory = engines.Memory(target.shrink_time, stateful=True)
            machine = machine_for(group_id, memory)
            if len(groups) > 1:  # distinct sequences per group; one machine keeps hypothesis's own seed
                machine = hypothesis.seed(seed + index)(machine)
            test = hypothesis.stateful.get_state_machine_test(machine, settings=settings)
            tests.append(functools.partial(memory.settle, test))
        with verdicts.deferring():  # a SHOULD finding on one sequence: recorded, the sequences go on
            engines.run_all(lambda settled: settled(), tests, len(tests), engines=True)

    return run


@pytest.fixture
def every_ad_group(pytestconfig: pytest.Config, target: Target, specimens: state.Specimens) -> list[str]:
    """Every configured ad group, for the tests that judge only 200 bodies. While the property
    tests run ahead on half of the groups, it waits for them to end first (a body obtained by a
    pause and an unpause cannot share its group with them); these tests run after the other
    example tests, so the wait is usually over."""
    running = pytestconfig.stash.get(AHEAD, None)
    if running is None:
        return target.ad_group_ids
    running.wait()
    specimens.group_ids = running.every_ad_group  # each version's bodies fetched together, at once
    return running.every_ad_group


@pytest.hookimpl(trylast=True)  # after -k, -m and the rest have chosen the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a remote target in one process, the property-based tests run ahead (ahead.wanted)."""
    target = config.stash.get(TARGET, None)
    if target is not None and ahead.wanted(target, worker_count(config)):
        running_ahead = [item for item in items if ahead.is_property_test(item)]
        if running_ahead and len(running_ahead) < len(items):
            # the census (pytest_sessionstart) read every group; from here on each side has its half
            statuses = config.stash.get(CENSUS_FACTS, {}).get("statuses", {})
            config.stash[TARGET] = target.split_for_overlap(census.unmovable(statuses))
            config.stash[AHEAD] = ahead.Ahead(running_ahead, target.ad_group_ids)
            items[:] = ahead.in_order(items)


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    running = config.stash.get(AHEAD, None)
    if running is None:
        return []
    target = config.stash[TARGET]
    return [
        f"{len(running.items)} property-based tests run ahead, beside the example tests: they unpause "
        f"{len(target.property_ids)} ad groups, the example tests pause and unpause the other "
        f"{len(target.ad_group_ids)}, and once they are done the tests of 200 bodies judge all "
        f"{len(running.every_ad_group)} (--no-overlap runs them in their turn)"
    ]


@pytest.fixture(scope="session", autouse=True)
def _property_tests_ahead(
    request: pytest.FixtureRequest, pytestconfig: pytest.Config, api: ApiClient
) -> None:
    """At the first test (after the census), the property-based tests start running ahead (with
    ``api``: an unreachable target is the api fixture's error, said once, as without them)."""
    running = pytestconfig.stash.get(AHEAD, None)
    if running is not None:
        running.start(
            request,
            lambda own, stop: property_runner(pytestconfig, pytestconfig.stash[TARGET], own, stop=stop),
            pytestconfig.stash[VERDICTS],
        )
