"""What else a request changed: an unpause's group field by field (INT-OTHER-FIELDS), and the
fields a request body named (INT-BODY-IGNORED). Pure functions of bodies the suites obtained."""

from __future__ import annotations

from typing import Any

from conformance.contract import invariants, rules, schemas
from conformance.judge.checks import violation


def assignment(version: str) -> dict[str, Any]:
    """What the mass-assignment check sends as an unpause's body: writable-looking fields of either
    version, each with a value no ad group plausibly has already, another for each version (so the
    check of one version is not blinded by the value the other's left)."""
    cents = sum(map(ord, version)) % 97 + 101
    return {
        "status": "paused",
        "title": f"conformance: mass assignment {version}",
        "budget": cents / 100,
        "budget_amount": cents / 100,
        "bid_type": "maximum_target",
        "desired_cost_per_result": cents / 1000,
        "ad_campaign": {"id": f"adcamp_conformance_{version.replace('-', '')}"},
    }


def _comparable(name: str, value: Any) -> Any:
    """The same value however a server renders it: timestamps as instants, numbers as floats."""
    if name.endswith("_at") and isinstance(value, str):
        return invariants.instant(value) or value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 9)
    if isinstance(value, dict):
        return {key: _comparable(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(name, item) for item in value]
    return value


def changed_settings(version: schemas.Version, before: dict, after: dict) -> list[rules.Violation]:
    """INT-OTHER-FIELDS: every setting of ``version`` (schemas.Version.settings) in ``before`` (the
    pause's answer) that ``after`` (the unpause's) gives another value; a field absent from either
    is the schema rules' matter."""
    found = []
    for name in version.settings:
        if (
            name in before
            and name in after
            and _comparable(name, before[name]) != _comparable(name, after[name])
        ):
            found.append(
                violation(
                    "INT-OTHER-FIELDS",
                    f"{name} was {before[name]!r} before the unpause and {after[name]!r} after it",
                )
            )
    return found


def assigned(before: dict, after: dict, sent: dict[str, Any]) -> list[rules.Violation]:
    """INT-BODY-IGNORED: each field ``sent`` in a request body that ``after`` shows with the value
    sent, where ``before`` had another (a value the group already had proves nothing)."""
    found = []
    for name, value in sent.items():
        if name == "status" or name not in after:
            continue  # an unpause changes status: BEH-ACTIVATES judges it
        now, then = after[name], before.get(name)
        if isinstance(value, dict):  # the members sent (an object may carry more)
            now = {key: now.get(key) for key in value} if isinstance(now, dict) else now
            then = {key: then.get(key) for key in value} if isinstance(then, dict) else then
        if _comparable(name, now) == _comparable(name, value) != _comparable(name, then):
            found.append(
                violation(
                    "INT-BODY-IGNORED",
                    f"{name} was {before.get(name)!r}; the body sent {value!r}, and now it is that",
                )
            )
    return found
