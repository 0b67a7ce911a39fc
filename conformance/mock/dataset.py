"""A deterministic, seeded dataset of ad groups, and the documented derivation of their metrics.

Each scenario is one situation the rules talk about; the seed varies the raw counts, never the
situation. Metrics are derived from raw counts exactly as the 2026-06-20 page defines them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from conformance.contract import schemas


@dataclass
class RawCounts:
    impressions: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    reach: int = 0
    leads: int = 0
    purchases: int = 0
    spend: float = 0.0
    purchase_value: float = 0.0


def ratio(num: float, den: float) -> float:
    """A rate as the mock serves it: 4 decimal places, 0 where there is nothing to divide by."""
    return round(num / den, 4) if den else 0.0


def derive_metrics(raw: RawCounts, *, currency: str | None, leads_goal: bool, purchases_goal: bool) -> dict:
    """The delivery metrics of the 2026-06-20 page, from raw counts (ratios 4 dp, money in cents)."""

    def money(num: float, den: float, scale: float = 1.0) -> float:
        return round(scale * num / den, 2) if den else 0.0

    def per_conversion(count: int, goal: bool) -> float | None:
        if count:
            return money(raw.spend, count)
        # none attributed: null when not a goal (documented); 0 when it is (the docs are silent)
        return 0.0 if goal else None

    return {
        "click_through_rate": ratio(raw.clicks, raw.impressions),
        "clicks": raw.clicks,
        "cost_per_click": money(raw.spend, raw.clicks),
        "cost_per_lead": per_conversion(raw.leads, leads_goal),
        "cost_per_mille": money(raw.spend, raw.impressions, 1000.0),
        "cost_per_purchase": per_conversion(raw.purchases, purchases_goal),
        "frequency": round(raw.impressions / raw.reach, 4) if raw.reach else None,
        "impressions": raw.impressions,
        "leads": raw.leads,
        "purchase_value": round(raw.purchase_value, 2),
        "purchases": raw.purchases,
        "reach": raw.reach,
        "return_on_ad_spend": ratio(raw.purchase_value, raw.spend),
        "spend": round(raw.spend, 2),
        "spend_currency": currency,
        "unique_click_through_rate": ratio(raw.unique_clicks, raw.impressions) if raw.impressions else None,
        "unique_clicks": raw.unique_clicks,
    }


@dataclass
class AdGroup:
    """One ad group as stored: settings, raw counts and mutable state."""

    scenario: str
    id: str
    title: str | None
    status: str
    platform: str
    created_at: datetime
    updated_at: datetime
    ad_campaign_id: str
    raw: RawCounts
    currency: str | None = "USD"
    optimization_goal: str | None = "purchases"
    conversion_event: str = "purchase"
    conversion_location: str | None = "website"
    budget_amount: float | None = 50.0
    budget_type: str | None = "daily"
    minimum_daily_spend: float | None = None
    bid_type: str | None = "minimum_cost"
    desired_cost_per_result: float | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    frequency_cap: dict = field(default_factory=dict)
    placements: list[dict] | None = None  # None: one feed placement on the group's platform
    issues: list[dict] = field(default_factory=list)
    pauses_in_a_row: int = 0  # the mock's bookkeeping for the faults only a sequence reaches

    def metrics(self) -> dict:
        goal = f"{self.optimization_goal or ''} {self.conversion_event}".lower()
        return derive_metrics(
            self.raw, currency=self.currency, leads_goal="lead" in goal, purchases_goal="purchase" in goal
        )


def timestamp(moment: datetime) -> str:
    """RFC 3339 with milliseconds and Z, valid both as date-time and as ISO 8601."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shown_status(status: str, version: str) -> str:
    """``status`` as ``version`` can show it. The 2026-06-20 page lists three statuses; a group the
    original version shows as inactive, in_review or flagged does not deliver and an unpause cannot
    resume it, and 'rejected' is the one 2026 value that says so (the docs are silent; XVER-CONSISTENT
    compares status only where both enums have it)."""
    return status if status in schemas.version_field_shapes(version)["status"].enum else "rejected"


def render(group: AdGroup, version: str) -> dict[str, Any]:
    """The 200 body of ``group`` in ``version``'s shape; the fields come from that version's schema."""
    placements = group.placements
    if placements is None:
        placements = [{"platform": group.platform, "position": "feed"}]
    values = {
        **group.metrics(),
        "id": group.id,
        "title": group.title,
        "status": shown_status(group.status, version),
        "platform": group.platform,
        "created_at": timestamp(group.created_at),
        "updated_at": timestamp(group.updated_at),
        "budget": group.budget_amount,
        "budget_amount": group.budget_amount,
        "budget_type": group.budget_type,
        "ad_campaign": {"id": group.ad_campaign_id},
        "optimization_goal": group.optimization_goal,
        "conversion_location": group.conversion_location,
        "conversion_event": group.conversion_event,
        "minimum_daily_spend": group.minimum_daily_spend,
        "bid_type": group.bid_type,
        "desired_cost_per_result": group.desired_cost_per_result,
        "starts_at": group.starts_at,
        "ends_at": group.ends_at,
        "regions": {"include": {"countries": ["US"]}},
        "audience": {"automatic": True},
        "devices": {"platforms": ["mobile", "desktop"]},
        "frequency_cap": dict(group.frequency_cap),
        "placements": [dict(placement) for placement in placements],
        "issues": [dict(issue) for issue in group.issues],
    }
    return {name: values[name] for name in schemas.versions()[version].schema["properties"]}


