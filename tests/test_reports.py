"""The published artifacts: a known token never appears in any of them, failures carry their
rule, quote, request, response and curl line, and the HTML report renders with the run's totals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from conformance.judge import coverage
from conformance.report import verdict
from tests.conftest import shared_run

pytestmark = pytest.mark.subprocess  # every test here reads a run of the report generator

ROOT = Path(__file__).resolve().parent.parent
KNOWN_TOKEN = "tok-KNOWN-9f8e7d6c5b4a-secret"
FAULTS = ["auth-raw-token", "auth-any-bearer", "ctr-as-percent", "frequency-drift"]


def run_conformance(
    reports: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONFORMANCE_REPORTS_DIR": str(reports), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "conformance.report", "run", "--", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def recorded(completed: subprocess.CompletedProcess) -> dict:
    return {
        "args": completed.args,
        "returncode": completed.returncode,
        "stdout": completed.stdout,
        "stderr": completed.stderr,
    }


@pytest.fixture(scope="module", params=FAULTS)
def faulty_run(request, tmp_path_factory):
    def build(reports: Path) -> dict:
        args = ("--api-token", KNOWN_TOKEN, f"--mock-fault={request.param}", "--hypothesis-profile=verdict")
        return recorded(run_conformance(reports, *args))

    reports, completed = shared_run(tmp_path_factory, f"faulty-{request.param}", build)
    return request.param, reports, subprocess.CompletedProcess(**completed)


def every_artifact(reports: Path):
    for path in reports.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def test_the_token_appears_in_no_artifact_and_no_output(faulty_run):
    fault, reports, completed = faulty_run
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    forms = {KNOWN_TOKEN, quote(KNOWN_TOKEN), KNOWN_TOKEN[4:20]}
    leaks = [
        str(path) for path, content in every_artifact(reports) for form in forms if form.encode() in content
    ]
    leaks += [
        stream
        for stream, text in (("stdout", completed.stdout), ("stderr", completed.stderr))
        if any(form in text for form in forms)
    ]
    assert leaks == [], f"{fault}: the token leaked into {leaks}"
    assert any(reports.rglob("*-attachment*")), "the search ran over real attachments"


@pytest.mark.parametrize("faulty_run", ["auth-raw-token", "ctr-as-percent"], indirect=True)
def test_a_failure_shows_rule_quote_request_response_and_rerun(faulty_run):
    _fault, reports, completed = faulty_run
    assert completed.returncode == 1
    failed = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    failed = [r for r in failed if r["status"] == "failed"]
    assert failed
    result = failed[0]
    message = result["statusDetails"]["message"]
    assert "RuleFailure: " in message
    assert 'docs: "' in message
    # the embedded mock's port is gone after the run: the request by its path, and the rerun command
    assert "request: POST /" in message
    assert "request: curl" not in message
    assert "rerun: ./run conformance " in message
    violation_lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert 1 <= len(violation_lines) <= 5, violation_lines
    names = {a["name"].split(". ", 1)[-1] for a in result["attachments"]}
    assert {"curl", "request", "response", "violations"} <= names
    labels = {label["name"] for label in result["labels"]}
    assert {"epic", "feature", "story"} <= labels
    assert (reports / "junit.xml").read_text().count("<failure") >= 1


@pytest.mark.parametrize("faulty_run", ["frequency-drift"], indirect=True)
def test_a_should_finding_is_reported_and_does_not_fail_the_run(faulty_run):
    _fault, reports, completed = faulty_run
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "advisory findings" in completed.stdout, completed.stdout[-3000:]
    assert "INV-FREQUENCY-RATIO" in completed.stdout, completed.stdout[-3000:]
    matrix = (reports / "conformance-matrix.md").read_text()
    assert "| INV-FREQUENCY-RATIO | SHOULD | n/a | advisory |" in matrix, matrix


def test_strict_makes_should_findings_fail(tmp_path):
    completed = run_conformance(tmp_path, "--mock-fault=frequency-drift", "--strict", "-k", "INV-FREQUENCY")
    assert completed.returncode == 1, completed.stdout[-3000:]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    reports, completed = shared_run(
        tmp_path_factory, "clean", lambda folder: recorded(run_conformance(folder))
    )
    assert completed["returncode"] == 0, completed["stdout"][-3000:]
    return reports


def test_clean_run_writes_every_artifact(clean_run):
    artifacts = ("junit.xml", "allure-results", "conformance-matrix.md", "verdicts.json")
    for name in (*artifacts, "response-coverage.md", "version-changelog.md"):
        assert (clean_run / name).exists(), name
    environment = (clean_run / "allure-results" / "environment.properties").read_text()
    assert "hypothesis.seed=" in environment
    assert "target=embedded mock" in environment
    assert "response.coverage=response-coverage.html" in environment
    every = len(coverage.branches("2026-06-20"))
    assert f"2026-06-20: {every}/{every} branches" in (clean_run / "response-coverage.md").read_text()
    assert "`budget → budget_amount`" in (clean_run / "version-changelog.md").read_text()
    if (ROOT / "node_modules" / ".bin" / "allure").exists():
        assert (clean_run / "html" / "index.html").exists()
        pages = ("conformance-matrix.html", "response-coverage.html", "version-changelog.html", "drift.html")
        for page in pages:
            text = (clean_run / "html" / page).read_text()
            # every page links the other two and the Allure report beside it
            assert all(f"href='{other}'" in text for other in (*pages, "index.html") if other != page), page
        # the Allure report links the pages from the tests they qualify
        results = [json.loads(p.read_text()) for p in (clean_run / "allure-results").glob("*-result.json")]
        links = {link["url"] for result in results for link in result.get("links", [])}
        assert {"response-coverage.html", "version-changelog.html"} <= links


def load_in_chromium(page: Path) -> tuple[str, list[str]]:
    """The page's DOM once rendered, and every URL the page itself asked the network for (the net
    log's requests made for a file:// page; the browser's own background requests are not the
    page's). Names resolve nowhere: a request to another origin is counted, never sent."""
    with tempfile.TemporaryDirectory() as profile:
        net_log = Path(profile) / "net-log.json"
        completed = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}/profile",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--log-net-log={net_log}",
                "--virtual-time-budget=15000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        log = json.loads(net_log.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if names[event["type"]] == "URL_REQUEST_START_JOB"
        and event["params"].get("network_isolation_key", "").startswith("file://")
        and not event["params"]["url"].startswith(("file:", "data:", "blob:"))
    ]
    return completed.stdout, requested


