"""What the run was (time, target, versions, seed, commit) for every artifact, and its verdict
line, printed last in the terminal."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance import __version__
from conformance.plugin.keys import AHEAD, SEED, STARTED_AT, TARGET, VERDICTS
from conformance.plugin.target import shown_url
from conformance.report.verdict import State

HEADLINE = pytest.StashKey[tuple]()  # (State, the verdict line)


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
    context = run_context(config)
    environment = {
        "target": context["target"],
        "versions": ", ".join(context["versions"]),
        "suite": context["suite"],
        "hypothesis.profile": context["profile"],
        "hypothesis.seed": str(context["seed"]),
        "git.commit": context["commit"],
        "started": context["time"],
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


def run_context(config: pytest.Config) -> dict:
    """The run as every artifact names it; the target shown redacted (a URL's credentials never)."""
    target = config.stash[TARGET]
    where = "embedded mock" if target.embedded else shown_url(target.base_url)
    if target.embedded and target.mock_profile != "default":
        where += f" (profile {target.mock_profile})"
    if target.mock_fault:
        where += f" (fault {target.mock_fault})"
    redact = config.stash[VERDICTS].redact
    return {
        "time": config.stash.get(STARTED_AT, datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "target": redact(where),
        "versions": list(target.versions),
        "suite": f"unpause-conformance {__version__}",
        "profile": config.getoption("hypothesis_profile"),
        "seed": config.stash[SEED],
        "commit": git_commit(),
        "embedded": target.embedded,
        # the property-based tests ran beside the example tests, each on its half of the groups
        "property_tests_ahead": AHEAD in config.stash,
    }


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The verdict, in the project's words, as the terminal's last line (after pytest's counts)."""
    said = config.stash.get(HEADLINE, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if said is None or reporter is None:
        return
    state, line = said
    passed, waived = state == State.PASSED, state == State.WAIVED
    reporter.write_line(line, bold=True, green=passed, yellow=waived, red=not (passed or waived))


# options whose value the rerun command never repeats: secrets, and where this run wrote its files
SECRET_OPTIONS = ("--api-token", "--compare-api-token")
# (and where an installed run's settings are: unpause-conformance run adds them)
OUTPUT_OPTIONS = (
    "--junitxml",
    "--junit-xml",
    "--alluredir",
    "--verdicts-json",
    "--clean-alluredir",
    "-c",
    "--rootdir",
)
SELECTION_OPTIONS = ("-k", "--hypothesis-seed", "-x", "--exitfirst", "-n", "--numprocesses", "--dist")


def rerun_command(config: pytest.Config, item: pytest.Item) -> str:
    """The command that reproduces this test as this run ran it: the same options (secrets left
    to the environment), the run's seed, and only this test; as ``./run conformance`` where that
    is how the run started (CONFORMANCE_RUNNER)."""
    args, kept, skip = list(config.invocation_params.args), [], False
    for arg in args:
        name = arg.split("=", 1)[0]
        if skip:
            skip = False
            continue
        if name in (*SECRET_OPTIONS, *OUTPUT_OPTIONS, *SELECTION_OPTIONS):
            skip = "=" not in arg and name not in ("--clean-alluredir", "-x", "--exitfirst")
            continue
        if not arg.startswith("-") and (arg.split("::")[0].endswith(".py") or Path(arg).name == "suites"):
            continue  # a path: the selection is this test's
        kept.append(arg)
    runner = os.environ.get("CONFORMANCE_RUNNER") or "pytest suites"
    name = item.nodeid.split("::")[-1]
    command = [runner, *(shlex.quote(arg) for arg in kept), f"--hypothesis-seed={config.stash[SEED]}"]
    return " ".join([*command, "-k", shlex.quote(name)])
