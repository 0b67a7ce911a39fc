"""``python -m conformance.report run -- [pytest args]``: the conformance run behind ``./run conformance``.

Runs ``pytest suites`` writing reports/junit.xml and reports/allure-results/, then the conformance
matrix, the response coverage, the version changelog and the drift (markdown, and HTML beside the
report), then renders reports/html/ with the pinned Allure 3 generator
(package.json). When the generator cannot be installed the run still succeeds, keeps the
results, and prints how to render them.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from conformance.contract import changelog, data, rules
from conformance.judge import coverage
from conformance.judge.notes import NoteKind
from conformance.report import allure, badges, changelog_page, coverage_page, drift_page, pages, verdict, wfc
from conformance.report.notes import note_sections
from conformance.report.verdict import COLOURS, State, matrix


@dataclass(frozen=True)
class Reports:
    """Where a run's artifacts go: ``--reports DIR`` (./reports by default; CONFORMANCE_REPORTS_DIR)."""

    root: Path

    results = property(lambda self: self.root / "allure-results")
    junit = property(lambda self: self.root / "junit.xml")
    html = property(lambda self: self.root / "html")
    verdicts = property(lambda self: self.root / "verdicts.json")
    wfc = property(lambda self: self.root / "wfc-report.json")  # the run in the Web Fuzzing Commons format
    matrix_md = property(lambda self: self.root / "conformance-matrix.md")
    coverage_md = property(lambda self: self.root / "response-coverage.md")
    changelog_md = property(lambda self: self.root / "version-changelog.md")
    drift_md = property(lambda self: self.root / "drift.md")
    badges = property(lambda self: self.root / "badges")


# the artifacts pytest writes, staged and then published together
RUN_ARTIFACTS = ("junit.xml", "allure-results", "verdicts.json")


USAGE_ERROR = 4  # as the suites' own: nothing was sent


def reports_option(args: list[str]) -> tuple[Path | None, list[str]]:
    """``--reports DIR`` (or ``--reports=DIR``), wherever it is among pytest's options, apart from them."""
    folder, rest, it = None, [], iter(args)
    for arg in it:
        if arg == "--reports" or arg.startswith("--reports="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, None)
            if not value:
                raise ValueError("--reports needs a folder")
            folder = Path(value)
        else:
            rest.append(arg)
    return folder, rest


def default_reports() -> Reports:
    return Reports(Path(os.environ.get("CONFORMANCE_REPORTS_DIR") or "reports").absolute())


def suites_command(staging: Path) -> list[str]:
    """pytest over the suites, from wherever it is run (the user's relative paths stay theirs): a
    checkout's suites/ under its pyproject.toml, or an installed copy's with their packaged settings."""
    artifacts = [
        f"--junitxml={staging / 'junit.xml'}",
        f"--alluredir={staging / 'allure-results'}",
        f"--verdicts-json={staging / 'verdicts.json'}",
    ]
    if data.checkout() is not None:
        return [sys.executable, "-m", "pytest", str(data.SUITES), *artifacts]
    ini = data.PYTEST_INI
    return [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(ini),
        f"--rootdir={ini.parent}",
        str(data.SUITES),
        *artifacts,
    ]


def run_suites(reports: Reports, pytest_args: list[str], runner: str) -> tuple[int, Path]:
    """Run the suites with every artifact in a staging folder under reports/ (published only when
    the run judged something: a --help, a usage error or a collection leaves reports/ as it was)."""
    reports.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".run-", dir=reports.root))
    # the plugin's rerun lines say how this run started
    env = {**os.environ, "CONFORMANCE_RUNNER": os.environ.get("CONFORMANCE_RUNNER", runner)}
    completed = subprocess.run([*suites_command(staging), *pytest_args], check=False, env=env)
    return completed.returncode, staging


def judged(status: int, staging: Path) -> bool:
    """Whether a run's artifacts are a report: the suites ran tests to a verdict (0 passed, 1 failed,
    3 a suite error, 6 a restore failed), not --help, --version, a usage error (4), an interrupt
    (2), no test selected (5) or a collection only (no test ran)."""
    path = staging / "verdicts.json"
    if status not in (0, 1, 3, 6) or not path.exists():
        return False
    outcomes = json.loads(path.read_text(encoding="utf-8")).get("outcomes", [])
    return any(outcome["when"] == "call" for outcome in outcomes)


def publish(reports: Reports, staging: Path) -> None:
    """The run's artifacts in place of the last run's, and every page derived from them rebuilt."""
    for name in RUN_ARTIFACTS:
        published, staged = reports.root / name, staging / name
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
    reports: Reports,
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
        text += f"\n'partly': the run's 200 bodies hit only some of the rule's documented branches ({reports.coverage_md.name}).\n"
    for heading, entries in note_sections(notes or [], each_restore(verdicts)):
        text += f"\n### {heading}\n\n" + "".join(f"- {entry}\n" for entry in entries)
    reports.matrix_md.write_text(text, encoding="utf-8")
    return text


