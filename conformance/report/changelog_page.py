"""The version changelog as an HTML page (its markdown and the guard are conformance.contract.changelog)."""

from __future__ import annotations

import html

from conformance.contract.changelog import VersionPair, entry, grouped
from conformance.report import pages


def html_page(pairs: list[VersionPair]) -> str:
    sections = []
    for pair in pairs:
        body = "".join(
            f"<h3>{heading} ({len(changes)})</h3><ul>"
            + "".join(f"<li><code>{html.escape(entry(c))}</code></li>" for c in changes)
            + "</ul>"
            for heading, changes in grouped(pair)
        )
        sections.append(f"<h2>{pair.old} → {pair.new}</h2>{body or '<p>No change to the fields.</p>'}")
    intro = (
        "<p>Computed from the dated schemas: fields of the 200 body, nested members as 'object/member' and "
        "'array[]/member'.</p>"
    )
    return pages.page("version-changelog.html", "Version changelog", intro + "".join(sections))
