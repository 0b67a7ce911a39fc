"""One runner for concurrent engines: hypothesis engines (property shards, state machines) and
per-group set-ups, in threads, with the suite's bounds and the only place its thread-safety lives.

- ``prepare``: before any thread starts, removes the two ways CPython 3.11 and the libraries the
  suite stands on raise from inside it when several threads run at once (they were seen failing 18
  of 146 remote runs): ``ast.parse`` is not thread-safe on 3.11 (``SystemError: AST constructor
  recursion depth mismatch``: the AST converter's recursion counter is per interpreter, and
  hypothesis parses lambda sources and reprs while describing strategies and examples), so it is
  serialised there; and modules that schemathesis and hypothesis import lazily, imported by two
  threads at once, can see each other half-initialised (``ImportError: cannot import name …``), so
  they are imported here, once, in the calling thread.
- ``Memory``: the failing-input memory and the shrink cap of one run of engines: each distinct input
  is sent once (hypothesis re-runs inputs while shrinking and replays the failing one); the first
  failure stops the other engines, and ``shrink_time`` seconds after it the failing one ends with
  the smallest failure found.
- ``fan_out`` / ``run_all``: calls in threads, ``concurrency`` at a time, each run to its end,
  then one error chosen: a rule verdict first (the lowest index's), a target error, anything else.
"""

from __future__ import annotations

import ast
import contextvars
import gzip
import importlib
import json
import os
import pkgutil
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hypothesis.errors import Flaky, UnsatisfiedAssumption

from conformance.client.http import TargetError, TargetStopped
from conformance.judge.checks import RuleFailure

# packages whose modules schemathesis and hypothesis import inside functions (seen with an audit
# hook: schemathesis.transport.wsgi/asgi, schemathesis.generation.dictionaries, hypothesis's
# flatmapped and random strategies): every module of each, so a new lazy import is covered too
LAZY_PACKAGES = ("schemathesis.transport", "schemathesis.generation", "hypothesis.strategies._internal")
# codecs are looked up lazily too (the first non-UTF-8 header or body decodes in a thread)
LAZY_MODULES = ("encodings.ascii", "encodings.latin_1", "encodings.idna", "encodings.utf_8_sig")

_prepared: set[str] = set()
_prepare_lock = threading.Lock()


