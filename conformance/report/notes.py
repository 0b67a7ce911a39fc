"""The run's notes (no verdicts: census, restores, lags, waivers) under their headings, as every report shows them."""

from __future__ import annotations

# the run's notes that are no verdict, as the matrix shows them: kind -> heading
NOTE_HEADINGS = {
    "not-exercised": "Ad groups not exercised (no 200 unpause could be had: neither passed nor failed)",
    "not-pausable": "Ad groups the state tests could not use (they cannot be paused; judged on their 200 bodies only)",
    "side-effects-unchecked": "Side-effect checks with nothing to check (BEH-REFUSAL-INERT)",
    "waiver-expired": "EXPIRED WAIVERS: they waive nothing and fail the run; renew or remove them",
    "waiver-used": "Waived failures (accepted until the date given, not passed)",
    "waiver-unused": "Unused waivers (nothing they cover failed: remove them?)",
    "watched-changed": "FAILED: MUST INT-OTHER-GROUPS: ad groups no request was sent changed during the run (the run fails)",
    "restore-failed": "RESTORE FAILED: ad groups NOT left as the run found them (the run fails, exit 6)",
    "restored": "Ad groups restored to their status before the run",
    "read-lag": "What the run measured of the target's read (GET /ad_groups/{id})",
    "identity": "The run's other identities (another account's token, a token without ad_campaign:update)",
}


def note_sections(notes: list[dict], each_restore: bool = True) -> list[tuple[str, list[str]]]:
    """The notes under their headings. ``each_restore`` False (the embedded mock, thrown away after
    the run, unless a restore failed or -v): the restores as one line."""
    sections = []
    unexercised = {note["group"] for note in notes if note["kind"] == "not-exercised"}
    for kind, heading in NOTE_HEADINGS.items():
        lines = [
            note["text"]
            for note in notes
            if note["kind"] == kind and not (kind == "not-pausable" and note["group"] in unexercised)
        ]
        if kind == "restored" and lines and not each_restore:
            verified = sum(1 for line in lines if line.endswith("verified with GET)"))
            lines = [
                f"{len(lines)} ad groups restored to their status before the run ({verified} verified with GET)"
            ]
        if lines:
            sections.append((heading, lines))
    return sections
