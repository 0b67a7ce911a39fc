"""Response-space coverage: which documented cases the run's 200 unpause bodies exercised.

"INV-CPC passed" says nothing if no ad group had zero clicks: the "0 when there are no clicks"
branch was never judged. The branches are data, per version:

- from the version's schema (schemas.field_shapes): every value of every closed enum field
  (SCHEMA-ENUM), every other nullable field as null and as set, every array field empty and
  non-empty (SCHEMA-TYPE);
- from the rule catalogue: each rule's ``branches:`` (the zero-denominator cases of the derived
  metrics, CBO vs ad-set budget, the bid targets, …);
- minus what a rule's ``forbids:`` rules out of a 200 unpause body (status paused, BEH-ACTIVATES).

A ``Recorder`` sees every exchange of the run's client and counts, per version, the branches each
200 unpause body hits; the counts travel to the xdist controller on the test reports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from conformance.contract import invariants, rules, schemas

if TYPE_CHECKING:  # only its type: the coverage model needs no network stack
    from conformance.client.http import Exchange

VERSION_HEADER = "api-version-date"


@dataclass(frozen=True)
class Branch:
    version: str
    rule: str
    name: str
    when: tuple[tuple[str, Any], ...]  # (field, condition): every one must hold

    @property
    def key(self) -> str:
        return f"{self.rule}: {self.name}"

    def hit(self, body: dict) -> bool:
        return all(holds(body, name, condition) for name, condition in self.when)


def holds(body: dict, name: str, condition: Any) -> bool:
    """One condition of the rules.yaml vocabulary on one field of a body."""
    if name == "goal":
        verb, _, word = str(condition).partition(" ")
        return invariants.mentions(body, word) == (verb == "mentions")
    if name not in body:
        return False
    value = body[name]
    if condition is None:
        return value is None
    if condition == "set":
        return value is not None
    if condition in ("empty", "non-empty"):
        return isinstance(value, (list, dict)) and (len(value) > 0) == (condition == "non-empty")
    operator, _, operand = str(condition).partition(" ")
    if operator == ">":
        number = invariants.number(body, name)
        return number is not None and number > float(operand)
    if operator == "=":
        try:
            expected = float(operand)
        except ValueError:
            return value == operand
        return invariants.number(body, name) == expected
    raise ValueError(f"unknown coverage condition {name}: {condition!r}")


def _shown(value: Any) -> str:
    return "null" if value is None else str(value)


def _forbidden(version: str) -> list[tuple[str, dict]]:
    return [
        (rule.id, condition)
        for rule in rules.catalogue().values()
        if rule.applies_to(version)
        for condition in rule.forbids
    ]


@cache
def branches(version: str) -> tuple[Branch, ...]:
    """Every documented branch a 200 unpause body of ``version`` can exercise."""
    found = []
    for name, shape in schemas.version_field_shapes(version).items():
        if shape.enum is not None:
            found += [
                Branch(
                    version,
                    "SCHEMA-ENUM",
                    f"{name} = {_shown(v)}",
                    ((name, None if v is None else f"= {v}"),),
                )
                for v in shape.enum
            ]
        elif shape.nullable:
            found += [
                Branch(version, "SCHEMA-TYPE", f"{name} null", ((name, None),)),
                Branch(version, "SCHEMA-TYPE", f"{name} set", ((name, "set"),)),
            ]
        if "array" in shape.types:
            found += [
                Branch(version, "SCHEMA-TYPE", f"{name} empty", ((name, "empty"),)),
                Branch(version, "SCHEMA-TYPE", f"{name} non-empty", ((name, "non-empty"),)),
            ]
    for rule in rules.catalogue().values():
        if rule.applies_to(version):
            found += [
                Branch(version, rule.id, entry["name"], tuple(entry["when"].items()))
                for entry in rule.branches
            ]
    ruled_out = {tuple(condition.items()) for _, condition in _forbidden(version)}
    return tuple(b for b in found if b.when not in ruled_out)


def excluded(version: str) -> list[str]:
    """The values a rule rules out of a 200 unpause body, as the coverage page lists them."""
    return [
        f"{', '.join(f'{k} {_shown(v)}' for k, v in condition.items())} ({rule_id} rules it out)"
        for rule_id, condition in _forbidden(version)
    ]


def requested_version(exchange: Exchange) -> str:
    """The Api-Version-Date the request sent: a registered version, 'no header' or 'unregistered'."""
    sent = [value for name, value in exchange.request_headers if name.lower() == VERSION_HEADER]
    if not sent:
        return "no header"
    return sent[0] if len(sent) == 1 and sent[0] in schemas.versions() else "unregistered"


def body_version(exchange: Exchange) -> str | None:
    """The version a 200 unpause body answers: the header's registered value, or the default
    without the header; None for anything else (another path, an unregistered value)."""
    if (
        exchange.method != "POST"
        or exchange.status != 200
        or not exchange.url.split("?")[0].endswith("/unpause")
    ):
        return None
    asked = requested_version(exchange)
    if asked == "no header":
        return schemas.registry_data()["default"]
    return None if asked == "unregistered" else asked


class Recorder:
    """Counts, per version, how many 200 unpause bodies hit each branch (thread-safe)."""

    def __init__(self) -> None:
        self.hits: dict[str, dict[str, int]] = {}
        self.bodies: dict[str, int] = {}
        self.lock = threading.Lock()

    def observe(self, exchange: Exchange) -> None:
        version = body_version(exchange)
        if version is None:
            return
        try:
            body = exchange.json()
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(body, dict):
            return
        keys = [b.key for b in branches(version) if b.hit(body)]
        with self.lock:
            self.bodies[version] = self.bodies.get(version, 0) + 1
            counts = self.hits.setdefault(version, {})
            for key in keys:
                counts[key] = counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"bodies": dict(self.bodies), "hits": {v: dict(c) for v, c in self.hits.items()}}


def merge(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's coverage from each process's snapshot (xdist workers, the controller)."""
    bodies: dict[str, int] = {}
    hits: dict[str, dict[str, int]] = {}
    for snapshot in snapshots:
        for version, number in snapshot.get("bodies", {}).items():
            bodies[version] = bodies.get(version, 0) + number
        for version, counts in snapshot.get("hits", {}).items():
            merged = hits.setdefault(version, {})
            for key, number in counts.items():
                merged[key] = merged.get(key, 0) + number
    return {"bodies": bodies, "hits": hits}