def needs_chromium(reports: Path) -> None:
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (.ci/run installs Debian's chromium): the browser checks cannot run"
        )
    if not (reports / "html" / "index.html").exists():
        pytest.skip("the Allure generator is not installed, so there is no HTML to load")


@pytest.mark.browser
def test_the_network_check_counts_a_request_to_another_origin(clean_run, tmp_path):
    needs_chromium(clean_run)
    page = tmp_path / "phones-home.html"
    page.write_text('<!doctype html><script async src="https://analytics.example/tag.js"></script><p>hi')
    _, requested = load_in_chromium(page)
    assert requested == ["https://analytics.example/tag.js"]


@pytest.mark.parametrize("faulty_run", ["ctr-as-percent"], indirect=True)
@pytest.mark.browser
def test_no_page_of_the_report_requests_anything_outside_its_own_files(clean_run, faulty_run):
    """The published report is private: Allure's page and the suite's pages, clean and failing,
    request nothing from another origin (the Allure 3 report has Google Analytics built in)."""
    needs_chromium(clean_run)
    _, failing, _ = faulty_run
    pages = [*sorted((clean_run / "html").glob("*.html")), *sorted((failing / "html").glob("*.html"))]
    assert len(pages) == 10, pages
    outside = {str(page): load_in_chromium(page)[1] for page in pages}
    assert {page: urls for page, urls in outside.items() if urls} == {}


@pytest.mark.browser
def test_the_html_report_renders_the_totals_in_headless_chromium(clean_run):
    needs_chromium(clean_run)
    index = clean_run / "html" / "index.html"
    verdicts = json.loads((clean_run / "verdicts.json").read_text())
    total = sum(1 for o in verdicts["outcomes"] if o["when"] == "call")
    dom, _ = load_in_chromium(index)
    assert str(total) in dom, f"the rendered page does not show the {total} tests: {dom[:500]}"
    assert "2025-01-01" in dom, "the report is grouped by version"
    assert "2026-06-20" in dom, "the report is grouped by version"


