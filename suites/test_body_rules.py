"""Schema, version-leak and invariant rules, each judged on every ad group's 200 unpause body."""

from __future__ import annotations

from conformance import schemas
from conformance.checks import success_violations
from conformance.endpoints import unpause_path, version_header
from conformance.rules import Violation


def test_body_rule(api, target, verdicts, tolerance, version, rule_id):
    """One rule of the catalogue on the 200 body of every configured ad group, in one version."""
    shape = schemas.versions()[version]
    found, shown = [], None
    for group_id in target.ad_group_ids:
        exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(version)})
        broken = success_violations(exchange, shape, tolerance, status_rule="VER-SHAPE", rule_ids=[rule_id])
        found += [Violation(v.rule, f"{group_id}: {v.message}") for v in broken]
        if broken and shown is None:
            shown = exchange  # the first offending exchange is the one the failure shows as curl
    verdicts.judge(found, shown, f"{version}, {len(target.ad_group_ids)} ad groups", version)
