"""Schema, version-leak and invariant rules, each judged on every ad group's 200 unpause body."""

from __future__ import annotations

from conformance.contract import schemas
from conformance.contract.rules import Violation
from conformance.judge.checks import success_violations


def test_body_rule(specimens, every_ad_group, verdicts, tolerance, version, rule_id):
    """One rule of the catalogue on the 200 body of every configured ad group, in one version.

    Each (group, version) body is obtained once (specimens.unpause: unpause, or pause then unpause
    where unpause is refused) and judged by every body rule; a group no route brings to a 200 is
    not exercised."""
    shape = schemas.versions()[version]
    attempts = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in every_ad_group]
    found, shown = [], None
    for unpaused in verdicts.exercised(attempts, "a 200 unpause"):
        # what the route to the body broke (a 5xx, a wrong status), then the rule on the body
        broken = [v for v in unpaused.violations if v.rule in ("VER-SHAPE", "ERR-NO-5XX", rule_id)]
        if unpaused.exchange is not None:
            broken += success_violations(
                unpaused.exchange, shape, tolerance, status_rule="VER-SHAPE", rule_ids=[rule_id]
            )
        found += [Violation(v.rule, f"{unpaused.group_id}: {v.message}") for v in broken]
        if broken and shown is None:
            shown = unpaused.shown  # the first offending exchange is the one the failure shows as curl
    verdicts.judge(found, shown, f"{version}, {len(every_ad_group)} ad groups", version)
