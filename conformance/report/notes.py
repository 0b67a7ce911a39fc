"""The run's notes (no verdicts: census, restores, lags, waivers) under their headings, as every report shows them."""

from __future__ import annotations

from conformance.judge.notes import NoteKind

# the run's notes that are no verdict, as the matrix shows them: kind -> heading
NOTE_HEADINGS = {
    NoteKind.NOT_EXERCISED: "Ad groups not exercised (no 200 unpause could be had: neither passed nor failed)",
    NoteKind.NOT_PAUSABLE: "Ad groups the state tests could not use (they cannot be paused; judged on their 200 bodies only)",
    NoteKind.SIDE_EFFECTS_UNCHECKED: "Side-effect checks with nothing to check (BEH-REFUSAL-INERT)",
    NoteKind.WAIVER_EXPIRED: "EXPIRED WAIVERS: they waive nothing and fail the run; renew or remove them",
    NoteKind.WAIVER_USED: "Waived failures (accepted until the date given, not passed)",
    NoteKind.WAIVER_UNUSED: "Unused waivers (nothing they cover failed: remove them?)",
    NoteKind.WATCHED_CHANGED: "FAILED: MUST INT-OTHER-GROUPS: ad groups no request was sent changed during the run (the run fails)",
    NoteKind.RESTORE_FAILED: "RESTORE FAILED: ad groups NOT left as the run found them (the run fails, exit 6)",
    NoteKind.RESTORED: "Ad groups restored to their status before the run",
    NoteKind.READ_LAG: "What the run measured of the target's read (GET /ad_groups/{id})",
    NoteKind.IDENTITY: "The run's other identities (another account's token, a token without ad_campaign:update)",
}


def note_sections(notes: list[dict], each_restore: bool = True) -> list[tuple[str, list[str]]]:
    """The notes under their headings. ``each_restore`` False (the embedded mock, thrown away after
    the run, unless a restore failed or -v): the restores as one line."""
    sections = []
    unexercised = {note["group"] for note in notes if note["kind"] == NoteKind.NOT_EXERCISED}
    for kind, heading in NOTE_HEADINGS.items():
        lines = [
            note["text"]
            for note in notes
            if note["kind"] == kind and not (kind == NoteKind.NOT_PAUSABLE and note["group"] in unexercised)
        ]
        if kind == NoteKind.RESTORED and lines and not each_restore:
            verified = sum(1 for note in notes if note["kind"] == kind and note.get("verified"))
            lines = [
                f"{len(lines)} ad groups restored to their status before the run ({verified} verified with GET)"
            ]
        if lines:
            sections.append((heading, lines))
    return sections