def _counts(rng: random.Random, *, impressions=True, clicks=True, leads=0, purchases=0) -> RawCounts:
    imp = rng.randint(2_000, 90_000) if impressions else 0
    reach = rng.randint(max(1, imp // 4), imp) if imp else 0
    clk = rng.randint(10, max(10, imp // 30)) if (imp and clicks) else 0
    uniq = rng.randint(1, clk) if clk else 0
    spend = round(rng.uniform(5, 900), 2) if imp else 0.0
    value = round(purchases * rng.uniform(9, 120), 2)
    return RawCounts(imp, clk, uniq, reach, leads, purchases, spend, value)


def build_dataset(seed: int = 0) -> list[AdGroup]:
    """At least 20 ad groups, one per situation the rules talk about."""
    rng = random.Random(seed)
    base = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def group(scenario: str, title: str | None, **settings) -> AdGroup:
        created = base + timedelta(days=rng.randint(0, 60), seconds=rng.randint(0, 86_399))
        settings.setdefault("raw", _counts(rng))
        settings.setdefault("status", "paused")
        settings.setdefault("platform", "meta")
        return AdGroup(
            scenario=scenario,
            id=f"adgrp_{rng.getrandbits(48):012x}",
            title=title,
            created_at=created,
            updated_at=created + timedelta(hours=rng.randint(1, 500)),
            ad_campaign_id=f"adcamp_{rng.getrandbits(44):011x}",
            **settings,
        )

    groups = [
        group("zero_impressions", "Not yet delivering", raw=_counts(rng, impressions=False), currency="USD"),
        group("impressions_without_clicks", "Awareness, no clicks", raw=_counts(rng, clicks=False)),
        group(
            "leads_goal_with_leads",
            "Lead gen",
            optimization_goal="leads",
            conversion_event="lead",
            raw=_counts(rng, leads=rng.randint(3, 40)),
        ),
        group(
            "leads_goal_without_leads",
            "Lead gen, cold",
            optimization_goal="leads",
            conversion_event="lead",
            raw=_counts(rng, leads=0),
        ),
        group("purchases_goal_with_purchases", "Spring sale", raw=_counts(rng, purchases=rng.randint(2, 30))),
        group("purchases_goal_without_purchases", "Spring sale, cold", raw=_counts(rng, purchases=0)),
        group(
            "neither_goal",
            "Traffic",
            optimization_goal="link_clicks",
            conversion_event="content_view",
            raw=_counts(rng),
        ),
        group(
            "neither_goal_with_conversions",
            "Traffic that converts",
            optimization_goal="link_clicks",
            conversion_event="content_view",
            raw=_counts(rng, leads=2, purchases=1),
        ),
        group(
            "cbo_null_budget",
            "Campaign-budgeted",
            budget_amount=None,
            budget_type=None,
            minimum_daily_spend=None,
        ),
        group(
            "daily_budget", "Daily budget", budget_amount=25.0, budget_type="daily", minimum_daily_spend=5.0
        ),
        group(
            "lifetime_budget",
            "Lifetime budget",
            budget_amount=1200.0,
            budget_type="lifetime",
            starts_at="2026-06-01T00:00:00Z",
            ends_at="2026-08-31T23:59:59Z",
        ),
        group("bid_minimum_cost", "Lowest cost", bid_type="minimum_cost"),
        group("bid_average_target", "Cost target", bid_type="average_target", desired_cost_per_result=12.5),
        group("bid_maximum_target", "Bid cap", bid_type="maximum_target", desired_cost_per_result=20.0),
        group("bid_type_null", "Platform-chosen bid", bid_type=None),
        group(
            "reach_with_frequency_cap",
            "Reach",
            optimization_goal="reach",
            conversion_event="content_view",
            frequency_cap={"impressions": 2, "interval_days": 7},
        ),
        group(
            "custom_conversion_event",
            "Webinar signups",
            optimization_goal="conversions",
            conversion_event="webinar_signup_v2",
        ),
        group("null_title", None),
        group(
            "rejected_with_issues",
            "Rejected creative",
            status="rejected",
            issues=[
                {
                    "id": "iss_policy_01",
                    "category": "policy_rejection",
                    "resource_id": "adcamp_pending",
                    "resource_type": "ad_campaign",
                }
            ],
        ),
        group("active_already", "Always on", status="active"),
        group("currency_eur", "Euro market", currency="EUR"),
        group("currency_jpy", "Japan", currency="JPY"),
        group(
            "null_currency_zero_spend",
            "Draft, never charged",
            currency=None,
            raw=_counts(rng, impressions=False),
        ),
        group("tiktok_platform", "TikTok", platform="tiktok"),
        group("null_conversion_location", "Offsite", conversion_location=None),
        # statuses only the original version has (shown as rejected in 2026-06-20, see shown_status)
        group("inactive_original_only", "Ended last season", status="inactive"),
        group("in_review_original_only", "Awaiting review", status="in_review"),
        group("flagged_original_only", "Flagged creative", status="flagged"),
        group("null_optimization_goal", "Goal not chosen", optimization_goal=None),
        group("automatic_placements", "Advantage+ placements", placements=[]),
        # plain paused groups at the end, no branch of their own: what a run sets apart to watch
        # (INT-OTHER-GROUPS) costs the response coverage nothing
        group("watched_one", "Watched, paused"),
        group("watched_two", "Watched too, paused"),
    ]
    # the last shares the first's campaign: the watch covers a neighbour of a group the run unpauses
    groups[-1].ad_campaign_id = groups[0].ad_campaign_id
    return groups


def build_foreign(seed: int = 0) -> list[AdGroup]:
    """Another account's ad groups (the peer's): one active, one paused. No token of the main
    account may reach them, nor the peer's token the main account's."""
    groups = build_dataset(seed + 7919)[:2]
    groups[0].status, groups[1].status = "active", "paused"
    return groups
