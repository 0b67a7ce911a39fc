"""Self-test fixtures: one embedded mock per session, and a plain httpx client to poke it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
from pathlib import Path

import httpx
import hypothesis
import pytest

from conformance.mock.server import MockServer

TOKEN = "selftest-token-3b1f0c"

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
