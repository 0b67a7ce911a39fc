"""The HTML pages report.py writes beside the Allure report: one look, and links between them."""

from __future__ import annotations

import html
import re

PAGES = {
    "conformance-matrix.html": "conformance matrix",
    "response-coverage.html": "response coverage",
    "version-changelog.html": "version changelog",
    "drift.html": "drift",
    "index.html": "test report",
}

STYLE = (
    "body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "table{border-collapse:collapse}.verdict{font-size:18px;font-weight:bold;padding:10px 14px;margin:0 0 6px}"
    ".verdict.passed{background:#c8e6c9}.verdict.failed{background:#ffcdd2}.verdict.error{background:#d1c4e9}"
    ".verdict.waived{background:#bbdefb}"
    ".run{color:#555;margin:0 0 1em}small{color:#555}"
)


# every page loads only what it carries (inline scripts and styles, data: and blob: URLs): the
# browser refuses any request to another origin, whatever a generator adds to a page
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' data: blob:; "
    "style-src 'unsafe-inline' data: blob:; img-src data: blob:; font-src data: blob:; "
    "connect-src data: blob:; worker-src data: blob:; form-action 'none'"
)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
# the Allure 3 "awesome" report always adds Google Analytics (gtag.js and its config), with no
# option to turn it off: removed, the policy above being the guarantee
ANALYTICS = re.compile(
    r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*<script>[^<]*gtag\([^<]*</script>'
)


def private(page_html: str) -> str:
    """A generated page made private: the analytics removed, the policy first in its head."""
    page_html = ANALYTICS.sub("", page_html)
    head = re.search(r"<head[^>]*>", page_html)
    if head is None:
        return CSP_META + page_html
    return page_html[: head.end()] + CSP_META + page_html[head.end() :]


def page(name: str, title: str, body: str) -> str:
    """A whole page: its title, the links to every other page, then ``body`` (already HTML)."""
    links = " · ".join(f"<a href='{other}'>{label}</a>" for other, label in PAGES.items() if other != name)
    return (
        f"<!doctype html><meta charset=utf-8>{CSP_META}<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<h1>{html.escape(title)}</h1><p>{links}</p>{body}"
    )


def banner(run: dict | None) -> str:
    """The run's verdict line and what the run was, as every page opens."""
    if not run:
        return ""
    headline = run.get("headline", "")
    kind = {"passed": "passed", "failed": "failed", "waived": "waived"}.get(run.get("state", ""), "error")
    facts = (
        f"run {run['time']} · target {run['target']} · versions {', '.join(run['versions'])} · "
        f"seed {run['seed']} · profile {run['profile']} · commit {run['commit']}"
    )
    return f"<p class='verdict {kind}'>{html.escape(headline)}</p><p class='run'>{html.escape(facts)}</p>"


def stamped(page_html: str, run: dict | None) -> str:
    """A page of ``page`` with the run's banner above its title."""
    return page_html.replace("<h1>", banner(run) + "<h1>", 1)
