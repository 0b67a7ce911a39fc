"""The pinned Allure 3 generator: where it is installed, and rendering a run's results into index.html.

A checkout installs it into its own ``node_modules/`` (``npm ci`` on its package.json); an installed
copy into a cache folder per pinned manifest (``$XDG_CACHE_HOME/unpause-conformance/``), from the
manifest the package carries. Without npm the run keeps its results and says, in one line, how to
render them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conformance.contract import data
from conformance.report import pages

MANIFESTS = ("package.json", "package-lock.json")


def generator_home() -> Path:
    """The folder whose node_modules holds the generator: the checkout's own, or a cache per manifest."""
    checkout = data.checkout()
    if checkout is not None:
        return checkout
    pinned = hashlib.sha256((data.REPORT_MANIFEST.parent / "package-lock.json").read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "unpause-conformance" / f"allure-{pinned}"


def executable(home: Path) -> Path:
    return home / "node_modules" / ".bin" / "allure"


def install(home: Path) -> None:
    """``npm ci`` of the pinned manifest, once: parallel runs (xdist workers, CI shards) wait on a lock."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if executable(home).exists():
            return
        for name in MANIFESTS:
            if not (home / name).exists():
                shutil.copyfile(data.REPORT_MANIFEST.parent / name, home / name)
        print("report: installing the pinned Allure 3 generator (npm ci)…", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=home, check=False)


def tidy_results(results: Path) -> None:
    """What a reader of a test's page needs, not pytest's machinery: fixture set-ups and teardowns
    that went well are dropped (a failing one stays), and a verdict's trace, the same text as its
    message, is not shown twice."""
    for path in results.glob("*-container.json"):
        container = json.loads(path.read_text(encoding="utf-8"))
        for phase in ("befores", "afters"):
            container[phase] = [
                f for f in container.get(phase, []) if f.get("status") in ("failed", "broken")
            ]
        path.write_text(json.dumps(container), encoding="utf-8")
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        details = result.get("statusDetails") or {}
        trace, message = details.get("trace", ""), details.get("message", "")
        if trace and trace.strip() and trace.strip() in message:
            del details["trace"]
            path.write_text(json.dumps(result), encoding="utf-8")


def render(results: Path, html: Path, rerender: str) -> bool:
    """Render ``html/index.html`` from ``results``; False, having said why in one line, when it cannot.
    ``rerender`` is the command that renders them later, once Node is there."""
    home = generator_home()
    if not executable(home).exists() and shutil.which("npm"):
        install(home)
    if not executable(home).exists():
        print(
            f"report: no Allure report ({'npm ci failed' if shutil.which('npm') else 'npm is not installed'}); "
            f"the results are kept in {results}: install Node 20 with npm, then run `{rerender}`.",
            file=sys.stderr,
        )
        return False
    tidy_results(results)
    # the history sits beside the results (reports/history/), wherever the generator is installed
    history = results.parent / "history" / "history.jsonl"
    completed = subprocess.run(
        [
            str(executable(home)),
            "generate",
            str(results),
            "--output",
            str(html),
            "--config",
            str(data.REPORT_MANIFEST.parent / "allurerc.mjs"),
        ],
        env={**os.environ, "CONFORMANCE_ALLURE_HISTORY": str(history)},
        check=False,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        print(
            f"report: allure generate failed ({completed.returncode}); results kept in {results}\n"
            f"{completed.stderr[-2000:]}",
            file=sys.stderr,
        )
        return False
    index = html / "index.html"
    index.write_text(pages.private(index.read_text(encoding="utf-8")), encoding="utf-8")
    return True
