"""The kinds of note a run makes: facts that are no verdict (a census, a restore, a lag, a waiver)."""

from __future__ import annotations

from enum import StrEnum


class NoteKind(StrEnum):
    """What a note is about, as verdicts.json spells it (report/notes.py gives each its heading)."""

    CENSUS = "census"
    NOT_EXERCISED = "not-exercised"
    NOT_PAUSABLE = "not-pausable"
    SIDE_EFFECTS_UNCHECKED = "side-effects-unchecked"
    WAIVER_EXPIRED = "waiver-expired"
    WAIVER_USED = "waiver-used"
    WAIVER_UNUSED = "waiver-unused"
    WATCHED_CHANGED = "watched-changed"
    RESTORE_FAILED = "restore-failed"
    RESTORED = "restored"
    READ_LAG = "read-lag"
    IDENTITY = "identity"
