"""The HTML pages report.py writes beside the Allure report: one look, and links between them."""

from __future__ import annotations

import html

PAGES = {
    "conformance-matrix.html": "conformance matrix",
    "response-coverage.html": "response coverage",
    "version-changelog.html": "version changelog",
    "drift.html": "drift",
    "index.html": "test report",
}

STYLE = (
    "body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "table{border-collapse:collapse}"
)


def page(name: str, title: str, body: str) -> str:
    """A whole page: its title, the links to every other page, then ``body`` (already HTML)."""
    links = " · ".join(f"<a href='{other}'>{label}</a>" for other, label in PAGES.items() if other != name)
    return (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<h1>{html.escape(title)}</h1><p>{links}</p>{body}"
    )