def snapshot(reports: Path) -> dict[str, bytes]:
    return {str(path.relative_to(reports)): content for path, content in every_artifact(reports)}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["--mock-fault=nosuch"],
        ["--collect-only", "-q"],
        ["-k", "no-test-is-named-so"],
    ],
    ids=["help", "version", "usage-error", "collect-only", "nothing-selected"],
)
def test_a_run_that_judges_nothing_leaves_every_report_file_as_it_was(clean_run, tmp_path, args):
    reports = tmp_path / "reports"
    shutil.copytree(clean_run, reports)
    before = snapshot(reports)
    completed = run_conformance(reports, *args)
    assert completed.returncode != 1, completed.stdout[-2000:]
    after = snapshot(reports)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert changed == [], f"{args} changed {changed[:10]}"
    assert not list(reports.glob(".run-*")), "the staging folder is removed"


@pytest.mark.parametrize("faulty_run", ["ctr-as-percent"], indirect=True)
def test_a_failing_run_says_last_which_must_rule_broke_on_which_version(faulty_run):
    _, reports, completed = faulty_run
    assert completed.returncode == 1
    assert completed.stdout.strip().splitlines()[-1] == "FAILED: MUST INV-CTR on 2026-06-20"
    run = json.loads((reports / "verdicts.json").read_text())["run"]
    assert run["headline"] == "FAILED: MUST INV-CTR on 2026-06-20"
    assert {"time", "target", "versions", "seed", "commit"} <= set(run)
    if not (reports / "html").exists():
        pytest.skip("the Allure generator is not installed, so there is no matrix page")
    matrix = (reports / "html" / "conformance-matrix.html").read_text()
    assert matrix.index("FAILED: MUST INV-CTR on 2026-06-20") < matrix.index("<h1>"), (
        "the banner opens the page"
    )
    by_id = json.loads((reports / "html" / "test-results.json").read_text())["byId"]
    (link,) = {link for link in by_id if f"href='index.html#/{link}'" in matrix}
    assert by_id[link]["name"] == (
        "click_through_rate is in [0, 1] and equals clicks / impressions (0 with no impressions) "
        "(INV-CTR, 2026-06-20)"
    ), "the cell links the body rule's test, found by its title"
    assert "click_through_rate=" in matrix, "the failed cell shows its first violation"
    for page in ("response-coverage.html", "version-changelog.html", "drift.html"):
        assert "FAILED: MUST INV-CTR on 2026-06-20" in (reports / "html" / page).read_text(), page


def test_a_clean_run_says_last_that_it_passed(clean_run):
    run = json.loads((clean_run / "verdicts.json").read_text())["run"]
    assert run["headline"].startswith("PASSED: no MUST rule broken on 2025-01-01, 2026-06-20")


