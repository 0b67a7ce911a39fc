"""Response coverage as markdown and an HTML page (what the run measured: conformance.judge.coverage)."""

from __future__ import annotations

import html
from typing import Any

from conformance.judge.coverage import excluded, report
from conformance.report import pages


def markdown(coverage: dict[str, Any]) -> str:
    text = [
        "## Response coverage",
        "",
        "The documented branches of each version's 200 body (every enum value, every nullable field as "
        "null and set, every array empty and non-empty, and the cases the rules name), and how many of the "
        "run's 200 unpause bodies hit each. A branch never hit is a case the rule beside it was not judged on.",
    ]
    for entry in report(coverage):
        share = f"{entry.exercised}/{len(entry.rows)}"
        text += ["", f"### {entry.version}: {share} branches from {entry.bodies} bodies", ""]
        text += ["| rule | branch | bodies |", "|---|---|---|"]
        text += [f"| {b.rule} | {b.name} | {count or '**never**'} |" for b, count in entry.rows]
        ruled_out = excluded(entry.version)
        if ruled_out:
            text += [
                "",
                "Not branches (a rule rules them out of a 200 unpause body): " + "; ".join(ruled_out),
            ]
    return "\n".join(text) + "\n"


def html_page(coverage: dict[str, Any]) -> str:
    parts, bars = [], []
    for entry in report(coverage):
        share = entry.exercised / len(entry.rows) if entry.rows else 0.0
        bars.append(
            f"<tr><th>{entry.version}</th><td style='width:320px'><div style='background:#eee;height:14px'>"
            f"<div style='background:#2e7d32;height:14px;width:{share:.1%}'></div></div></td>"
            f"<td>{entry.exercised}/{len(entry.rows)} branches ({share:.0%})</td></tr>"
        )
        rows = "".join(
            f"<tr style='background:{'#c8e6c9' if count else '#ffcdd2'}'><td>{b.rule}</td>"
            f"<td>{html.escape(b.name)}</td><td>{count or 'never'}</td></tr>"
            for b, count in entry.rows
        )
        ruled_out = excluded(entry.version)
        note = f"<p>Not branches: {html.escape('; '.join(ruled_out))}</p>" if ruled_out else ""
        parts.append(
            f"<h2>{entry.version}: {entry.exercised}/{len(entry.rows)} branches from {entry.bodies} bodies</h2>"
            f"<table><tr><th>rule</th><th>branch</th><th>bodies</th></tr>{rows}</table>{note}"
        )
    intro = (
        "<p>The documented branches of each version's 200 body, and how many of the run's 200 unpause bodies "
        "hit each. A branch never hit is a case the rule beside it was not judged on.</p>"
    )
    summary = f"<table>{''.join(bars)}</table>"
    return pages.page("response-coverage.html", "Response coverage", intro + summary + "".join(parts))
