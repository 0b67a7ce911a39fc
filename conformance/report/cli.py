"""``python -m conformance.report run -- [pytest args]``: the conformance run behind ``./run conformance``.

Runs ``pytest suites`` writing reports/junit.xml and reports/allure-results/, then the conformance
matrix, the response coverage, the version changelog and the drift (markdown, and HTML beside the
report), then renders reports/html/ with the pinned Allure 3 generator
(package.json). When the generator cannot be installed the run still succeeds, keeps the
results, and prints how to render them.
"""

from __future__ import annotations

import argparse
import fcntl
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from conformance.contract import changelog, rules
from conformance.judge import coverage
from conformance.judge.notes import NoteKind
from conformance.report import badges, changelog_page, coverage_page, drift_page, pages, verdict, wfc
from conformance.report.notes import note_sections
from conformance.report.verdict import COLOURS, State, matrix

ROOT = Path(__file__).resolve().parents[2]
REPORTS = Path(os.environ.get("CONFORMANCE_REPORTS_DIR", ROOT / "reports"))
RESULTS = REPORTS / "allure-results"
JUNIT = REPORTS / "junit.xml"
HTML = REPORTS / "html"
VERDICTS = REPORTS / "verdicts.json"
WFC_REPORT = REPORTS / "wfc-report.json"  # the run in the Web Fuzzing Commons report format
MATRIX_MD = REPORTS / "conformance-matrix.md"
COVERAGE_MD = REPORTS / "response-coverage.md"
CHANGELOG_MD = REPORTS / "version-changelog.md"
DRIFT_MD = REPORTS / "drift.md"
BADGES = REPORTS / "badges"
ALLURE = ROOT / "node_modules" / ".bin" / "allure"


def run_suites(pytest_args: list[str]) -> tuple[int, Path]:
    """Run the suites with every artifact in a staging folder under reports/ (published only when
    the run judged something: a --help, a usage error or a collection leaves reports/ as it was)."""
    REPORTS.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".run-", dir=REPORTS))
    command = [
        sys.executable,
        "-m",
        "pytest",
        "suites",
        f"--junitxml={staging / JUNIT.name}",
        f"--alluredir={staging / RESULTS.name}",
        f"--verdicts-json={staging / VERDICTS.name}",
        *pytest_args,
    ]
    # the plugin's rerun lines say how this run started
    env = {**os.environ, "CONFORMANCE_RUNNER": os.environ.get("CONFORMANCE_RUNNER", "./run conformance")}
    return subprocess.run(command, cwd=ROOT, check=False, env=env).returncode, staging


def judged(status: int, staging: Path) -> bool:
    """Whether a run's artifacts are a report: the suites ran tests to a verdict (0 passed, 1 failed,
    3 a suite error, 6 a restore failed), not --help, --version, a usage error (4), an interrupt
    (2), no test selected (5) or a collection only (no test ran)."""
    path = staging / VERDICTS.name
    if status not in (0, 1, 3, 6) or not path.exists():
        return False
    outcomes = json.loads(path.read_text(encoding="utf-8")).get("outcomes", [])
    return any(outcome["when"] == "call" for outcome in outcomes)


def publish(staging: Path) -> None:
    """The run's artifacts in place of the last run's, and every page derived from them rebuilt."""
    for name in (JUNIT.name, RESULTS.name, VERDICTS.name):
        published, staged = REPORTS / name, staging / name
        if published.is_dir():
            shutil.rmtree(published)
        elif published.exists():
            published.unlink()
        if staged.exists():
            staged.replace(published)
    shutil.rmtree(staging, ignore_errors=True)


# options that print and exit: nothing to say about reports/ after them
QUIET_OPTIONS = (
    "--help",
    "-h",
    "--version",
    "-V",
    "--fixtures",
    "--markers",
    "--list-faults",
    "--list-profiles",
)


class Mark(NamedTuple):
    """A rule's cell for one version: its state (None where the rule does not apply) and its text."""

    state: State | None
    text: str


def marks(
    cells: dict[str, dict[str, State]], run_coverage: dict | None = None
) -> tuple[list[str], dict[str, list[Mark]]]:
    """The versions (columns), and each rule's mark per version ('n/a' where it does not apply);
    a verdict on a rule whose documented branches the run's bodies only partly hit says so."""
    catalogue = rules.catalogue()
    versions = sorted({v for row in cells.values() for v in row})
    branches = {e.version: e.rule_marks() for e in coverage.report(run_coverage or {}, versions)}

    def mark(rule_id: str, version: str) -> Mark:
        if version not in catalogue[rule_id].versions:
            return Mark(None, "n/a")
        state = cells[rule_id][version]
        done, total = branches.get(version, {}).get(rule_id, (0, 0))
        if run_coverage and state is not State.NOT_EXERCISED and done < total:
            return Mark(state, f"{state} (partly: {done}/{total} branches)")
        return Mark(state, str(state))

    return versions, {rule_id: [mark(rule_id, v) for v in versions] for rule_id in cells}


