"""The run's verdict from its outcomes: each rule's state per version (the matrix), and the one
line that says, in the project's words, what broke (the terminal's last line, every page's banner)."""

from __future__ import annotations

from conformance.contract import rules

CELL = {
    "failed": "failed",
    "waived": "waived",
    "advisory": "advisory",
    "passed": "passed",
    "suite error": "suite error",
    None: "not exercised",
}


STATES = ("passed", "failed", "waived", "advisory", "not exercised", "suite error")  # as pages list them


def matrix(verdicts: dict) -> dict[str, dict[str, str | None]]:
    """rule -> version -> passed | failed | waived | advisory | suite error | None (not exercised)."""
    catalogue = rules.catalogue()
    versions = sorted({v for rule in catalogue.values() for v in rule.versions})
    cells: dict[str, dict[str, str | None]] = {rule_id: dict.fromkeys(versions) for rule_id in catalogue}
    # a suite error judged nothing: it shows only where no test gave the rule a verdict
    # a waived failure is still a MUST rule broken: above an advisory, below a failure not waived
    rank = {None: 0, "suite error": 0.5, "passed": 1, "advisory": 2, "waived": 2.5, "failed": 3}
    for outcome in verdicts.get("outcomes", []):
        if outcome["when"] != "call" or outcome["outcome"] == "skipped":
            continue
        if outcome["outcome"] == "suite-error":
            for rule_id in outcome["declared"]:
                for version in [outcome["version"]] if outcome["version"] in versions else versions:
                    if version in catalogue[rule_id].versions:
                        cells[rule_id][version] = max(
                            cells[rule_id][version], "suite error", key=lambda s: rank[s]
                        )
            continue
        broken = set(outcome["rules"])
        bad = {"xfailed": "advisory", "waived": "waived"}.get(outcome["outcome"], "failed")
        applies = [outcome["version"]] if outcome["version"] in versions else versions
        for rule_id in set(outcome["declared"]) | broken:
            # the rules a failure names are broken; a failing test that names none broke its own rule
            failing = rule_id in broken or (outcome["outcome"] != "passed" and not broken)
            state = bad if failing else "passed"
            for version in applies:
                if version in catalogue[rule_id].versions:
                    cells[rule_id][version] = max(cells[rule_id][version], state, key=lambda s: rank[s])
    return cells


def strip(cells: dict[str, dict[str, str | None]]) -> dict[str, dict[str, int]]:
    """Per version: how many rules passed, failed, were waived or advisory, suite errors, not exercised."""
    catalogue = rules.catalogue()
    versions = sorted({v for row in cells.values() for v in row})
    counts = {v: dict.fromkeys(STATES, 0) for v in versions}
    for rule_id, row in cells.items():
        for version, state in row.items():
            if version in catalogue[rule_id].versions:
                counts[version][CELL[state]] += 1
    return counts


def _listed(pairs: list[tuple[str, list[str]]], most: int = 4) -> str:
    shown = [f"{rule} on {', '.join(versions)}" for rule, versions in pairs[:most]]
    more = f" and {len(pairs) - most} more" if len(pairs) > most else ""
    return "; ".join(shown) + more


def headline(verdicts: dict) -> str:
    """One line: PASSED, FAILED with each broken rule and version, or that the suite itself erred
    or left ad groups changed (neither is a verdict on the target), with the advisories' count."""
    cells = matrix(verdicts)
    catalogue = rules.catalogue()

    def where(state: str) -> list[tuple[str, list[str]]]:
        found = [(rule_id, [v for v, s in row.items() if s == state]) for rule_id, row in cells.items()]
        return [
            (f"{catalogue[rule_id].level} {rule_id}", versions) for rule_id, versions in found if versions
        ]

    failed, waived, advisory = where("failed"), where("waived"), where("advisory")
    expired = [note["text"] for note in verdicts.get("notes", []) if note["kind"] == "waiver-expired"]
    unused = sum(1 for note in verdicts.get("notes", []) if note["kind"] == "waiver-unused")
    calls = [o for o in verdicts.get("outcomes", []) if o["when"] == "call"]
    errors = sum(1 for o in verdicts.get("outcomes", []) if o["outcome"] == "suite-error")
    unrestored = sum(1 for note in verdicts.get("notes", []) if note["kind"] == "restore-failed")
    advisories = f"; {len(advisory)} advisory ({_listed(advisory, 2)})" if advisory else ""
    parts = []
    if unrestored:
        parts.append(f"RESTORE FAILED: {unrestored} ad group(s) not left as the run found them (exit 6)")
    if errors:
        parts.append(
            f"SUITE ERROR: {errors} test(s) raised inside the suite, not a verdict on the target (exit 3)"
        )
    if expired:
        parts.append(f"EXPIRED WAIVER{'S' if len(expired) > 1 else ''}: {'; '.join(expired[:2])}")
    changed = sum(1 for note in verdicts.get("notes", []) if note["kind"] == "watched-changed")
    if changed:  # found by the restore, outside any test: a MUST broken on the run as a whole
        failed = [*failed, (f"MUST INT-OTHER-GROUPS ({changed} watched ad group(s) changed)", ["all"])]
    if failed:
        parts.append(f"FAILED: {_listed(failed)}")
    if waived:
        parts.append(f"WAIVED (accepted, not passed): {_listed(waived)}")
    if not parts:
        versions = sorted({v for row in cells.values() for v in row})
        if not calls:
            return "NOTHING JUDGED: no test ran"
        parts.append(f"PASSED: no MUST rule broken on {', '.join(versions)} ({len(calls)} tests)")
    unused_waivers = f"; {unused} waiver(s) unused" if unused else ""
    return "; ".join(parts) + advisories + unused_waivers


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


def version_state(cells: dict[str, dict[str, str | None]], version: str) -> str:
    """One word for a version, as its badge says it: the worst state of its rules."""
    states = {row[version] for row in cells.values() if version in row}
    for state in ("failed", "suite error", "waived", "advisory"):
        if state in states:
            return state
    return "passed" if "passed" in states else "not exercised"
