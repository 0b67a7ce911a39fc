"""Self-test fixtures: one embedded mock per session, and a plain httpx client to poke it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
from pathlib import Path

import httpx
import hypothesis
import pytest

from conformance.mock.server import MockServer
from conformance.tools import mutation
from conformance.tools.forkserver import ForkServers

TOKEN = "selftest-token-3b1f0c"

# The suite runs the self-tests start judge the code, not the amount of testing: each gets the
# profile a developer's run gets (quick), under CI=true too (there it would default to thorough,
# 300 cases a property test); a test about a profile names it (--hypothesis-profile=…).
os.environ.pop("CI", None)

# the self-tests' own hypothesis tests (the suite's profiles are the plugin's, for suites/ only):
# no deadline, as they send requests to a mock on a machine that may be busy
hypothesis.settings.register_profile("selftest", deadline=None, max_examples=50)
hypothesis.settings.load_profile("selftest")


@pytest.fixture(scope="session")
def mock():
    server = MockServer(TOKEN, seed=0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(mock):
    with httpx.Client(base_url=mock.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
        yield http


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _no_process_unless_marked(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _no_process_unless_marked(item):
        return (yield)


@contextlib.contextmanager
def _no_process_unless_marked(item):
    """A test that starts a process (a suite run, the report generator, a browser), in its fixtures
    too, carries the ``subprocess`` marker, so ``-m "not subprocess"`` is an inner loop of seconds:
    unmarked, it fails."""
    if item.get_closest_marker("subprocess") is not None:
        yield
        return

    def refused(*args, **kwargs):
        raise AssertionError(f"{item.nodeid} starts a process: mark it @pytest.mark.subprocess")

    started, subprocess.Popen = subprocess.Popen, refused
    try:
        yield
    finally:
        subprocess.Popen = started


def shared_run(tmp_path_factory, key: str, build) -> tuple[Path, dict]:
    """One run for every xdist worker of the session (the report runs are a minute each): the first
    worker to ask builds it into a folder of the session's shared temp directory under a file
    lock, the others wait for it and read what it recorded. ``build(folder)`` returns JSON data."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-runs"
    shared.mkdir(exist_ok=True)
    folder, done = shared / key, shared / f"{key}.json"
    with open(shared / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_text(json.dumps(build(folder)))
    return folder, json.loads(done.read_text())


# one fork server per worker, started by the first test that runs the suites (it is marked subprocess)
_SERVERS = ForkServers(mutation.ROOT)
OWN_PATHS = ("CONFORMANCE_SCHEMAS_DIR", "PYTHONPATH")


def run_suite(*args: str, timeout: float | None = None, env: dict[str, str] | None = None):
    """``mutation.run_suite``, forked from a process that imported pytest, its plugins and the suite
    once (conformance.tools.forkserver): the self-tests start about 200 suite runs, and a fresh
    interpreter spends about 1.5 s of CPU importing before each. A run with paths of its own (the
    schemas, read at import; a test's plugin on PYTHONPATH, which xdist workers of a forked run
    did not load) gets a fresh interpreter."""
    if any((env or os.environ).get(name) != os.environ.get(name) for name in OWN_PATHS):
        return mutation.run_suite(*args, timeout=timeout, env=env)
    return _SERVERS.run(mutation.suite_command(*args)[3:], timeout=timeout, env=env)


@pytest.fixture
def fork_servers() -> ForkServers:
    """The worker's fork servers, run_suite's: a mutation run forks from them, not from new ones."""
    return _SERVERS


def pytest_sessionfinish(session):
    _SERVERS.close()


@pytest.fixture
def suite_run_once(tmp_path_factory):
    """``run_suite(*args)`` run once per session whatever asks for it, on whichever worker: the runs
    keyed by their arguments (which name no file of the test's), shared under a file lock."""

    def run(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        key = "suite-" + hashlib.sha256(json.dumps(args).encode()).hexdigest()[:16]

        def build(_folder: Path) -> dict:
            completed = run_suite(*args, timeout=timeout)
            return {
                "returncode": completed.returncode,
                "stdout": completed.stdout,
                "stderr": completed.stderr,
            }

        _folder, recorded = shared_run(tmp_path_factory, key, build)
        return subprocess.CompletedProcess(["pytest", *args], **recorded)

    return run