def by_area(rows: dict[str, list[Mark]]) -> dict[str, list[Mark]]:
    """The rows grouped by the rules' areas (versioning, schema, …, authorization, integrity,
    idempotency, exposure), each area where the catalogue first names it."""
    catalogue = rules.catalogue()
    order = list(dict.fromkeys(rule.area for rule in catalogue.values()))
    return dict(sorted(rows.items(), key=lambda item: order.index(catalogue[item[0]].area)))


def traced(rule: rules.Rule) -> str:
    """Where a rule sits in the field's catalogues: its OWASP API Top 10 (2023) category, WFC code."""
    parts = [rule.owasp] if rule.owasp else []
    parts += [f"WFC {rule.wfc}"] if rule.wfc is not None else []
    return f" ({'; '.join(parts)})" if parts else ""


def each_restore(verdicts: dict) -> bool:
    """Whether the pages list every restore: not for the embedded mock's, unless one failed."""
    embedded = verdicts.get("run", {}).get("embedded", False)
    return not embedded or any(note["kind"] == NoteKind.RESTORE_FAILED for note in verdicts.get("notes", []))


def write_matrix(
    verdicts: dict,
    cells: dict[str, dict[str, str | None]],
    notes: list[dict] | None = None,
    run_coverage: dict | None = None,
) -> str:
    catalogue = rules.catalogue()
    versions, rows = marks(cells, run_coverage)
    lines = [
        "| area | rule | level | " + " | ".join(versions) + " |",
        "|---|---|---|" + "---|" * len(versions),
    ]
    for rule_id, row_marks in by_area(rows).items():
        rule = catalogue[rule_id]
        lines.append(
            f"| {rule.area} | {rule_id} | {rule.level} | " + " | ".join(m.text for m in row_marks) + " |"
        )
    text = "## Conformance matrix\n\n" + "\n".join(lines) + "\n"
    if run_coverage:
        text += f"\n'partly': the run's 200 bodies hit only some of the rule's documented branches ({COVERAGE_MD.name}).\n"
    for heading, entries in note_sections(notes or [], each_restore(verdicts)):
        text += f"\n### {heading}\n\n" + "".join(f"- {entry}\n" for entry in entries)
    MATRIX_MD.write_text(text, encoding="utf-8")
    return text


def allure_test_ids() -> dict[str, str]:
    """Test title -> its page's id in the rendered Allure report (its own ids, not the results');
    the titles are unique in a run (plugin/titles.py)."""
    path = HTML / "test-results.json"
    if not path.exists():
        return {}
    by_id = json.loads(path.read_text(encoding="utf-8")).get("byId", {})
    ids: dict[str, str] = {}
    for test_id, result in by_id.items():
        ids.setdefault(result.get("name", ""), test_id)
    return ids


def matrix_html(
    verdicts: dict,
    cells: dict[str, dict[str, State]],
    notes: list[dict] | None = None,
    run_coverage: dict | None = None,
    test_ids: dict[str, str] | None = None,
) -> str:
    """The matrix page: the verdict, a strip per version, then every rule's cell; a failed or
    advisory cell links to the Allure test that judged it and shows its first violation."""
    versions, marked = marks(cells, run_coverage)
    sections = "".join(
        f"<h2>{html.escape(heading)}</h2><ul>"
        + "".join(f"<li>{html.escape(e)}</li>" for e in entries)
        + "</ul>"
        for heading, entries in note_sections(notes or [], each_restore(verdicts))
    )
    head = "".join(f"<th>{v}</th>" for v in versions)
    rows = rule_rows(versions, marked, verdict.reasons(verdicts), test_ids or {})
    table = f"<table><tr><th>rule</th><th>level</th>{head}<th>what it demands</th></tr>{rows}</table>"
    body = f"<h2>Rules per version</h2><table>{strip_rows(cells)}</table><h2>Every rule</h2>{table}{sections}"
    return pages.page("conformance-matrix.html", "Conformance matrix", body)


def strip_rows(cells: dict[str, dict[str, State]]) -> str:
    """A row per version: how many rules are in each state."""
    return "".join(
        f"<tr><th>{version}</th>"
        + "".join(
            f"<td style='background:{COLOURS[state][0] if counts[state] else '#fff'}'>{counts[state]} {state}</td>"
            for state in State
        )
        + "</tr>"
        for version, counts in verdict.strip(cells).items()
    )


