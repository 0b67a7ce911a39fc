"""The same ad group seen through every version agrees on what the versions share."""

from __future__ import annotations

import pytest

from conformance import schemas
from conformance.checks import violation
from conformance.rules import _instant


def comparable(concept: str, value):
    """Normalise a shared value: instants for timestamps, numbers as floats."""
    if concept == "created_at":
        return _instant(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


@pytest.mark.rule("XVER-CONSISTENT")
def test_same_ad_group_agrees_across_versions(specimens, target, verdicts):
    """Compares the 200 bodies the body rules judged (one per group and version): no new request."""
    versions = [schemas.versions()[name] for name in target.versions]
    if len(versions) < 2:
        pytest.skip(f"needs two versions to compare, the run selects only {target.versions}")
    shared_concepts = set.intersection(*(set(v.shared_fields) for v in versions))
    for group_id in target.ad_group_ids:
        seen, found, exchanges = {}, [], []
        for version in versions:
            unpaused = specimens.unpause(group_id, version.name, "VER-SHAPE")
            if unpaused.shown is not None:
                exchanges.append(unpaused.shown)
            body = unpaused.body
            if isinstance(body, dict):
                seen[version.name] = (version, body)
        if len(seen) < 2:
            continue  # fewer than two versions answered 200: the shape tests say why
        (first, first_body), *others = list(seen.values()) or [(None, None)]
        for other, other_body in others:
            for concept in sorted(shared_concepts):
                a, b = first.shared(first_body, concept), other.shared(other_body, concept)
                if concept == "status" and not {a, b} <= _common_status(first, other):
                    continue  # a value only one enum has cannot be compared
                if comparable(concept, a) != comparable(concept, b):
                    found.append(
                        violation(
                            "XVER-CONSISTENT", f"{concept}: {first.name} says {a!r}, {other.name} says {b!r}"
                        )
                    )
        verdicts.judge(
            found, exchanges[-1], f"ad group {group_id} across {', '.join(target.versions)}", "all"
        )


def _common_status(a: schemas.Version, b: schemas.Version) -> set:
    return set(a.schema["properties"]["status"]["enum"]) & set(b.schema["properties"]["status"]["enum"])
