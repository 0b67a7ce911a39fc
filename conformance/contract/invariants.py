"""The metric invariants of a 200 unpause body (INV-*): pure functions of one body, each
registered under its rule id in BODY_CHECKS, yielding a message per violation."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pycountry

from conformance.contract import schemas


@dataclass(frozen=True)
class Tolerance:
    """Rounding allowed when comparing derived metrics: ratios and money, absolute."""

    ratio: float = 0.00005  # ratios reported to 4 decimal places
    money: float = 0.005  # money reported to cents
    clock_skew: timedelta = timedelta(minutes=5)  # INV-NOT-FUTURE: target's clock ahead of the suite's
    frequency_relative: float = 0.10  # SHOULD only: platform-reported frequency vs impressions / reach


def number(body: dict, name: str) -> float | None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _quotient_range(num: float, den: float, num_tol: float, den_tol: float) -> tuple[float, float]:
    """Range of num/den when each input may itself be rounded by its tolerance (den > 0)."""
    dens = (max(den - den_tol, 1e-12), den + den_tol)
    corners = [n / d for n in (num - num_tol, num + num_tol) for d in dens]
    return (min(corners), max(corners))


def _within(value: float, bounds: tuple[float, float], tol: float) -> bool:
    return bounds[0] - tol - 1e-12 <= value <= bounds[1] + tol + 1e-12


def mentions(body: dict, word: str) -> bool:
    """Whether optimization_goal or conversion_event names ``word`` (e.g. lead, purchase)."""
    return any(
        isinstance(body.get(f), str) and word in body[f].lower()
        for f in ("optimization_goal", "conversion_event")
    )


Check = Callable[[dict, Tolerance], Iterable[str]]
BODY_CHECKS: dict[str, Check] = {}


def body_check(rule_id: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        BODY_CHECKS[rule_id] = function
        return function

    return register


def _rate_check(body, tol, rate_field, count_field, nullable):
    rate, count, impressions = (
        number(body, rate_field),
        number(body, count_field),
        number(body, "impressions"),
    )
    if body.get(rate_field) is None and nullable:
        return
    if rate is None or count is None or impressions is None:
        return
    if not 0 <= rate <= 1:
        yield f"{rate_field}={rate} is outside [0, 1]"
        return
    expected = (0.0, 0.0) if impressions == 0 else (count / impressions, count / impressions)
    if not _within(rate, expected, tol.ratio):
        yield f"{rate_field}={rate} but {count_field}/impressions = {count:g}/{impressions:g} = {expected[0]:.6f}"


@body_check("INV-CTR")
def check_click_through_rate(body, tol):
    yield from _rate_check(body, tol, "click_through_rate", "clicks", nullable=False)


@body_check("INV-UNIQUE-CTR")
def check_unique_click_through_rate(body, tol):
    yield from _rate_check(body, tol, "unique_click_through_rate", "unique_clicks", nullable=True)


def _per_unit_cost(body, tol, cost_field, count_field, scale=1.0):
    """cost = scale × spend / count, and 0 when count is 0."""
    cost, spend, count = number(body, cost_field), number(body, "spend"), number(body, count_field)
    if cost is None or spend is None or count is None:
        return
    if count == 0:
        if cost != 0:
            yield f"{cost_field}={cost} but {count_field} is 0, so it must be 0"
        return
    low, high = _quotient_range(spend, count, tol.money, 0.0)
    if not _within(cost, (scale * low, scale * high), tol.money):
        yield f"{cost_field}={cost} but {scale:g} × spend/{count_field} = {scale * spend / count:.4f}"


@body_check("INV-CPC")
def check_cost_per_click(body, tol):
    yield from _per_unit_cost(body, tol, "cost_per_click", "clicks")


@body_check("INV-CPM")
def check_cost_per_mille(body, tol):
    yield from _per_unit_cost(body, tol, "cost_per_mille", "impressions", scale=1000.0)


def _cost_per_conversion(body, tol, cost_field, count_field, goal_word):
    """spend / count when count > 0; with none attributed: null, or 0|null when it is the goal."""
    if cost_field not in body or number(body, count_field) is None or number(body, "spend") is None:
        return
    cost, count, spend = body[cost_field], number(body, count_field), number(body, "spend")
    if count > 0:
        if cost is None:
            yield f"{cost_field} is null but {count_field}={count:g} > 0"
            return
        if number(body, cost_field) is None:
            return
        low, high = _quotient_range(spend, count, tol.money, 0.0)
        if not _within(float(cost), (low, high), tol.money):
            yield f"{cost_field}={cost} but spend/{count_field} = {spend / count:.4f}"
        return
    if cost is None:
        return
    if not mentions(body, goal_word):
        yield (
            f"{cost_field}={cost} but no {count_field} are attributed and {goal_word}s are not a goal "
            f"(optimization_goal={body.get('optimization_goal')!r}, "
            f"conversion_event={body.get('conversion_event')!r}): must be null"
        )
    elif cost != 0:
        yield f"{cost_field}={cost} with no {count_field} attributed: only 0 or null is defined"


@body_check("INV-CPL")
def check_cost_per_lead(body, tol):
    yield from _cost_per_conversion(body, tol, "cost_per_lead", "leads", "lead")


@body_check("INV-CPP")
def check_cost_per_purchase(body, tol):
    yield from _cost_per_conversion(body, tol, "cost_per_purchase", "purchases", "purchase")


@body_check("INV-ROAS")
def check_return_on_ad_spend(body, tol):
    roas, value, spend = (
        number(body, "return_on_ad_spend"),
        number(body, "purchase_value"),
        number(body, "spend"),
    )
    if roas is None or value is None or spend is None:
        return
    if spend == 0:
        if roas != 0:
            yield f"return_on_ad_spend={roas} but spend is 0, so it must be 0"
        return
    if not _within(roas, _quotient_range(value, spend, tol.money, tol.money), tol.ratio):
        yield f"return_on_ad_spend={roas} but purchase_value/spend = {value / spend:.6f}"


COUNT_FIELDS = ("impressions", "clicks", "unique_clicks", "reach", "leads", "purchases")


@body_check("INV-COUNTS")
def check_counts(body, tol):
    for name in COUNT_FIELDS:
        value = number(body, name)
        if value is not None and (value < 0 or not value.is_integer()):
            yield f"{name}={body[name]} is not a non-negative integer"


@body_check("INV-COUNT-ORDER")
def check_count_order(body, tol):
    unique, clicks, impressions, reach = (
        number(body, n) for n in ("unique_clicks", "clicks", "impressions", "reach")
    )
    if None not in (unique, clicks) and unique > clicks:
        yield f"unique_clicks={unique:g} > clicks={clicks:g}"
    if None not in (clicks, impressions) and clicks > impressions:
        yield f"clicks={clicks:g} > impressions={impressions:g}"
    if None not in (reach, impressions) and reach > impressions:
        yield f"reach={reach:g} > impressions={impressions:g}"


@body_check("INV-MONEY")
def check_money(body, tol):
    for name in ("spend", "purchase_value"):
        value = number(body, name)
        if value is not None and value < 0:
            yield f"{name}={value} is negative"


@cache
def iso_4217_codes() -> frozenset[str]:
    """The active ISO 4217 codes (list one), from pycountry's copy of Debian's iso-codes."""
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


@body_check("INV-CURRENCY")
def check_currency(body, tol):
    currency = body.get("spend_currency")
    if isinstance(currency, str) and currency not in iso_4217_codes():
        yield f"spend_currency={currency!r} is not an ISO 4217 code"


@body_check("INV-FREQUENCY")
def check_frequency(body, tol):
    frequency, reach = number(body, "frequency"), number(body, "reach")
    if frequency is not None and reach is not None and reach > 0 and frequency < 1:
        yield f"frequency={frequency} < 1 with reach={reach:g} > 0"


@body_check("INV-FREQUENCY-RATIO")
def check_frequency_ratio(body, tol):
    frequency, reach, impressions = (
        number(body, "frequency"),
        number(body, "reach"),
        number(body, "impressions"),
    )
    if None in (frequency, reach, impressions) or reach == 0:
        return
    expected = impressions / reach
    if abs(frequency - expected) > tol.frequency_relative * expected + tol.ratio:
        yield f"frequency={frequency} is more than {tol.frequency_relative:.0%} off impressions/reach = {expected:.4f}"


def _null_together(body, amount, kind):
    if amount in body and kind in body and (body[amount] is None) != (body[kind] is None):
        yield f"{amount}={body[amount]!r} and {kind}={body[kind]!r}: null only together"


@body_check("INV-CBO")
def check_campaign_budget(body, tol):
    yield from _null_together(body, "budget_amount", "budget_type")


@body_check("INV-BUDGET-PAIR")
def check_budget_pair(body, tol):
    yield from _null_together(body, "budget", "budget_type")


@body_check("INV-BID-TARGET")
def check_bid_target(body, tol):
    if (
        body.get("bid_type") in ("average_target", "maximum_target")
        and body.get("desired_cost_per_result") is None
    ):
        yield f"bid_type={body['bid_type']} needs desired_cost_per_result, which is null"


@body_check("INV-BID-TARGET-ONLY")
def check_bid_target_only(body, tol):
    if (
        body.get("bid_type") not in ("average_target", "maximum_target")
        and body.get("desired_cost_per_result") is not None
    ):
        yield (
            f"bid_type={body.get('bid_type')!r} has no target cost, yet "
            f"desired_cost_per_result={body['desired_cost_per_result']!r}"
        )


@body_check("INV-FREQUENCY-CAP")
def check_frequency_cap(body, tol):
    cap = body.get("frequency_cap")
    if isinstance(cap, dict) and cap and not mentions(body, "reach"):
        yield f"frequency_cap={cap} is set but optimization_goal={body.get('optimization_goal')!r} is not reach"


def instant(value: Any):
    """An ISO 8601 timestamp as an aware datetime to compare instants with; None if it is not one."""
    try:
        parsed = schemas.parse_iso8601(value)
    except (TypeError, ValueError):
        return None
    # naive timestamps carry no offset: compare them as UTC, the only reading that orders them
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@body_check("INV-SCHEDULE")
def check_schedule(body, tol):
    starts, ends = instant(body.get("starts_at")), instant(body.get("ends_at"))
    if starts and ends and starts > ends:
        yield f"starts_at={body['starts_at']} is after ends_at={body['ends_at']}"


@body_check("INV-UPDATED-AFTER-CREATED")
def check_updated_after_created(body, tol):
    created, updated = instant(body.get("created_at")), instant(body.get("updated_at"))
    if created and updated and created > updated:
        yield f"created_at={body['created_at']} is after updated_at={body['updated_at']}"


@body_check("INV-MIN-DAILY-SPEND")
def check_minimum_daily_spend(body, tol):
    floor, budget = number(body, "minimum_daily_spend"), number(body, "budget_amount")
    if body.get("budget_type") == "daily" and None not in (floor, budget) and floor > budget + tol.money:
        yield f"minimum_daily_spend={floor:g} is above the daily budget_amount={budget:g}"


@body_check("INV-NOT-FUTURE")
def check_not_in_the_future(body, tol):
    latest = datetime.now(UTC) + tol.clock_skew
    for name in ("created_at", "updated_at"):
        moment = instant(body.get(name))
        if moment is not None and moment > latest:
            yield f"{name}={body[name]} is in the future (suite's clock + {tol.clock_skew} allowance: {latest:%Y-%m-%dT%H:%M:%SZ})"
