"""What CI shows of a run: a badge per version (SVG, no font, link or request of its own) and the
GitHub job summary (GITHUB_STEP_SUMMARY), both from verdicts.json."""

from __future__ import annotations

import html
import os

from conformance.report import verdict


def badge(label: str, message: str, colour: str) -> str:
    """A flat two-part badge; widths from the text (about 6.5 px a character at 11 px)."""
    left, right = 10 + round(6.5 * len(label)), 10 + round(6.5 * len(message))
    label_text, message_text = html.escape(label), html.escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="20" role="img" '
        f'aria-label="{label_text}: {message_text}"><title>{label_text}: {message_text}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">'
        f'<text x="{left / 2}" y="14">{label_text}</text>'
        f'<text x="{left + right / 2}" y="14">{message_text}</text></g></svg>\n'
    )


def version_badges(verdicts: dict) -> dict[str, str]:
    """File name -> SVG, one per version: ``conformance-2026-06-20.svg`` says passed, failed…"""
    cells = verdict.matrix(verdicts)
    versions = sorted({v for row in cells.values() for v in row})
    found = {}
    for version in versions:
        state = verdict.version_state(cells, version)
        found[f"conformance-{version}.svg"] = badge(
            f"conformance {version}", state, verdict.COLOURS[state][1]
        )
    return found


def step_summary(verdicts: dict, matrix_markdown: str) -> str:
    """The job summary: the verdict, what the run was, the strip per version, the matrix, a link."""
    run = verdicts.get("run", {})
    cells = verdict.matrix(verdicts)
    states = list(verdict.State)
    rows = ["| version | " + " | ".join(states) + " |", "|---|" + "---|" * len(states)]
    for version, counts in verdict.strip(cells).items():
        rows.append(f"| {version} | " + " | ".join(str(counts[s]) for s in states) + " |")
    lines = [
        f"## Conformance: {run.get('headline', 'no verdict')}",
        "",
        f"run {run.get('time', '?')} · target {run.get('target', '?')} · seed {run.get('seed', '?')} · "
        f"commit {run.get('commit', '?')}",
        "",
        *rows,
        "",
    ]
    server, repository, run_id = (
        os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repository and run_id:
        lines += [f"The HTML report is the run's artifact: {server}/{repository}/actions/runs/{run_id}", ""]
    lines += ["<details><summary>Every rule</summary>", "", matrix_markdown, "</details>", ""]
    return "\n".join(lines)