def rule_rows(versions: list[str], marked: dict[str, list[Mark]], why: dict, test_ids: dict[str, str]) -> str:
    """A row per rule, under its area's heading: its cell per version (a failed, advisory or
    waived one links to the test that judged it and shows its first violation), and its text."""
    catalogue = rules.catalogue()

    def cell(rule_id: str, version: str, mark: Mark) -> str:
        text = html.escape(mark.text)
        reason = why.get((rule_id, version))
        if reason is not None and mark.state in (State.FAILED, State.ADVISORY, State.WAIVED):
            test_id = test_ids.get(reason["title"])
            if test_id:
                text = f"<a href='index.html#/{test_id}'>{text}</a>"
            text += f"<br><small>{html.escape(reason['first'])}</small>"
        background = COLOURS[mark.state][0] if mark.state is not None else "#fff"
        return f'<td style="background:{background}">{text}</td>'

    rows, area = [], None
    for rule_id, row_marks in by_area(marked).items():
        rule = catalogue[rule_id]
        if rule.area != area:
            area = rule.area
            rows.append(f"<tr><th colspan='{len(versions) + 3}'>{html.escape(area)}</th></tr>")
        tds = [cell(rule_id, version, mark) for version, mark in zip(versions, row_marks, strict=True)]
        rows.append(
            f"<tr><th title='{html.escape(rule.text)}'>{rule_id}</th><td>{rule.level}</td>{''.join(tds)}"
            f"<td>{html.escape(rule.text + traced(rule))}</td></tr>"
        )
    return "".join(rows)


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


def render_html() -> bool:
    """Render reports/html/ with the pinned Allure 3; False (with instructions) when impossible."""
    if not ALLURE.exists() and shutil.which("npm"):
        # one installer at a time: parallel runs (xdist workers, CI shards) would clobber node_modules
        with open(ROOT / ".npm-install.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not ALLURE.exists():
                print("report: installing the pinned Allure 3 generator (npm ci)…", file=sys.stderr)
                subprocess.run(
                    ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=False
                )
    if not ALLURE.exists():
        print(
            "report: the Allure generator is not installed, so reports/html/ was not written. The results are "
            f"kept in {RESULTS}; render them with `npm ci && npx allure generate {RESULTS} -o {HTML}`.",
            file=sys.stderr,
        )
        return False
    if HTML.exists():
        shutil.rmtree(HTML)
    tidy_results(RESULTS)
    completed = subprocess.run(
        [str(ALLURE), "generate", str(RESULTS), "--output", str(HTML)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        print(
            f"report: allure generate failed ({completed.returncode}); results kept in {RESULTS}\n"
            f"{completed.stderr[-2000:]}",
            file=sys.stderr,
        )
        return False
    index = HTML / "index.html"
    index.write_text(pages.private(index.read_text(encoding="utf-8")), encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.report")
    parser.add_argument("command", choices=["run", "render"])
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    pytest_args = [a for a in args.pytest_args if a != "--"]
    if args.command == "run":
        status, staging = run_suites(pytest_args)
        if not judged(status, staging):
            shutil.rmtree(staging, ignore_errors=True)
            if status not in (0, 5) or not any(a in pytest_args for a in QUIET_OPTIONS):
                print(
                    f"report: this run judged nothing (exit {status}); {REPORTS} is left as it was",
                    file=sys.stderr,
                )
            return status
        publish(staging)
    else:
        status = 0
    if not VERDICTS.exists():
        print(f"report: no {VERDICTS} to render; run `./run conformance` first", file=sys.stderr)
        return 4
    verdicts = json.loads(VERDICTS.read_text(encoding="utf-8"))
    cells = matrix(verdicts)
    notes, run_coverage = verdicts.get("notes", []), verdicts.get("coverage") or {}
    write_matrix(verdicts, cells, notes, run_coverage)
    WFC_REPORT.write_text(json.dumps(wfc.report(verdicts), indent=1), encoding="utf-8")
    COVERAGE_MD.write_text(coverage_page.markdown(run_coverage), encoding="utf-8")
    versions_changelog = changelog.changelog(changelog.SchemasFolder(changelog.SCHEMAS_DIR))
    CHANGELOG_MD.write_text(changelog.markdown(versions_changelog), encoding="utf-8")
    run_drift, compare = verdicts.get("drift"), verdicts.get("compare")
    DRIFT_MD.write_text(drift_page.markdown(run_drift, compare), encoding="utf-8")
    matrix_markdown = MATRIX_MD.read_text(encoding="utf-8")
    for name, svg in badges.version_badges(verdicts).items():
        BADGES.mkdir(exist_ok=True)
        (BADGES / name).write_text(svg, encoding="utf-8")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(badges.step_summary(verdicts, matrix_markdown))
    rendered = render_html()
    if rendered:
        extra_pages = {
            "conformance-matrix.html": matrix_html(verdicts, cells, notes, run_coverage, allure_test_ids()),
            "response-coverage.html": coverage_page.html_page(run_coverage),
            "version-changelog.html": changelog_page.html_page(versions_changelog),
            "drift.html": drift_page.html_page(run_drift, compare),
        }
        for name, page in extra_pages.items():
            (HTML / name).write_text(pages.stamped(page, verdicts.get("run")), encoding="utf-8")
        shutil.copytree(BADGES, HTML / "badges")  # published with the report (GitHub Pages)
        print(
            f"report: {HTML / 'index.html'} (and beside it {', '.join(extra_pages)}); "
            f"also in {MATRIX_MD.parent}: {MATRIX_MD.name}, {COVERAGE_MD.name}, {CHANGELOG_MD.name}, {DRIFT_MD.name}",
            file=sys.stderr,
        )
    if verdicts.get("run"):
        print(verdicts["run"]["headline"], flush=True)  # the verdict stays the last line
    return status
