"""Api-Version-Date: the default shape, each registered version's shape, and 400 for the rest."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import schemas
from conformance.checks import error_violations, json_violations, violation
from conformance.endpoints import unpause_path, version_header


def shape_violations(exchange, expected: schemas.Version, rule_id: str):
    """The body validates against ``expected``'s schema and against no other version's."""
    found = json_violations(exchange)
    if exchange.status != 200:
        return [*found, violation(rule_id, f"answered {exchange.status}, not 200")]
    body = exchange.json() if not found else None
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
def test_no_header_gets_the_default_shape(api, target, verdicts):
    default = schemas.default_version()
    for group_id in target.ad_group_ids:
        exchange = api.post(unpause_path(group_id), headers=api.auth)
        verdicts.judge(
            shape_violations(exchange, default, "VER-DEFAULT"),
            exchange,
            f"no Api-Version-Date, ad group {group_id}",
            default.name,
        )


@pytest.mark.rule("VER-SHAPE")
@pytest.mark.parametrize("header_name", ["Api-Version-Date", "api-version-date", "API-VERSION-DATE"])
def test_registered_version_gets_its_shape(api, target, verdicts, version, header_name):
    for group_id in target.ad_group_ids:
        exchange = api.post(
            unpause_path(group_id), headers={**api.auth, **version_header(version, header_name)}
        )
        verdicts.judge(
            shape_violations(exchange, schemas.versions()[version], "VER-SHAPE"),
            exchange,
            f"{header_name}: {version}, ad group {group_id}",
            version,
        )


def near_misses() -> list[str]:
    """Well-formed dates that are not registered: around, between and after the versions."""
    registered = set(schemas.versions())
    days = sorted(date.fromisoformat(name[:10]) for name in registered)
    candidates = []
    for day in days:
        candidates += [day - timedelta(days=1), day + timedelta(days=1)]
    candidates += [a + (b - a) / 2 for a, b in itertools.pairwise(days)]
    candidates += [days[-1] + timedelta(days=400), date(2024, 12, 31)]
    values = [d.isoformat() for d in candidates] + [f"{name}-1" for name in registered if len(name) == 10]
    return sorted({v for v in values if v not in registered})


MALFORMED = [
    "2026-6-20",
    "20260620",
    "2026/06/20",
    "06-20-2026",
    "2026-06-20T00:00:00Z",
    "latest",
    "v2",
    "0",
    "garbage!@#",
    "2026-13-01",
    "2026-02-30",
    "x" * 4096,
    "2026-06-20,2025-01-01",
]


@pytest.mark.rule("VER-UNKNOWN-400", "ERR-ENVELOPE")
@pytest.mark.parametrize(
    "value", near_misses() + MALFORMED, ids=lambda v: v if len(v) < 40 else f"{v[:12]}…({len(v)})"
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

    @given(value=header_values.map(str.strip).filter(lambda v: v and v not in registered))
    def unregistered_value_gets_400(value):
        exchange = api.post(
            unpause_path(target.ad_group_ids[0]), headers={**api.auth, **version_header(value)}
        )
        verdicts.judge(
            error_violations(exchange, "VER-UNKNOWN-400", [400]),
            exchange,
            f"Api-Version-Date: {value!r}",
            "unregistered",
        )

    run_property(unregistered_value_gets_400)
