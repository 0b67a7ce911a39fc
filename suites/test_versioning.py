"""Api-Version-Date: the default shape, each registered version's shape, and 400 for the rest."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from conformance.adgroups import refusals, state
from conformance.contract import schemas
from conformance.contract.endpoints import VERSION_HEADER, unpause_path, version_header
from conformance.judge.checks import error_violations, json_violations, violation


def shape_violations(unpaused: state.Obtained, expected: schemas.Version, rule_id: str):
    """The 200 body validates against ``expected``'s schema and against no other version's."""
    # what the route to the body broke (a wrong status, a 5xx), then the body's shape
    found = [v for v in unpaused.violations if v.rule in (rule_id, "BEH-ACTIVATES", "ERR-JSON", "ERR-NO-5XX")]
    exchange = unpaused.exchange
    if exchange is None:
        return found
    parsed = json_violations(exchange)
    found += parsed
    body = (
        exchange.json()
        if not {v.rule for v in parsed} & {"ERR-JSON", "ERR-JSON-UNIQUE", "ERR-NO-5XX"}
        else None
    )
    if body is None:
        return found
    errors = expected.errors(body)
    if errors:
        found.append(violation(rule_id, f"not the {expected.name} shape: {errors[:3]}"))
    for other in schemas.versions().values():
        if other.name != expected.name and other.accepts(body):
            found.append(
                violation(rule_id, f"the body also validates as {other.name}: the shapes are confused")
            )
    return found


@pytest.mark.rule("VER-DEFAULT")
def test_no_header_gets_the_default_shape(specimens, every_ad_group, verdicts):
    default = schemas.default_version()
    attempts = [specimens.unpause(group_id, None, "VER-DEFAULT") for group_id in every_ad_group]
    for unpaused in verdicts.exercised(attempts, "a 200 unpause"):
        verdicts.judge(
            shape_violations(unpaused, default, "VER-DEFAULT"),
            unpaused.shown,
            f"no Api-Version-Date, ad group {unpaused.group_id}",
            default.name,
        )


@pytest.mark.rule("VER-SHAPE")
def test_registered_version_gets_its_shape(specimens, every_ad_group, verdicts, version):
    attempts = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in every_ad_group]
    for unpaused in verdicts.exercised(attempts, "a 200 unpause"):
        verdicts.judge(
            shape_violations(unpaused, schemas.versions()[version], "VER-SHAPE"),
            unpaused.shown,
            f"{VERSION_HEADER}: {version}, ad group {unpaused.group_id}",
            version,
        )


@pytest.mark.rule("VER-SHAPE")
@pytest.mark.parametrize("header_name", ["api-version-date", "API-VERSION-DATE"])
def test_header_name_is_case_insensitive(api, specimens, target, verdicts, version, header_name):
    """Header names are case-insensitive (RFC 9110): one ad group suffices to show the server
    reads them so; the first one that answers the canonical spelling with a 200."""
    canonical = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in target.ad_group_ids]
    group_id = next((a.group_id for a in canonical if a.exchange is not None), None)
    if group_id is None:
        pytest.skip("not exercised: no ad group answered the canonical header name with a 200")
    unpaused = state.obtain(
        api, group_id, version, status_rule="VER-SHAPE", may_pause=target.use_pause, header_name=header_name
    )
    (unpaused,) = verdicts.exercised([unpaused], "a 200 unpause")
    verdicts.judge(
        shape_violations(unpaused, schemas.versions()[version], "VER-SHAPE"),
        unpaused.shown,
        f"{header_name}: {version}, ad group {group_id}",
        version,
    )


@pytest.mark.rule("VER-UNKNOWN-400", "ERR-ENVELOPE")
@pytest.mark.parametrize(
    "value", refusals.unregistered_versions(), ids=lambda v: v if len(v) < 40 else f"{v[:12]}…({len(v)})"
)
def test_unrecognized_version_is_rejected(api, target, verdicts, value):
    group_id = target.ad_group_ids[0]
    exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(value)})
    verdicts.judge(
        error_violations(exchange, "VER-UNKNOWN-400", [400]),
        exchange,
        f"Api-Version-Date: {value[:60]}",
        "unregistered",
    )


# header values HTTP can carry: visible ASCII and inner spaces (HTTP strips the outer ones)
header_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.just(" "), min_size=1, max_size=64
)


@pytest.mark.rule("VER-UNKNOWN-400", "ERR-ENVELOPE")
def test_arbitrary_unregistered_values_are_rejected(api, target, verdicts, run_property):
    registered = set(schemas.versions())

    def unregistered_value_gets_400(value):
        exchange = api.post(
            unpause_path(target.property_ids[0]), headers={**api.auth, **version_header(value)}
        )
        verdicts.judge(
            error_violations(exchange, "VER-UNKNOWN-400", [400]),
            exchange,
            f"Api-Version-Date: {value!r}",
            "unregistered",
        )

    run_property(
        unregistered_value_gets_400,
        value=header_values.map(str.strip).filter(lambda v: v and v not in registered),
    )