def _serialised(parse: Callable) -> Callable:
    lock = threading.RLock()  # re-entrant: a finalizer run by the GC inside a parse may parse too

    def parse_one_at_a_time(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    parse_one_at_a_time.__wrapped__ = parse
    parse_one_at_a_time.__doc__ = parse.__doc__
    return parse_one_at_a_time


# text in these codecs is what schemathesis draws (headers); hypothesis tabulates each on first use
CODECS = ("utf-8",)


def _codec_intervals(codec: str) -> tuple[list[list[int]], list[list[int]]]:
    """The code points ``codec`` encodes, and those that do not decode back, as merged intervals:
    what hypothesis's charmap.intervals_from_codec computes, without its list of every code point."""
    encodable: list[list[int]] = []
    lossy: list[list[int]] = []

    def extend(intervals: list[list[int]], point: int) -> None:
        if intervals and intervals[-1][1] == point - 1:
            intervals[-1][1] = point
        else:
            intervals.append([point, point])

    for point in range(sys.maxunicode + 1):
        char = chr(point)
        try:
            encoded = char.encode(codec)
        except Exception:  # usually UnicodeEncodeError, as hypothesis's own loop allows
            continue
        extend(encodable, point)
        try:
            roundtrips = encoded.decode(codec) == char
        except Exception:
            roundtrips = False
        if not roundtrips:
            extend(lossy, point)
    return encodable, lossy


def _warm_hypothesis_tables() -> None:
    """On the first use of text in a codec, hypothesis tabulates every code point (1.1 million
    tuples, ~180 MB) before caching the result under .hypothesis/, and every engine that needs it
    before the cache exists builds its own: a fresh clone's first thorough run peaked at 305 MB at
    concurrency 1 and 1.7 GB at 8. Here the table is built once, as merged intervals (a few
    kilobytes), and written where and how hypothesis reads it; the Unicode categories likewise."""
    from hypothesis.internal import charmap

    charmap.charmap()  # small, cached the same way: built once here rather than by 8 threads
    for codec in CODECS:
        path = Path(charmap.charmap_file(f"codec-v2-{codec}"))
        if path.exists():
            continue
        tables = _codec_intervals(codec)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with gzip.GzipFile(scratch, "wb", mtime=1) as handle:
                handle.write(json.dumps(list(tables)).encode())
            os.replace(scratch, path)
        except OSError:
            # an unwritable storage directory: hypothesis would tabulate the codec again for every
            # strategy that needs it, in every engine; it is answered from the table built here
            _answer_in_memory(charmap, codec, tables)


def _answer_in_memory(charmap, codec: str, tables: tuple[list[list[int]], list[list[int]]]) -> None:
    from hypothesis.internal.intervalsets import IntervalSet

    computed = tuple(IntervalSet([tuple(pair) for pair in intervals]) for intervals in tables)
    tabulate = charmap.intervals_from_codec

    def intervals_from_codec(codec_name: str):
        return computed if codec_name == codec else tabulate(codec_name)

    charmap.intervals_from_codec = intervals_from_codec


def prepare(engines: bool = True) -> None:
    """Idempotent; called by every fan-out before its first thread starts. ``engines`` False: the
    threads only send requests (no hypothesis engine), so the strategies' modules are not imported
    (hypothesis warns when they are during pytest's start-up, where the census runs)."""
    with _prepare_lock:
        if "threads" not in _prepared:
            if sys.implementation.name == "cpython" and sys.version_info < (3, 12):
                ast.parse = _serialised(ast.parse)
            for name in LAZY_MODULES:
                importlib.import_module(name)
            _prepared.add("threads")
        if engines and "engines" not in _prepared:
            _warm_hypothesis_tables()
            for package_name in LAZY_PACKAGES:
                package = importlib.import_module(package_name)
                for module in pkgutil.walk_packages(package.__path__, package_name + "."):
                    importlib.import_module(module.name)
            _prepared.add("engines")


class EngineDone(BaseException):
    """Ends one engine at once (a BaseException: hypothesis neither shrinks nor generates past it).
    ``failure``: the smallest failure this run found, which the engine's test then raises; None when
    another engine of the same run found one (its verdict is the run's)."""

    def __init__(self, failure: BaseException | None):
        super().__init__("engine done" if failure is None else str(failure))
        self.failure = failure


class Memory:
    """The outcome of every distinct input one run of engines sent, and its shrink cap.

    - A key seen before answers from memory, raising the failure it raised.
    - The first failure starts the cap: from then on the other engines of the run stop (the
      verdict is in), and the failing one shrinks for ``shrink_time`` seconds of new inputs; past
      it, the engine ends with the smallest failure it found (each new failure the shrinker keeps
      is smaller than the one before), so a failing test costs at most the cap.
    - ``stateful``: a state machine's steps, whose answers depend on the group's state and not only
      on the step: before the cap every step is sent, and only failures are remembered; past it a
      step not seen failing passes unsent, so hypothesis shrinks to the shortest sequence among
      those seen failing (on memory alone: a step costs no request there)."""

    def __init__(self, shrink_time: float, stateful: bool = False, stop: threading.Event | None = None):
        self.shrink_time = shrink_time
        self.stateful = stateful
        self.stop = stop  # once set, every engine of the run ends before its next input (the run is over)
        self.outcomes: dict[Hashable, BaseException | None] = {}
        self.first_failure: float | None = None
        self.failing_thread: int | None = None
        self.smallest: BaseException | None = None
        self.lock = threading.Lock()

    @property
    def capped(self) -> bool:
        return self.first_failure is not None and time.monotonic() - self.first_failure > self.shrink_time

    def run(self, key: Hashable, action: Callable[..., None], kwargs: dict | None = None) -> None:
        """``action(**kwargs)`` once per ``key``, within the cap; a target error stops the engine.
        Fresh and remembered failures are raised from one line: hypothesis tells bugs apart by
        where they were raised, and two lines would be two bugs to shrink."""
        with self.lock:
            known, failure = key in self.outcomes, self.outcomes.get(key)
            if self.failing_thread not in (None, threading.get_ident()) or (self.stop and self.stop.is_set()):
                raise EngineDone(None)
            capped = self.capped
            if capped and not known:
                if self.stateful:
                    return  # past the cap a sequence passes unsent: the shrinker settles on those seen
                raise EngineDone(self.smallest)
            if self.stateful and not capped:
                known, failure = False, None
        if not known:
            failure = self._first_run(key, action, kwargs or {})
        if failure is not None:
            raise failure

    def settle(self, engine: Callable[[], None]) -> None:
        """Run a stateful engine (a state machine's test) to its verdict. Its answers depend on the
        group's state, which hypothesis cannot replay: when a replay disagrees with the run it
        replays (hypothesis raises ``Flaky``: a sequence that failed went on, or the reverse) after
        a rule failure was seen, the verdict is the smallest failure seen, a real exchange that broke
        a rule; with none seen the disagreement is the suite's error."""
        try:
            engine()
        except Flaky:
            if not isinstance(self.smallest, RuleFailure):
                raise
            failure = self.smallest
            failure.add_note(
                "Not shrunk further: the target answered a replay of this sequence differently, "
                "so this is the shortest failing sequence seen"
            )
            raise failure from None

    def _first_run(self, key: Hashable, action: Callable[..., None], kwargs: dict) -> BaseException | None:
        try:
            action(**kwargs)
        except TargetError as error:
            raise TargetStopped(error) from None
        except UnsatisfiedAssumption as rejected:  # an input thrown away, not a failure: no cap
            if self.stateful:
                raise
            failure = rejected
        except Exception as error:
            failure = error
            with self.lock:
                self.first_failure = self.first_failure or time.monotonic()
                self.failing_thread = self.failing_thread or threading.get_ident()
                self.smallest = error
        else:
            failure = None
            if self.stateful:
                return None
        with self.lock:
            # without its traceback: the frames would keep every exchange of the run alive
            self.outcomes[key] = failure.with_traceback(None) if failure is not None else None
        return failure


def _caught(function: Callable, item) -> tuple[object, BaseException | None]:
    try:
        return function(item), None
    except EngineDone as done:  # the engine's smallest failure, or stopped for another's
        return None, done.failure or done
    except BaseException as error:  # re-raised by run_all, from the calling thread
        return None, error


def choose(errors: list[BaseException | None]) -> tuple[int, BaseException] | None:
    """The error to raise of several threads': a rule verdict, then a target error, then an error
    of the suite, then a stop for another engine's failure; the lowest index first (the same
    choice every run with the same seed)."""
    failed = [(index, error) for index, error in enumerate(errors) if error is not None]
    if not failed:
        return None

    def rank(pair: tuple[int, BaseException]) -> tuple[int, int]:
        index, error = pair
        if isinstance(error, RuleFailure):
            kind = 0
        elif isinstance(error, TargetStopped | TargetError):
            kind = 1
        elif isinstance(error, EngineDone):  # stopped for another engine's failure: never the verdict
            kind = 3
        else:
            kind = 2
        return kind, index

    return min(failed, key=rank)


def fan_out(
    function: Callable, items: Iterable, concurrency: int, *, engines: bool = True
) -> tuple[list, tuple[int, BaseException] | None]:
    """``function`` over ``items``, ``concurrency`` at a time: the results in order and the chosen
    error with its index (``choose``), once every call has run to its end. ``engines``: whether the
    calls run hypothesis engines (see ``prepare``)."""
    items = list(items)
    prepare(engines)
    if concurrency <= 1 or len(items) <= 1:
        outcomes = [_caught(function, item) for item in items]
    else:
        # named after the thread that fans out, so a request's thread tells which run sent it
        prefix = f"{threading.current_thread().name}-engine"
        context = contextvars.copy_context()  # the test's record of requests, in every thread
        with ThreadPoolExecutor(min(concurrency, len(items)), thread_name_prefix=prefix) as pool:
            outcomes = list(pool.map(lambda item: context.copy().run(_caught, function, item), items))
    return [result for result, _ in outcomes], choose([error for _, error in outcomes])


def verdict_first(error: BaseException) -> BaseException:
    """The chosen error, ready to raise from the calling thread: a rule verdict or a target stop
    without the frames it was raised through (the report shows the verdict, not the suite's
    frames, and formatting hypothesis's deep tracebacks cost pytest seconds per failure); an error
    of the suite keeps its traceback, which is what its report needs."""
    if isinstance(error, RuleFailure | TargetStopped | TargetError):
        return error.with_traceback(None)
    return error


def run_all(function: Callable, items: Iterable, concurrency: int, *, engines: bool = False) -> list:
    """``fan_out``'s results, or its chosen error raised (its verdict carries the exchange it
    shows): for hypothesis engines (property shards, state machines) and for requests to
    different ad groups, which cannot interfere (each group's own requests stay in sequence)."""
    results, chosen = fan_out(function, items, concurrency, engines=engines)
    if chosen is not None:
        raise verdict_first(chosen[1])
    return results
