"""Drift between two targets as terminal lines, markdown and an HTML page (measured by conformance.judge.drift)."""

from __future__ import annotations

import html
from typing import Any

from conformance.report import pages

TITLE = "Drift between two targets"


def difference_line(entry: dict[str, Any]) -> str:
    """One drift entry (conformance.judge.drift.Difference, as verdicts.json holds it)."""
    count = entry["count"]
    return (
        f"{entry['rule']} [{entry['version']}] {entry['aspect']}: target {entry['target']}, compare "
        f"{entry['compare']} ({count} request{'s' if count != 1 else ''}, e.g. {entry['example']})"
    )


def lines(drift: dict[str, Any]) -> list[str]:
    found = [difference_line(entry) for entry in drift.get("entries", [])]
    if drift.get("stopped"):
        found.append(f"the compare target stopped answering: {drift['stopped']}")
    return found


def summary(drift: dict[str, Any], compare_url: str) -> str:
    rules_drifting = sorted({e["rule"] for e in drift.get("entries", [])})
    if not drift.get("mirrored"):
        return f"drift against {compare_url}: no request was mirrored"
    if not rules_drifting:
        return f"drift against {compare_url}: none in {drift.get('mirrored', 0)} mirrored requests"
    return (
        f"drift against {compare_url}: {len(drift['entries'])} difference(s) in {drift.get('mirrored', 0)} "
        f"mirrored requests, under {', '.join(rules_drifting)}"
    )


def markdown(drift: dict[str, Any] | None, compare_url: str | None) -> str:
    text = ["## Drift between two targets", ""]
    if not drift or compare_url is None:
        return "\n".join([*text, "No second target was given (`--compare-base-url`)."]) + "\n"
    text += [summary(drift, compare_url) + ".", ""]
    if drift["entries"]:
        text += [
            "| rule | version | aspect | target | compare | requests | e.g. |",
            "|---|---|---|---|---|---|---|",
        ]
        text += [
            f"| {e['rule']} | {e['version']} | {e['aspect']} | {e['target']} | {e['compare']} | {e['count']} "
            f"| `{e['example']}` |"
            for e in drift["entries"]
        ]
    if drift.get("stopped"):
        text += ["", f"The compare target stopped answering: {drift['stopped']}"]
    return "\n".join(text) + "\n"


def html_page(drift: dict[str, Any] | None, compare_url: str | None) -> str:
    if not drift or compare_url is None:
        return pages.page(
            "drift.html", TITLE, "<p>No second target was given (<code>--compare-base-url</code>).</p>"
        )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(e[k]))}</td>"
            for k in ("rule", "version", "aspect", "target", "compare", "count", "example")
        )
        + "</tr>"
        for e in drift["entries"]
    )
    table = (
        "<table><tr><th>rule</th><th>version</th><th>aspect</th><th>target</th><th>compare</th><th>requests</th>"
        f"<th>e.g.</th></tr>{rows}</table>"
        if rows
        else ""
    )
    stopped = (
        f"<p>The compare target stopped answering: {html.escape(drift['stopped'])}</p>"
        if drift.get("stopped")
        else ""
    )
    return pages.page(
        "drift.html", TITLE, f"<p>{html.escape(summary(drift, compare_url))}.</p>{table}{stopped}"
    )