@dataclass
class VersionCoverage:
    version: str
    bodies: int
    rows: list[tuple[Branch, int]]  # every branch and how many bodies hit it

    @property
    def exercised(self) -> int:
        return sum(1 for _, count in self.rows if count)

    @property
    def gaps(self) -> list[Branch]:
        return [branch for branch, count in self.rows if not count]

    def rule_marks(self) -> dict[str, tuple[int, int]]:
        """rule -> (branches exercised, branches) for every rule that has branches."""
        marks: dict[str, tuple[int, int]] = {}
        for branch, count in self.rows:
            done, total = marks.get(branch.rule, (0, 0))
            marks[branch.rule] = (done + (1 if count else 0), total + 1)
        return marks


def report(coverage: dict[str, Any], versions: list[str] | None = None) -> list[VersionCoverage]:
    versions = versions or list(schemas.versions())
    return [
        VersionCoverage(
            version,
            coverage.get("bodies", {}).get(version, 0),
            [(b, coverage.get("hits", {}).get(version, {}).get(b.key, 0)) for b in branches(version)],
        )
        for version in versions
    ]


def gap_lines(coverage: dict[str, Any]) -> list[str]:
    """One line per branch never exercised, naming the rule it leaves untested (terminal summary)."""
    lines = []
    for entry in report(coverage):
        lines += [
            f"{entry.version}: {b.name} never seen, so {b.rule} was not judged on it" for b in entry.gaps
        ]
    return lines


def summary_line(coverage: dict[str, Any]) -> str:
    parts = [f"{e.version} {e.exercised}/{len(e.rows)} from {e.bodies} bodies" for e in report(coverage)]
    return "response coverage (documented branches seen in 200 bodies): " + "; ".join(parts)
