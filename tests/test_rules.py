"""Property tests of every body rule on its own: consistent ad groups pass every rule; a
single-rule violation fails exactly that rule; edge cases and unusual-but-legal bodies pass."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.contract import invariants, rules, schemas

LATEST = schemas.versions()["2026-06-20"]
ORIGINAL = schemas.versions()["2025-01-01"]
CASES = Path(__file__).parent / "schema_cases"


def example(version: str) -> dict:
    group = json.loads((CASES / f"{version}.json").read_text())[0]
    return dict(group["tests"][0]["instance"])


def rule_ids(version: schemas.Version, body: dict) -> set[str]:
    return {v.rule for v in rules.body_violations(version, body)}


@st.composite
def consistent_bodies(draw, exact: bool | None = None, lower: int = 0):
    """A 2026-06-20 body whose metrics follow the docs, exactly or rounded as a server would.
    ``lower`` > 0 keeps every count and amount above zero (no zero denominators)."""
    exact = draw(st.booleans()) if exact is None else exact
    impressions = draw(st.integers(max(lower, 0) * 100, 10**8))
    clicks = draw(st.integers(min(2 * lower, impressions), impressions))
    unique = draw(st.integers(min(lower, clicks), max(min(lower, clicks), clicks - lower)))
    reach = draw(st.integers(1, impressions)) if impressions else 0
    leads, purchases = draw(st.integers(lower, 10**5)), draw(st.integers(lower, 10**5))
    spend = round(draw(st.floats(100 * lower, 10**6, allow_nan=False)), 2)
    value = round(draw(st.floats(lower, 10**7, allow_nan=False)), 2)
    goal = draw(st.sampled_from(["leads", "purchases", "reach", "link_clicks", None]))

    def ratio(num, den):
        return 0.0 if not den else (num / den if exact else round(num / den, 4))

    def money(num, den, scale=1.0):
        return 0.0 if not den else (scale * num / den if exact else round(scale * num / den, 2))

    def per_conversion(count, word):
        if count:
            return money(spend, count)
        return draw(st.sampled_from([0.0, None])) if goal and word in goal else None

    body = example("2026-06-20")
    body.update(
        impressions=impressions,
        clicks=clicks,
        unique_clicks=unique,
        reach=reach,
        leads=leads,
        purchases=purchases,
        spend=spend,
        purchase_value=value,
        optimization_goal=goal,
        conversion_event=draw(st.sampled_from(["purchase", "lead", "content_view", "my_custom_event"])),
        click_through_rate=ratio(clicks, impressions),
        unique_click_through_rate=ratio(unique, impressions)
        if impressions
        else draw(st.sampled_from([0.0, None])),
        cost_per_click=money(spend, clicks),
        cost_per_mille=money(spend, impressions, 1000.0),
        cost_per_lead=per_conversion(leads, "lead"),
        cost_per_purchase=per_conversion(purchases, "purchase"),
        return_on_ad_spend=ratio(value, spend),
        frequency=ratio(impressions, reach) if reach else None,
        spend_currency=draw(st.sampled_from(["USD", "EUR", "JPY", "BRL", None])),
        frequency_cap={"impressions": 2} if goal == "reach" else {},
    )
    if body["conversion_event"] in ("lead", "purchase") and goal is None:
        body["conversion_event"] = "content_view"  # a lead/purchase event makes that a goal
    return body


@given(consistent_bodies())
def test_consistent_bodies_pass_every_rule(body):
    assert rules.body_violations(LATEST, body) == []


def _bump(body, name, amount):
    body[name] = body[name] + amount


# rule -> (precondition on a consistent body, mutation that breaks that rule and no other)
SINGLE_RULE_VIOLATIONS = {
    "INV-CTR": (lambda b: b["click_through_rate"] < 0.9, lambda b: _bump(b, "click_through_rate", 0.05)),
    "INV-UNIQUE-CTR": (
        lambda b: b["impressions"] > 0 and b["unique_click_through_rate"] < 0.9,
        lambda b: _bump(b, "unique_click_through_rate", 0.05),
    ),
    "INV-CPC": (lambda b: True, lambda b: _bump(b, "cost_per_click", 1.0)),
    "INV-CPM": (lambda b: True, lambda b: _bump(b, "cost_per_mille", 1.0)),
    "INV-CPL": (lambda b: b["leads"] > 0, lambda b: b.update(cost_per_lead=b["spend"] / b["leads"] + 1.0)),
    "INV-CPP": (
        lambda b: b["purchases"] > 0,
        lambda b: b.update(cost_per_purchase=b["spend"] / b["purchases"] + 1.0),
    ),
    # with small spend, rounding to cents legitimately widens the ROAS interval: judge sizeable spend
    "INV-ROAS": (
        lambda b: b["spend"] >= 100 and b["purchase_value"] < 1000 * b["spend"],
        lambda b: b.update(return_on_ad_spend=b["return_on_ad_spend"] * 1.5 + 1.0),
    ),
    "INV-COUNTS": (
        lambda b: b["unique_clicks"] < b["clicks"],
        lambda b: b.update(
            unique_clicks=b["unique_clicks"] + 0.5,
            unique_click_through_rate=(b["unique_clicks"] + 0.5) / b["impressions"],
        ),
    ),
    "INV-COUNT-ORDER": (lambda b: True, lambda b: b.update(reach=b["impressions"] + 1, frequency=None)),
    "INV-MONEY": (
        lambda b: b["purchase_value"] > 0,
        lambda b: b.update(
            purchase_value=-b["purchase_value"],
            return_on_ad_spend=-b["purchase_value"] / b["spend"] if b["spend"] else 0.0,
        ),
    ),
    "INV-CURRENCY": (lambda b: True, lambda b: b.update(spend_currency="XYZ")),
    "INV-FREQUENCY-RATIO": (
        lambda b: b["reach"] > 0,
        lambda b: b.update(frequency=b["frequency"] * 1.5 + 0.01),
    ),
    "INV-CBO": (lambda b: True, lambda b: b.update(budget_amount=None, budget_type="daily")),
    "INV-BID-TARGET": (
        lambda b: True,
        lambda b: b.update(bid_type="maximum_target", desired_cost_per_result=None),
    ),
    "INV-BID-TARGET-ONLY": (
        lambda b: True,
        lambda b: b.update(bid_type="minimum_cost", desired_cost_per_result=12.5),
    ),
    "INV-FREQUENCY-CAP": (
        lambda b: b["optimization_goal"] != "reach",
        lambda b: b.update(frequency_cap={"x": 1}),
    ),
    "INV-SCHEDULE": (
        lambda b: True,
        lambda b: b.update(starts_at="2026-08-01T00:00:00Z", ends_at="2026-07-01T00:00:00Z"),
    ),
    "INV-UPDATED-AFTER-CREATED": (lambda b: True, lambda b: b.update(updated_at="2020-01-01T00:00:00Z")),
    "INV-MIN-DAILY-SPEND": (
        lambda b: True,
        lambda b: b.update(budget_amount=25.0, budget_type="daily", minimum_daily_spend=25.01),
    ),
    # a year ahead of the clock: in the future whatever the allowance, and still after created_at
    "INV-NOT-FUTURE": (
        lambda b: True,
        lambda b: b.update(updated_at=(datetime.now(UTC) + timedelta(days=365)).isoformat()),
    ),
}
# frequency < 1 cannot avoid also being far from impressions / reach (>= 1): both rules are expected
ALSO_BROKEN = {"INV-FREQUENCY": {"INV-FREQUENCY-RATIO"}}
SINGLE_RULE_VIOLATIONS["INV-FREQUENCY"] = (lambda b: b["reach"] > 0, lambda b: b.update(frequency=0.5))


@pytest.mark.parametrize("rule_id", sorted(SINGLE_RULE_VIOLATIONS))
def test_a_single_rule_violation_fails_exactly_that_rule(rule_id):
    precondition, mutate = SINGLE_RULE_VIOLATIONS[rule_id]

    @given(consistent_bodies(exact=True, lower=1))
    def exactly_one_rule(body):
        assume(precondition(body))
        mutate(body)
        assert rule_ids(LATEST, body) == {rule_id} | ALSO_BROKEN.get(rule_id, set())

    exactly_one_rule()


def test_every_invariant_of_the_latest_version_has_a_single_rule_violation():
    latest_invariants = {r for r in invariants.BODY_CHECKS if rules.catalogue()[r].applies_to(LATEST.name)}
    assert latest_invariants <= set(SINGLE_RULE_VIOLATIONS)


def test_budget_pair_rule_of_the_original_version():
    body = example("2025-01-01")
    assert rule_ids(ORIGINAL, body) == set()
    body.update(budget=None)
    assert rule_ids(ORIGINAL, body) == {"INV-BUDGET-PAIR"}
    body.update(budget_type=None)
    assert rule_ids(ORIGINAL, body) == set()


# -- edge cases: zero denominators, nulls, and rounding at the tolerance boundary -------------


def test_zero_denominators():
    body = example("2026-06-20")
    body.update(
        impressions=0,
        clicks=0,
        unique_clicks=0,
        reach=0,
        frequency=None,
        click_through_rate=0.0,
        unique_click_through_rate=None,
        cost_per_click=0.0,
        cost_per_mille=0.0,
        spend=0.0,
        return_on_ad_spend=0.0,
        purchases=0,
        cost_per_purchase=None,
        purchase_value=0.0,
    )
    assert rule_ids(LATEST, body) == set()
    assert rule_ids(LATEST, dict(body, cost_per_click=0.01)) == {"INV-CPC"}
    assert rule_ids(LATEST, dict(body, cost_per_mille=0.01)) == {"INV-CPM"}
    assert rule_ids(LATEST, dict(body, click_through_rate=0.01)) == {"INV-CTR"}
    assert rule_ids(LATEST, dict(body, return_on_ad_spend=1.0)) == {"INV-ROAS"}


# the example body: clicks 240 / impressions 12000 = 0.02 (a ratio); spend 360 / clicks 240 = 1.5 (money)
BOUNDARIES = [("click_through_rate", 0.02, step) for step in (0.00005, 0.00006)] + [
    ("cost_per_click", 1.5, step) for step in (0.005, 0.0051)
]


@pytest.mark.parametrize(("field", "exact", "offset"), BOUNDARIES)
@pytest.mark.parametrize("sign", [1, -1])
def test_rounding_at_the_tolerance_boundary(field, exact, offset, sign):
    """Within the tolerance (4 decimal places, cents) passes; a hair beyond fails."""
    body = example("2026-06-20")
    body[field] = exact + sign * offset
    within = offset in (0.00005, 0.005)
    assert (rule_ids(LATEST, body) == set()) is within


# -- no false positives: legal but unusual bodies --------------------------------------------


def unusual(**changes) -> dict:
    return {**example("2026-06-20"), **changes}


NO_FALSE_POSITIVES = {
    "custom conversion event": unusual(conversion_event="webinar_signup_v2"),
    "null title": unusual(title=None),
    "null currency with zero spend": unusual(
        spend_currency=None,
        spend=0.0,
        cost_per_click=0.0,
        cost_per_mille=0.0,
        cost_per_purchase=0.0,
        return_on_ad_spend=0.0,
    ),
    "campaign budget (CBO)": unusual(budget_amount=None, budget_type=None, minimum_daily_spend=None),
    "rejected with issues": unusual(
        status="rejected",
        issues=[
            {
                "id": "iss_1",
                "category": "policy_rejection",
                "resource_id": "adcamp_1",
                "resource_type": "ad_campaign",
            }
        ],
    ),
    "leads goal, zero leads, cost_per_lead 0": unusual(
        optimization_goal="leads", conversion_event="lead", leads=0, cost_per_lead=0.0
    ),
    "leads goal, zero leads, cost_per_lead null": unusual(
        optimization_goal="leads", conversion_event="lead", leads=0, cost_per_lead=None
    ),
    "frequency a little off impressions / reach": unusual(frequency=1.55),
    "timestamps without fraction": unusual(
        created_at="2026-05-30T12:00:00Z", updated_at="2026-06-21T08:15:42Z"
    ),
    "timestamps with offsets": unusual(
        created_at="2026-05-30T14:00:00+02:00", updated_at="2026-06-21T08:15:42.5-03:00"
    ),
    "timestamps with microseconds": unusual(starts_at="2026-06-01T00:00:00.123456Z", ends_at="2026-07-01"),
    "counts sent as 240.0": unusual(clicks=240.0, impressions=12000.0),
    "unique ctr null": unusual(unique_click_through_rate=None),
    "reach optimisation with a frequency cap": unusual(
        optimization_goal="reach", frequency_cap={"impressions": 2}
    ),
    "daily budget without minimum": unusual(minimum_daily_spend=None),
    "daily minimum equal to the daily budget": unusual(
        budget_type="daily", budget_amount=25.0, minimum_daily_spend=25.0
    ),
    "lifetime budget below the daily minimum (only daily budgets are judged)": unusual(
        budget_type="lifetime", budget_amount=20.0, minimum_daily_spend=25.0
    ),
    "updated within the clock-skew allowance": unusual(
        updated_at=(datetime.now(UTC) + timedelta(minutes=4)).isoformat()
    ),
    "extra fields": unusual(delivery_estimate={"low": 1}),
    "no schedule": unusual(starts_at=None, ends_at=None),
}


@pytest.mark.parametrize("case", list(NO_FALSE_POSITIVES))
def test_no_false_positive(case):
    assert rules.body_violations(LATEST, NO_FALSE_POSITIVES[case]) == []


def test_created_after_updated_across_offsets_is_compared_as_instants():
    body = unusual(created_at="2026-05-30T12:00:00+02:00", updated_at="2026-05-30T10:30:00Z")
    assert rule_ids(LATEST, body) == set()  # 10:00Z <= 10:30Z
    later = datetime(2026, 5, 30, 10, 0) - timedelta(minutes=1)
    assert rule_ids(LATEST, dict(body, updated_at=later.isoformat() + "Z")) == {"INV-UPDATED-AFTER-CREATED"}


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("USD", True),
        ("EUR", True),
        ("JPY", True),
        ("CHF", True),
        ("XCG", True),  # Caribbean guilder, active since 2025
        ("XAU", True),  # gold: list one holds the funds and metals too
        (None, True),  # null: no currency yet (no spend)
        ("DEM", False),  # Deutsche Mark, withdrawn 2002
        ("FRF", False),
        ("ANG", False),  # Netherlands Antillean guilder, withdrawn 2025 for XCG
        ("XYZ", False),  # never a code
        ("usd", False),  # codes are upper case
        ("US", False),
    ],
)
def test_currency_codes_current_and_historic(code, valid):
    """INV-CURRENCY reads ISO 4217 from pycountry: the active codes pass, withdrawn and invented fail."""
    found = rules.invariant_violations(
        schemas.versions()["2026-06-20"], {"spend_currency": code}, only={"INV-CURRENCY"}
    )
    assert (found == []) is valid, found