@pytest.mark.parametrize("faulty_run", ["ctr-as-percent"], indirect=True)
def test_the_rerun_line_of_a_failure_reproduces_it(faulty_run, tmp_path):
    _fault, _reports, completed = faulty_run
    reruns = [line for line in completed.stdout.splitlines() if line.startswith("rerun: ")]
    assert reruns, completed.stdout[-3000:]
    command = reruns[0].removeprefix("rerun: ")
    assert "--mock-fault=ctr-as-percent" in command
    assert "--hypothesis-seed=" in command
    assert "--alluredir" not in command
    assert "--api-token" not in command
    rerun = subprocess.run(
        ["bash", "-c", command + " -p no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "CONFORMANCE_REPORTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert rerun.returncode == 1, rerun.stdout[-3000:]
    assert " 1 failed" in rerun.stdout or "\n1 failed" in rerun.stdout, rerun.stdout[-2000:]
    assert rerun.stdout.strip().splitlines()[-1].startswith("FAILED: MUST INV-CTR on 2026-06-20")


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_the_embedded_mocks_restore_is_one_line_unless_asked(tmp_path, verbose):
    completed = run_conformance(tmp_path, "-k", "test_body_rule and INV-CTR", *(["-v"] if verbose else []))
    assert completed.returncode == 0, completed.stdout[-3000:]
    per_group = [line for line in completed.stdout.splitlines() if line.startswith("restored: adgrp_")]
    summary = [line for line in completed.stdout.splitlines() if "ad groups restored to their status" in line]
    if verbose:
        assert len(per_group) == 32
        assert summary == []
    else:
        assert per_group == []
        assert summary == ["32 ad groups restored to their status before the run (32 verified with GET)"]


def test_ci_gets_a_job_summary_and_a_badge_per_version(tmp_path):
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    github = {
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "team/ads",
        "GITHUB_RUN_ID": "42",
    }
    reports = tmp_path / "reports"
    completed = run_conformance(reports, "--mock-fault=ctr-as-percent", "-k", "test_body_rule", env=github)
    assert completed.returncode == 1, completed.stdout[-3000:]
    text = summary.read_text()
    assert text.startswith("earlier step\n## Conformance: FAILED: MUST INV-CTR on 2026-06-20\n"), "appended"
    assert "| 2026-06-20 | " in text
    assert "| INV-CTR | MUST | n/a | failed |" in text, "the matrix"
    assert "https://github.example/team/ads/actions/runs/42" in text
    for version, state in (("2025-01-01", "passed"), ("2026-06-20", "failed")):
        svg = (reports / "badges" / f"conformance-{version}.svg").read_text()
        root = ElementTree.fromstring(svg)
        assert root.get("aria-label") == f"conformance {version}: {state}"
        assert "href" not in svg, "a badge links and loads nothing"
        if (reports / "html").exists():
            assert (reports / "html" / "badges" / f"conformance-{version}.svg").read_text() == svg


@pytest.mark.parametrize("faulty_run", ["ctr-as-percent"], indirect=True)
def test_allure_pages_read_as_rules_and_show_a_failure_once(faulty_run):
    _, reports, _ = faulty_run
    if not (reports / "html").exists():
        pytest.skip("the Allure generator is not installed: the results are not tidied for a report")
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    names = [r["name"] for r in results]
    assert len(set(names)) == len(names), "every title tells its test apart"
    assert not [n for n in names if n.startswith("test_")], "titles are rule statements, not function ids"
    assert (
        "click_through_rate is in [0, 1] and equals clicks / impressions (0 with no impressions) (INV-CTR, 2026-06-20)"
        in names
    )
    stories = [[label for label in r["labels"] if label["name"] == "story"] for r in results]
    assert all(len(story) <= 1 for story in stories), "one story each: every test counted once in the tree"
    failed = [r for r in results if r["status"] == "failed"]
    assert len(failed) == 2
    for result in failed:
        assert [label["value"] for label in result["labels"] if label["name"] == "story"] == ["INV-CTR"]
        # titled by the rule it broke, the property test too (its first declared rule is another)
        assert "(INV-CTR, 2026-06-20" in result["name"], result["name"]
        assert "trace" not in result["statusDetails"], "the verdict once, not as message and trace"
        assert result["attachments"][0]["name"] == "violations"
    for path in (reports / "allure-results").glob("*-container.json"):
        container = json.loads(path.read_text())
        assert container["befores"] == container["afters"] == [], "fixtures that went well are not steps"


def test_a_target_error_is_its_own_state_never_its_tests_rules_failed():
    """A test the target stopped (no usable answer) judged none of its rules: they show "target
    error" where no other test judged them, the run's line says TARGET ERROR, and no rule failed."""

    def outcome(test: str, state: str, declared: list[str], error: str = "") -> dict:
        return {
            **{"test": test, "when": "call", "outcome": state, "rules": [], "declared": declared},
            **{"version": "2025-01-01", "error": error, "first": {}},
        }

    stopped = outcome("t::stopped", "target error", ["ERR-JSON", "AUTH-401"], "TargetError: reset")
    verdicts = {"outcomes": [stopped, outcome("t::passed", "passed", ["ERR-JSON"])], "notes": []}
    cells = verdict.matrix(verdicts)
    assert cells["AUTH-401"]["2025-01-01"] == verdict.State.TARGET_ERROR
    assert cells["ERR-JSON"]["2025-01-01"] == verdict.State.PASSED  # another test judged it
    state, line = verdict.verdict_line(verdicts)
    assert state == verdict.State.TARGET_ERROR
    assert line == "TARGET ERROR: 1 test(s) got no usable answer (TargetError: reset)"
