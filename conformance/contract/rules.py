"""The rule catalogue (schemas/rules.yaml) and the body checks that implement its rules.

Body checks are pure functions of one response body: the suites, the mock's honesty tests and
the property tests all call the same code. Behaviour rules (state, auth, errors) are checked by
the tests in suites/, which carry ``@pytest.mark.rule(ID)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from conformance.contract import schemas
from conformance.contract.invariants import BODY_CHECKS, Tolerance


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    versions: tuple[str, ...]
    area: str
    text: str
    source: str
    quote: str
    silent: str = ""  # what the docs leave open here, and the readings the rule accepts
    branches: tuple[dict, ...] = ()  # documented cases a 200 body can exercise (response coverage)
    forbids: tuple[dict, ...] = ()  # values this rule rules out of a 200 unpause body
    owasp: str = ""  # its OWASP API Security Top 10 (2023) category, where it has one
    wfc: int | None = None  # its Web Fuzzing Commons fault code (webfuzzing-commons 0.12.1)

    def applies_to(self, version: str) -> bool:
        return version in self.versions

    @property
    def blocking(self) -> bool:
        return self.level == "MUST"


@cache
def catalogue() -> dict[str, Rule]:
    data = yaml.safe_load((schemas.SCHEMAS_DIR / "rules.yaml").read_text(encoding="utf-8"))
    registered = tuple(schemas.versions())
    rules = {}
    for entry in data["rules"]:
        versions = registered if entry["versions"] == "all" else tuple(entry["versions"])
        rules[entry["id"]] = Rule(
            id=entry["id"],
            level=entry["level"],
            versions=versions,
            area=entry["area"],
            text=entry["text"],
            source=entry["source"],
            quote=entry["quote"],
            silent=entry.get("silent", ""),
            branches=tuple(entry.get("branches", ())),
            forbids=tuple(entry.get("forbids", ())),
            owasp=entry.get("owasp", ""),
            wfc=entry.get("wfc"),
        )
    return rules


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


# -- schema -------------------------------------------------------------------------------

_SCHEMA_RULE_BY_KEYWORD = {
    "required": "SCHEMA-REQUIRED",
    "type": "SCHEMA-TYPE",
    "enum": "SCHEMA-ENUM",
    "format": "SCHEMA-TIMESTAMP",
}


def _schema_rule(error) -> str:
    if error.validator in ("anyOf", "oneOf") and error.context:
        keywords = {sub.validator for sub in error.context}
        if "format" in keywords:
            return "SCHEMA-TIMESTAMP"
        if keywords <= {"enum"}:
            return "SCHEMA-ENUM"
    return _SCHEMA_RULE_BY_KEYWORD.get(error.validator, "SCHEMA-TYPE")


def schema_violations(version: schemas.Version, body: Any) -> list[Violation]:
    found = []
    for error in schemas.validation_errors(version.schema["$id"], body):
        where = "/".join(str(part) for part in error.absolute_path) or "(body)"
        found.append(Violation(_schema_rule(error), f"{where}: {error.message}"))
    return sorted(found, key=lambda v: (v.rule, v.message))


def version_leak_violations(version: schemas.Version, body: Any) -> list[Violation]:
    if not isinstance(body, dict):
        return []
    leaked = sorted(schemas.fields_only_in_other_versions(version) & set(body))
    if not leaked:
        return []
    return [Violation("VER-NO-LEAK", f"{version.name} body carries other versions' fields: {leaked}")]


def invariant_violations(
    version: schemas.Version, body: Any, tol: Tolerance | None = None, only: set[str] | None = None
) -> list[Violation]:
    if not isinstance(body, dict):
        return []
    tol = tol or Tolerance()
    rules = catalogue()
    found = []
    for rule_id, check in BODY_CHECKS.items():
        if rules[rule_id].applies_to(version.name) and (only is None or rule_id in only):
            found.extend(Violation(rule_id, message) for message in check(body, tol))
    return found


def body_violations(
    version: schemas.Version, body: Any, tol: Tolerance | None = None, only: set[str] | None = None
) -> list[Violation]:
    """Every rule a 200 unpause body breaks under ``version``: schema, leak and invariants
    (or only the rules in ``only``, computing nothing else)."""
    found = []
    if only is None or only & set(SCHEMA_RULES):
        found += schema_violations(version, body)
    if only is None or "VER-NO-LEAK" in only:
        found += version_leak_violations(version, body)
    if only is None or only & set(BODY_CHECKS):
        found += invariant_violations(version, body, tol, only)
    return found if only is None else [v for v in found if v.rule in only]


SCHEMA_RULES = ("SCHEMA-REQUIRED", "SCHEMA-TYPE", "SCHEMA-ENUM", "SCHEMA-TIMESTAMP")


def body_rule_ids(version: str) -> list[str]:
    """The rules judged on a 200 body of ``version``, in catalogue order."""
    body_rules = {*SCHEMA_RULES, "VER-NO-LEAK", *BODY_CHECKS}
    return [r.id for r in catalogue().values() if r.id in body_rules and r.applies_to(version)]
