"""The runner of concurrent engines removes the causes of the suite's own failures under threads:
ast.parse serialised on CPython 3.11, no module imported inside a thread, one error chosen, the
first failure stopping the other engines, and the shrink cap ending a failing engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import hypothesis
import hypothesis.stateful
import pytest

from conformance.contract import rules
from conformance.judge.checks import RuleFailure
from conformance.mock.server import MockServer
from conformance.report import verdict
from conformance.runner import engines
from conformance.tools.mutation import ROOT, suite_command

TOKEN = "engines-token-4f3e2d1c"

# many threads parse while a finalizer run by the GC releases the GIL inside a parse: on CPython
# 3.11 without the lock this raised "AST constructor recursion depth mismatch" in 5 runs of 5 at a
# third of these iterations (60: about 4 s of CPU with the lock, where 300 took 23)
AST_RACE = textwrap.dedent(
    """
    import ast, inspect, json, sys, threading, time
    from conformance.runner import engines
    engines.prepare(engines=False)
    source = inspect.getsource(json.decoder) * 2
    errors = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            time.sleep(0)

    def work():
        for _ in range(60):
            try:
                for _ in range(30):
                    Cycle()
                ast.parse(source)
            except SystemError as error:
                errors.append(str(error))
                return

    threads = [threading.Thread(target=work) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(json.dumps(errors))
    """
)


@pytest.mark.subprocess
def test_ast_parse_is_safe_in_threads_after_prepare():
    completed = subprocess.run(
        [sys.executable, "-c", AST_RACE], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert json.loads(completed.stdout) == []


def test_prepare_serialises_ast_parse_only_where_it_is_not_thread_safe():
    engines.prepare(engines=False)
    import ast

    serialised = getattr(ast.parse, "__wrapped__", None) is not None
    assert serialised == (sys.implementation.name == "cpython" and sys.version_info < (3, 12))


THREAD_IMPORTS = textwrap.dedent(
    """
    import json, os, sys, threading
    seen = {}

    def hook(event, args):
        if event == "import" and threading.current_thread() is not threading.main_thread():
            if args[0] not in sys.modules:
                seen.setdefault(args[0], threading.current_thread().name)

    sys.addaudithook(hook)

    def pytest_unconfigure(config):
        with open(os.environ["THREAD_IMPORTS"], "w") as handle:
            json.dump(seen, handle)
    """
)


@pytest.mark.parametrize("fault", [None, "ctr-as-percent", "unknown-version-served-latest"])
@pytest.mark.subprocess
def test_no_module_is_imported_inside_a_thread(tmp_path, fault):
    """Property tests and the state machine at the remote default concurrency (8 threads), against
    a correct and two faulty targets: every module they need was imported before a thread started."""
    (tmp_path / "thread_imports.py").write_text(THREAD_IMPORTS)
    mock = MockServer(TOKEN).start()
    url = mock.url + (f"/__faults/{fault}" if fault else "")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "THREAD_IMPORTS": str(tmp_path / "seen.json")}
    try:
        command = suite_command(
            "suites/test_properties.py",
            "suites/test_state_machine.py",
            "-p",
            "thread_imports",
            f"--base-url={url}",
            f"--api-token={TOKEN}",
            *[f"--ad-group-id={group.id}" for group in mock.api.dataset],
            "--no-restore",
            profile="quick",
        )
        completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    finally:
        mock.stop()
    # a suite error's own section (its traceback) first: the tail alone may not reach it
    errors = (
        completed.stdout[completed.stdout.find("SUITE ERRORS") :][:4000]
        if "SUITE ERRORS" in completed.stdout
        else ""
    )
    assert completed.returncode == (0 if fault is None else 1), errors + completed.stdout[-3000:]
    assert json.loads((tmp_path / "seen.json").read_text()) == {}


def failure(rule_id: str = "INV-CTR") -> RuleFailure:
    return RuleFailure([rules.Violation(rule_id, "x")], None, str, "test")


def fails(rule_id: str = "INV-CTR") -> None:
    """An engine's input whose verdict breaks ``rule_id``."""
    raise failure(rule_id)


def test_the_verdict_is_chosen_before_a_target_error_and_a_suite_error():
    errors = [ValueError("suite"), None, failure(), engines.EngineDone(None), failure("SCHEMA-TYPE")]
    index, chosen = engines.choose(errors)
    assert index == 2
    assert isinstance(chosen, RuleFailure)
    index, chosen = engines.choose([engines.EngineDone(None), ValueError("suite")])
    assert isinstance(chosen, ValueError), "a stop for another engine's failure is never the verdict"


def test_the_first_failure_stops_the_other_engines_and_the_cap_ends_the_failing_one():
    memory = engines.Memory(shrink_time=0.2)
    with pytest.raises(RuleFailure):
        memory.run("a", fails)
    # another thread: stopped at once, without running its input
    ran, raised = [], []

    def other_engine():
        try:
            memory.run("b", lambda: ran.append("b"))
        except engines.EngineDone as done:
            raised.append(done)

    thread = threading.Thread(target=other_engine)
    thread.start()
    thread.join()
    assert ran == []
    assert len(raised) == 1
    assert raised[0].failure is None
    # the failing thread: a remembered input raises again, a new one runs until the cap
    with pytest.raises(RuleFailure):
        memory.run("a", lambda: None)
    memory.run("c", lambda: ran.append("c"))
    assert ran == ["c"]
    time.sleep(0.3)
    with pytest.raises(engines.EngineDone) as done:
        memory.run("d", lambda: ran.append("d"))
    assert ran == ["c"]
    assert isinstance(done.value.failure, RuleFailure), "the engine ends with the smallest failure it found"


def test_a_rejected_input_is_remembered_without_starting_the_cap():
    from hypothesis.errors import UnsatisfiedAssumption

    memory = engines.Memory(shrink_time=0.0)

    def rejected():
        raise UnsatisfiedAssumption()

    with pytest.raises(UnsatisfiedAssumption):
        memory.run("a", rejected)
    assert memory.first_failure is None
    ran = []
    memory.run("b", lambda: ran.append("b"))
    assert ran == ["b"]


BROKEN_SUITE = textwrap.dedent(
    """
    from conformance.contract import rules

    def body_violations(*args, **kwargs):
        raise ValueError("a bug in the suite")

    rules.body_violations = body_violations
    """
)


@pytest.mark.subprocess
def test_an_error_of_the_suite_is_labelled_and_exits_3_not_as_a_verdict(tmp_path):
    """A body rule whose code raises: the test is a suite error in the terminal, verdicts.json and
    the matrix (not failed, no rule broken), and the run exits 3 against a correct target."""

    (tmp_path / "broken_suite.py").write_text(BROKEN_SUITE)
    verdicts_path = tmp_path / "verdicts.json"
    completed = subprocess.run(
        suite_command(
            "suites/test_body_rules.py",
            "-k",
            "2026-06-20-INV-CTR",
            "-p",
            "broken_suite",
            f"--verdicts-json={verdicts_path}",
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=300,
    )
    assert completed.returncode == 3, completed.stdout[-3000:]
    assert "SUITE ERRORS: raised inside the suite, not verdicts on the target (exit 3)" in completed.stdout
    assert "ValueError: a bug in the suite" in completed.stdout
    assert (
        completed.stdout.strip().splitlines()[-1].startswith("SUITE ERROR: 1 test(s) raised inside the suite")
    )
    verdicts = json.loads(verdicts_path.read_text())
    (outcome,) = [o for o in verdicts["outcomes"] if o["when"] == "call"]
    assert outcome["outcome"] == "suite error"
    assert outcome["rules"] == []
    assert verdicts["exitstatus"] == 3
    assert verdict.matrix(verdicts)["INV-CTR"]["2026-06-20"] == "suite error"


def test_a_state_machine_step_is_always_sent_before_the_cap_and_passes_unsent_after_it():
    memory = engines.Memory(shrink_time=0.2, stateful=True)
    sent = []

    def step():
        sent.append("a")
        fails("BEH-ACTIVATES")

    for _ in range(2):  # a step's answer depends on the group's state: sent again, not recalled
        with pytest.raises(RuleFailure):
            memory.run(("a",), step)
    assert sent == ["a", "a"]
    time.sleep(0.3)
    with pytest.raises(RuleFailure):
        memory.run(("a",), step)  # past the cap: a sequence seen failing fails from memory
    assert sent == ["a", "a"]
    memory.run(("b",), lambda: sent.append("b"))  # and one never seen passes unsent
    assert sent == ["a", "a"]


def toggling_machine(memory: engines.Memory):
    """A state machine over a target whose second answer breaks a rule and no other, whatever was
    sent: hypothesis's replay of the failing sequence then passes."""
    from hypothesis.stateful import RuleBasedStateMachine, rule

    answers = iter(range(10_000))

    class Toggling(RuleBasedStateMachine):
        steps: tuple = ()

        @rule()
        def unpause(self):
            self.steps += ("unpause",)

            def action():
                if next(answers) == 1:
                    fails("BEH-ACTIVATES")

            memory.run(self.steps, action)

    settings = hypothesis.settings(max_examples=20, stateful_step_count=4, database=None, deadline=None)
    return hypothesis.stateful.get_state_machine_test(Toggling, settings=settings)


def test_a_replay_the_target_answers_differently_ends_in_the_failure_seen_not_a_suite_error():
    with pytest.raises(hypothesis.errors.Flaky):  # what hypothesis makes of it on its own
        toggling_machine(engines.Memory(shrink_time=5, stateful=True))()
    memory = engines.Memory(shrink_time=5, stateful=True)
    with pytest.raises(RuleFailure) as raised:
        memory.settle(toggling_machine(memory))
    assert raised.value is memory.smallest
    assert any(note.startswith("Not shrunk further") for note in raised.value.__notes__)


def test_a_replay_that_disagrees_with_no_failure_seen_stays_the_suites_error():
    def disagreeing():
        raise hypothesis.errors.FlakyStrategyDefinition("drew differently")

    with pytest.raises(hypothesis.errors.FlakyStrategyDefinition):
        engines.Memory(shrink_time=5, stateful=True).settle(disagreeing)


UNWRITABLE_STORAGE = textwrap.dedent(
    """
    import json, resource, sys, tempfile
    from pathlib import Path
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.internal import charmap
    blocker = Path(tempfile.mkdtemp()) / "a-file"
    blocker.write_text("")
    set_hypothesis_home_dir(str(blocker / "hypothesis"))  # under a file: nothing can be written
    from conformance.runner import engines
    engines.prepare()
    encodable, lossy = charmap.intervals_from_codec("utf-8")
    print(json.dumps([list(encodable.intervals), list(lossy.intervals),
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024]))
    """
)


@pytest.mark.subprocess
def test_an_unwritable_hypothesis_storage_is_answered_from_memory():
    """No storage to cache hypothesis's utf-8 table in: it is answered from the merged intervals,
    the same table hypothesis computes, without tabulating every code point (bounded memory)."""
    completed = subprocess.run(
        [sys.executable, "-c", UNWRITABLE_STORAGE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    encodable, lossy, peak_mb = json.loads(completed.stdout)
    assert encodable == [[0, 0xD7FF], [0xE000, sys.maxunicode]]
    assert lossy == []
    assert peak_mb < 200, f"peak RSS {peak_mb} MB: the table was tabulated code point by code point"
