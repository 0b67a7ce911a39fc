"""The same ad group seen through every version agrees on what the versions share."""

from __future__ import annotations

import pytest

from conformance import schemas
from conformance.checks import body_of, json_violations, violation
from conformance.endpoints import unpause_path, version_header
from conformance.rules import _instant


def comparable(concept: str, value):
    """Normalise a shared value: instants for timestamps, numbers as floats."""
    if concept == "created_at":
        return _instant(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


@pytest.mark.rule("XVER-CONSISTENT")
def test_same_ad_group_agrees_across_versions(api, target, verdicts):
    versions = [schemas.versions()[name] for name in target.versions]
    if len(versions) < 2:
        pytest.skip(f"needs two versions to compare, the run selects only {target.versions}")
    shared_concepts = set.intersection(*(set(v.shared_fields) for v in versions))
    for group_id in target.ad_group_ids:
        seen, found, exchanges = {}, [], []
        for version in versions:
            exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(version.name)})
            exchanges.append(exchange)
            found += json_violations(exchange)
            body = body_of(exchange)
            if exchange.status == 200 and body is not None:
                seen[version.name] = (version, body)
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
