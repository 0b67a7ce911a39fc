"""The same ad group seen through every version agrees on what the versions share."""

from __future__ import annotations

import pytest

from conformance.contract import schemas
from conformance.judge.checks import disagreements


@pytest.mark.rule("XVER-CONSISTENT")
def test_same_ad_group_agrees_across_versions(specimens, target, verdicts):
    """Compares the 200 bodies the body rules judged (one per group and version): no new request."""
    versions = [schemas.versions()[name] for name in target.versions]
    if len(versions) < 2:
        pytest.skip(f"needs two versions to compare, the run selects only {target.versions}")
    shared_concepts = set.intersection(*(set(v.shared_fields) for v in versions))
    compared = 0
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
        compared += 1
        (first, first_body), *others = list(seen.values())
        for other, other_body in others:
            found += disagreements(first, first_body, other, other_body, sorted(shared_concepts))
        verdicts.judge(
            found, exchanges[-1], f"ad group {group_id} across {', '.join(target.versions)}", "all"
        )
    if not compared:
        pytest.skip("not exercised: no ad group answered 200 in two versions (the shape tests say why)")
