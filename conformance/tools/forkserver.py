"""Suite runs forked from a process that imported pytest, its plugins and the suite once.

A mutation score is a suite run per fault, a hundred or more per profile, and each run's own work
(a few tests, ``--rule``) takes less time than a fresh interpreter spends importing pytest,
hypothesis, schemathesis and the suite (about 1.5 s). A ``ForkServer`` imports them once, then
forks a child per run: the child starts from that state with no session begun, changes to the
run's folder and environment, writes its output to files and ends with pytest's exit status.
Forked runs use ``--assert=plain`` (modules imported before pytest starts cannot be rewritten,
and a run judged by verdicts.json needs no assertion introspection). POSIX only (``os.fork``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# the server: imports, then one child per request line, one at a time, each reaped before the next
SERVER = r"""
import contextlib, io, json, os, sys
import allure_pytest.plugin, hypothesis, pytest, pytest_base_url.plugin, schemathesis, xdist.plugin
import conformance.plugin, conformance.plugin.session, conformance.plugin.properties
import conformance.plugin.reporting, conformance.mock.server
# a collection of the suites that sends nothing (--dry-run), so the children start with every
# plugin's entry point found and every module a run imports (the suites', theirs) imported
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    pytest.main(["--assert=plain", "-p", "no:cacheprovider", "--collect-only", "-q", "--dry-run", "suites"])
# what is imported now is every child's: out of the collector's sight, so a child's collections do
# not touch (and so copy) the pages it shares with the server
import gc
gc.freeze()
requests, replies = sys.stdin, sys.stdout
print(json.dumps({"ready": os.getpid()}), file=replies, flush=True)
for line in requests:
    run = json.loads(line)
    child = os.fork()
    if child == 0:
        try:
            os.chdir(run["cwd"])
            os.environ.clear()
            os.environ.update(run["env"])
            # a run's own PYTHONPATH (a plugin of the test's, -p NAME) is on its path as in a fresh process
            paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
            sys.path[:0] = [path for path in paths if path and path not in sys.path]
            for fd, name in ((1, "stdout"), (2, "stderr")):
                os.dup2(os.open(run[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            sys.stdin = open(os.devnull)
            sys.argv = ["pytest", *run["args"]]
            status = int(pytest.main(run["args"]))
        except BaseException as error:
            print(f"forkserver child: {type(error).__name__}: {error}", file=sys.stderr)
            status = 3
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    print(json.dumps({"pid": child}), file=replies, flush=True)
    _, wait_status = os.waitpid(child, 0)
    print(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}), file=replies, flush=True)
"""


class ForkServer:
    """One server process; ``run`` is one suite run at a time (a thread of the caller each)."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._reply()  # ready: everything imported

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server ended (exit {self.process.wait()})")
        return json.loads(line)

    def run(
        self, args: list[str], timeout: float | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as scratch:
            out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
            request = {
                "args": ["--assert=plain", *args],
                "cwd": str(self.cwd),
                "env": dict(env if env is not None else os.environ),
                "stdout": str(out),
                "stderr": str(err),
            }
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            child = self._reply()["pid"]
            timer = threading.Timer(timeout, os.kill, (child, 9)) if timeout else None
            if timer is not None:
                timer.start()
            try:
                status = self._reply()["status"]
            finally:
                if timer is not None:
                    timer.cancel()
            return subprocess.CompletedProcess(
                ["pytest", *request["args"]],
                status,
                out.read_text(errors="replace") if out.exists() else "",
                err.read_text(errors="replace") if err.exists() else "",
            )

    def close(self) -> None:
        self.process.stdin.close()  # its loop ends: it exits
        self.process.wait(timeout=30)
        self.process.stdout.close()


class ForkServers:
    """A server per calling thread (the mutation score's jobs), started on first use."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.local = threading.local()
        self.started: list[ForkServer] = []
        self.lock = threading.Lock()

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        server = getattr(self.local, "server", None)
        if server is None:
            server = self.local.server = ForkServer(self.cwd)
            with self.lock:
                self.started.append(server)
        return server.run(args, **kwargs)

    def close(self) -> None:
        for server in self.started:
            server.close()

    def __enter__(self) -> ForkServers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
