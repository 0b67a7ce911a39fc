"""Property-based tests run ahead, beside the example tests, in one process against a remote target.

An example test waits on one round trip at a time (pause, then unpause, then read), so against a
target 150 ms away most of the run's slots sit idle while it waits; the property-based tests keep
every slot busy. Run in their turn, the two add up (1.65x the run's round-trip floor at 150 ms);
run side by side, as the examples' and the property tests' xdist workers do, the property tests
fill the slots the examples leave idle. So, against --base-url without xdist (and unless
--no-overlap): the ad groups are split as for xdist (Target.split_for_overlap: the property tests
unpause only the odd ones, the example tests pause and unpause only the even ones, so neither
lands between the other's steps); at the first test a thread starts running the property-based
tests' bodies, one after another, each with its own deferral of findings (Verdicts.view); their
items are moved to the end of the run, and each item re-raises its body's outcome (a verdict, a
skip, an error of the suite) as its own. The tests that judge only 200 bodies still judge every
group's (``every_ad_group``): they run after the other example tests and wait for the run ahead
to end. Before the restore the thread is stopped and joined, so no property case is in flight
while the groups are put back.

Only tests whose every argument is a session fixture, a parameter, ``verdicts`` or
``run_property`` run ahead; not with a second target (drift is filed under the running test's
rule), a dry run, one ad group, or a concurrency of 1; and only when some other test runs too.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from concurrent.futures import Future

import pytest

from conformance.client.http import RECORD
from conformance.judge.checks import CURRENT_TEST
from conformance.plugin.target import Target
from conformance.runner import engines

THREAD_NAME = "conformance-ahead"  # its engines' threads are named after it (engines.fan_out)


def is_property_test(item: pytest.Item) -> bool:
    return "run_property" in getattr(item, "fixturenames", ())


def wanted(target: Target, workers: int) -> bool:
    """Whether this run's target and process allow the property tests to run ahead at all."""
    return (
        target.overlap
        and not target.embedded
        and workers == 1
        and target.concurrency > 1
        and len(target.ad_group_ids) >= 2
        and not target.compare_base_url
        and not target.dry_run
    )


class Ahead:
    """The property-based tests' bodies, run in order in one thread; each item's outcome is a
    Future its item waits on."""

    def __init__(self, items: list[pytest.Item], every_ad_group: list[str]):
        self.items = items
        self.every_ad_group = every_ad_group  # the whole target's, before the split
        self.outcomes: dict[str, Future] = {item.nodeid: Future() for item in items}
        self.records: dict[str, list] = {}  # each item's requests, sent ahead (its report's)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def runs(self, item: pytest.Item) -> bool:
        return item.nodeid in self.outcomes

    def start(self, request: pytest.FixtureRequest, runner: Callable, verdicts) -> None:
        """``runner(verdicts, stop)``: a run_property for one body (properties.property_runner).

        Each test's set-up (its schema, its strategies: everything before its run_property call)
        runs here, in the calling thread, and so do engines.prepare's imports: a module imported
        lazily by two threads at once can be seen half-initialised, so the thread only runs engines."""
        engines.prepare()
        calls = []
        for item in self.items:
            captured: list = []
            arguments = arguments_of(item, request, verdicts, functools.partial(capture, captured))
            if arguments is None:  # needs a fixture of its own scope: it runs in its turn
                del self.outcomes[item.nodeid]
                continue
            try:
                item.function(**arguments)
            except BaseException as error:  # a skip or an error in its set-up: the item's outcome
                self.outcomes[item.nodeid].set_exception(error)
                continue
            if not captured:  # ended without running a property: nothing to run ahead
                self.outcomes[item.nodeid].set_result(None)
                continue
            ((body, strategies),) = captured
            calls.append((item, runner(arguments["verdicts"], self.stop), body, strategies))
        if calls:
            self.thread = threading.Thread(target=self._run, args=(calls,), name=THREAD_NAME, daemon=True)
            self.thread.start()

    def _run(self, calls: list) -> None:
        for item, run, body, strategies in calls:
            RECORD.set(self.records.setdefault(item.nodeid, []))  # the item's report shows them
            CURRENT_TEST.set(item.nodeid)  # what it tells the plugin is its own
            outcome = self.outcomes[item.nodeid]
            if self.stop.is_set():
                outcome.cancel()
                continue
            try:
                run(body, **strategies)
            except BaseException as error:  # a verdict, a skip, an error of the suite: the item's
                outcome.set_exception(error)
            else:
                outcome.set_result(None)

    def replay(self, item: pytest.Item) -> Callable:
        """The item's run_property: ignores the body it is given (the same body ran ahead) and
        ends as that run ended."""

        def run(body, **strategies) -> None:
            outcome = self.outcomes[item.nodeid].result
            try:
                outcome()
            finally:  # the requests it sent ahead are this test's
                if (record := RECORD.get()) is not None:
                    record.extend(self.records.get(item.nodeid, []))

        return run

    def wait(self) -> None:
        """Until every property test's body has ended (the groups are the example tests' again)."""
        if self.thread is not None:
            self.thread.join()

    def finish(self) -> None:
        """Stops the engines before their next input and waits for the thread to end."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


def in_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The example tests first, then those that judge every group's body (they wait for the run
    ahead to end), then the property tests' items (each waits for its own outcome)."""

    def rank(item: pytest.Item) -> int:
        if is_property_test(item):
            return 2
        return 1 if "every_ad_group" in getattr(item, "fixturenames", ()) else 0

    return sorted(items, key=rank)  # stable: each group keeps its order


def capture(into: list, body: Callable, **strategies) -> None:
    """A run_property that runs nothing: it keeps what it was asked to run."""
    into.append((body, strategies))


def arguments_of(item: pytest.Item, request: pytest.FixtureRequest, verdicts, run_property: Callable):
    """The item's arguments as a session-scoped fixture can give them (its own view of the
    verdicts, the given run_property), or None."""
    params = getattr(item, "callspec", None)
    params = params.params if params is not None else {}
    arguments = {"verdicts": verdicts.view()}
    for name in inspect.signature(item.function).parameters:
        if name in params:
            arguments[name] = params[name]
        elif name == "run_property":
            arguments[name] = run_property
        elif name != "verdicts":
            try:
                arguments[name] = request.getfixturevalue(name)
            except (pytest.FixtureLookupError, pytest.fail.Exception):  # not one (ScopeMismatch fails)
                return None
    return arguments
