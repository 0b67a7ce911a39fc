"""The run's verdict from its outcomes: each rule's state per version (the matrix), and the one
line that says, in the project's words, what broke (the terminal's last line, every page's banner)."""

from __future__ import annotations

from enum import StrEnum

from conformance.contract import rules
from conformance.judge.notes import NoteKind


class State(StrEnum):
    """Every state a rule's cell and a version's badge can be in, and a test's outcome in
    verdicts.json where it is the suite's own word (waived, target error, suite error); in the
    pages' order."""

    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    ADVISORY = "advisory"
    NOT_EXERCISED = "not exercised"
    TARGET_ERROR = "target error"  # the target gave no usable answer (timeouts, resets): no rule judged
    SUITE_ERROR = "suite error"


# state -> (a matrix cell's background, a badge's colour)
COLOURS = {
    State.PASSED: ("#c8e6c9", "#2e7d32"),
    State.FAILED: ("#ffcdd2", "#c62828"),
    State.WAIVED: ("#bbdefb", "#1565c0"),
    State.ADVISORY: ("#fff3c4", "#f9a825"),
    State.NOT_EXERCISED: ("#eeeeee", "#757575"),
    State.TARGET_ERROR: ("#ffe0b2", "#e65100"),
    State.SUITE_ERROR: ("#d1c4e9", "#6a1b9a"),
}
# a suite or target error judged nothing: it shows only where no test gave the rule a verdict;
# a waived failure is still a MUST rule broken: above an advisory, below a failure not waived
RANK = {
    State.NOT_EXERCISED: 0,
    State.SUITE_ERROR: 0.5,
    State.TARGET_ERROR: 0.75,
    State.PASSED: 1,
    State.ADVISORY: 2,
    State.WAIVED: 2.5,
    State.FAILED: 3,
}


def matrix(verdicts: dict) -> dict[str, dict[str, State]]:
    """rule -> version -> its state."""
    catalogue = rules.catalogue()
    versions = sorted({v for rule in catalogue.values() for v in rule.versions})
    cells = {rule_id: dict.fromkeys(versions, State.NOT_EXERCISED) for rule_id in catalogue}
    for outcome in verdicts.get("outcomes", []):
        if outcome["when"] != "call" or outcome["outcome"] == "skipped":
            continue
        if outcome["outcome"] in (State.SUITE_ERROR, State.TARGET_ERROR):
            for rule_id in outcome["declared"]:
                for version in [outcome["version"]] if outcome["version"] in versions else versions:
                    if version in catalogue[rule_id].versions:
                        cells[rule_id][version] = max(
                            cells[rule_id][version], State(outcome["outcome"]), key=RANK.get
                        )
            continue
        broken = set(outcome["rules"])
        bad = {"xfailed": State.ADVISORY, "waived": State.WAIVED}.get(outcome["outcome"], State.FAILED)
        applies = [outcome["version"]] if outcome["version"] in versions else versions
        for rule_id in set(outcome["declared"]) | broken:
            # the rules a failure names are broken; a failing test that names none broke its own rule
            failing = rule_id in broken or (outcome["outcome"] != "passed" and not broken)
            state = bad if failing else State.PASSED
            for version in applies:
                if version in catalogue[rule_id].versions:
                    cells[rule_id][version] = max(cells[rule_id][version], state, key=RANK.get)
    return cells


def strip(cells: dict[str, dict[str, State]]) -> dict[str, dict[State, int]]:
    """Per version: how many rules passed, failed, were waived or advisory, suite errors, not exercised."""
    catalogue = rules.catalogue()
    versions = sorted({v for row in cells.values() for v in row})
    counts = {v: dict.fromkeys(State, 0) for v in versions}
    for rule_id, row in cells.items():
        for version, state in row.items():
            if version in catalogue[rule_id].versions:
                counts[version][state] += 1
    return counts


def _listed(pairs: list[tuple[str, list[str]]], most: int = 4) -> str:
    shown = [f"{rule} on {', '.join(versions)}" for rule, versions in pairs[:most]]
    more = f" and {len(pairs) - most} more" if len(pairs) > most else ""
    return "; ".join(shown) + more


def headline(verdicts: dict) -> str:
    """One line: PASSED, FAILED with each broken rule and version, or that the suite itself erred
    or left ad groups changed (neither is a verdict on the target), with the advisories' count."""
    return verdict_line(verdicts)[1]