def allure_test_ids(html: Path) -> dict[str, str]:
    """Test title -> its page's id in the rendered Allure report (its own ids, not the results');
    the titles are unique in a run (plugin/titles.py)."""
    path = html / "test-results.json"
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


def main(
    argv: list[str] | None = None,
    runner: str = "./run conformance",
    render_command: str = "python -m conformance.report render",
) -> int:
    """``run``: the suites, then every page; ``render``: the pages of the last run again. ``runner``
    and ``render_command`` are how the user started it, for the lines that tell them what to run."""
    parser = argparse.ArgumentParser(prog="python -m conformance.report")
    parser.add_argument("command", choices=["run", "render"])
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        folder, pytest_args = reports_option([a for a in args.pytest_args if a != "--"])
    except ValueError as error:
        print(f"report: {error}", file=sys.stderr)
        return USAGE_ERROR
    reports = Reports(folder.absolute()) if folder else default_reports()
    status = 0
    if args.command == "run":
        existed = reports.root.exists()
        status, staging = run_suites(reports, pytest_args, runner)
        if not judged(status, staging):
            shutil.rmtree(staging, ignore_errors=True)
            if not existed:
                reports.root.rmdir()  # made for the staging folder only
            if status not in (0, 5) or not any(a in pytest_args for a in QUIET_OPTIONS):
                print(
                    f"report: this run judged nothing (exit {status}); {reports.root} is left as it was",
                    file=sys.stderr,
                )
            return status
        publish(reports, staging)
    if not reports.verdicts.exists():
        print(f"report: no {reports.verdicts} to render; run `{runner}` first", file=sys.stderr)
        return 4
    verdicts = json.loads(reports.verdicts.read_text(encoding="utf-8"))
    write_pages(
        reports, verdicts, rerender=f"{runner.replace(' conformance', '').replace(' run', '')} render"
    )
    if verdicts.get("run"):
        print(verdicts["run"]["headline"], flush=True)  # the verdict stays the last line
    return status


def write_pages(reports: Reports, verdicts: dict, rerender: str) -> None:
    """Every page derived from verdicts.json (markdown, WFC, badges, the job summary), then the HTML:
    the Allure report where the generator can run, and the matrix pages beside it in any case."""
    cells = matrix(verdicts)
    notes, run_coverage = verdicts.get("notes", []), verdicts.get("coverage") or {}
    matrix_markdown = write_matrix(reports, verdicts, cells, notes, run_coverage)
    reports.wfc.write_text(json.dumps(wfc.report(verdicts), indent=1), encoding="utf-8")
    reports.coverage_md.write_text(coverage_page.markdown(run_coverage), encoding="utf-8")
    versions_changelog = changelog.changelog(changelog.SchemasFolder(changelog.SCHEMAS_DIR))
    reports.changelog_md.write_text(changelog.markdown(versions_changelog), encoding="utf-8")
    run_drift, compare = verdicts.get("drift"), verdicts.get("compare")
    reports.drift_md.write_text(drift_page.markdown(run_drift, compare), encoding="utf-8")
    for name, svg in badges.version_badges(verdicts).items():
        reports.badges.mkdir(exist_ok=True)
        (reports.badges / name).write_text(svg, encoding="utf-8")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(badges.step_summary(verdicts, matrix_markdown))
    # a stale index.html beside this run's matrix would contradict it: the folder is rebuilt whole
    shutil.rmtree(reports.html, ignore_errors=True)
    rendered = allure.render(reports.results, reports.html, rerender)
    reports.html.mkdir(parents=True, exist_ok=True)
    extra_pages = {
        "conformance-matrix.html": matrix_html(
            verdicts, cells, notes, run_coverage, allure_test_ids(reports.html)
        ),
        "response-coverage.html": coverage_page.html_page(run_coverage),
        "version-changelog.html": changelog_page.html_page(versions_changelog),
        "drift.html": drift_page.html_page(run_drift, compare),
    }
    for name, page in extra_pages.items():
        (reports.html / name).write_text(pages.stamped(page, verdicts.get("run")), encoding="utf-8")
    if reports.badges.exists():
        shutil.copytree(reports.badges, reports.html / "badges")  # published with the report (GitHub Pages)
    beside = ("index.html and beside it " if rendered else "") + ", ".join(extra_pages)
    print(
        f"report: {reports.html}: {beside}; also in {reports.root}: {reports.matrix_md.name}, "
        f"{reports.coverage_md.name}, {reports.changelog_md.name}, {reports.drift_md.name}",
        file=sys.stderr,
    )