def verdict_line(verdicts: dict) -> tuple[State, str]:
    """The headline and the state its first part says (the banner and the terminal take their
    colour from it): passed, failed, waived, or a suite error for a run that is no verdict
    (nothing judged, a group not left as found, an error of the suite, an expired waiver)."""
    cells = matrix(verdicts)
    catalogue = rules.catalogue()

    def where(state: State) -> list[tuple[str, list[str]]]:
        found = [(rule_id, [v for v, s in row.items() if s == state]) for rule_id, row in cells.items()]
        return [
            (f"{catalogue[rule_id].level} {rule_id}", versions) for rule_id, versions in found if versions
        ]

    failed, waived, advisory = where(State.FAILED), where(State.WAIVED), where(State.ADVISORY)
    expired = [note["text"] for note in verdicts.get("notes", []) if note["kind"] == NoteKind.WAIVER_EXPIRED]
    unused = sum(1 for note in verdicts.get("notes", []) if note["kind"] == NoteKind.WAIVER_UNUSED)
    calls = [o for o in verdicts.get("outcomes", []) if o["when"] == "call"]
    errors = sum(1 for o in verdicts.get("outcomes", []) if o["outcome"] == State.SUITE_ERROR)
    unanswered = [o for o in verdicts.get("outcomes", []) if o["outcome"] == State.TARGET_ERROR]
    unrestored = sum(1 for note in verdicts.get("notes", []) if note["kind"] == NoteKind.RESTORE_FAILED)
    advisories = f"; {len(advisory)} advisory ({_listed(advisory, 2)})" if advisory else ""
    parts: list[str] = []
    first = State.SUITE_ERROR
    if unrestored:
        parts.append(f"RESTORE FAILED: {unrestored} ad group(s) not left as the run found them (exit 6)")
    if errors:
        parts.append(
            f"SUITE ERROR: {errors} test(s) raised inside the suite, not a verdict on the target (exit 3)"
        )
    if expired:
        parts.append(f"EXPIRED WAIVER{'S' if len(expired) > 1 else ''}: {'; '.join(expired[:2])}")
    changed = sum(1 for note in verdicts.get("notes", []) if note["kind"] == NoteKind.WATCHED_CHANGED)
    if changed:  # found by the restore, outside any test: a MUST broken on the run as a whole
        failed = [*failed, (f"MUST INT-OTHER-GROUPS ({changed} watched ad group(s) changed)", ["all"])]
    if failed:
        first = first if parts else State.FAILED
        parts.append(f"FAILED: {_listed(failed)}")
    if unanswered:  # the run fails (exit 1) on the target's account, not under the tests' rules
        first = first if parts else State.TARGET_ERROR
        parts.append(
            f"TARGET ERROR: {len(unanswered)} test(s) got no usable answer ({unanswered[0]['error'][:200]})"
        )
    if waived:
        first = first if parts else State.WAIVED
        parts.append(f"WAIVED (accepted, not passed): {_listed(waived)}")
    if not parts:
        versions = sorted({v for row in cells.values() for v in row})
        if not calls:
            return State.SUITE_ERROR, "NOTHING JUDGED: no test ran"
        first = State.PASSED
        parts.append(f"PASSED: no MUST rule broken on {', '.join(versions)} ({len(calls)} tests)")
    unused_waivers = f"; {unused} waiver(s) unused" if unused else ""
    return first, "; ".join(parts) + advisories + unused_waivers


def reasons(verdicts: dict) -> dict[tuple[str, str], dict[str, str]]:
    """(rule, version) -> the first test that broke it there and its first violation."""
    versions = sorted({v for rule in rules.catalogue().values() for v in rule.versions})
    found: dict[tuple[str, str], dict[str, str]] = {}
    for outcome in verdicts.get("outcomes", []):
        if outcome["when"] != "call" or outcome["outcome"] not in ("failed", "xfailed", "waived"):
            continue
        for rule_id, first in outcome.get("first", {}).items():
            for version in [outcome["version"]] if outcome["version"] in versions else versions:
                found.setdefault(
                    (rule_id, version),
                    {"test": outcome["test"], "title": outcome.get("title", ""), "first": first},
                )
    return found


def version_state(cells: dict[str, dict[str, State]], version: str) -> State:
    """One word for a version, as its badge says it: the worst state of its rules."""
    states = {row[version] for row in cells.values() if version in row}
    for state in (
        State.FAILED,
        State.TARGET_ERROR,
        State.SUITE_ERROR,
        State.WAIVED,
        State.ADVISORY,
        State.PASSED,
    ):
        if state in states:
            return state
    return State.NOT_EXERCISED
