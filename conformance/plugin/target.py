"""The target under test: options, environment and ini resolved once, and the production guard."""

from __future__ import annotations

import difflib
import ipaddress
import os
import secrets
import unicodedata
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.contract import invariants, schemas


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Target:
    base_url: str | None  # None: the embedded mock, started by the session
    token: str = field(repr=False)
    ad_group_ids: list[str]
    versions: list[str]
    use_pause: bool
    timeout: float
    rate_limit: float
    time_budget: float
    max_body: int
    strict: bool
    tolerance: invariants.Tolerance
    max_examples: int | None = None  # None: the hypothesis profile's
    mock_seed: int = 0
    mock_fault: str | None = None
    mock_profile: str = "default"
    concurrency: int = 1
    shrink_time: float = 5.0
    restore: bool = True
    secrets: list[str] = field(default_factory=list, repr=False)
    compare_base_url: str | None = None  # a second target every request is mirrored to (drift)
    compare_token: str = field(default="", repr=False)
    compare_ad_group_ids: list[str] = field(default_factory=list)  # paired in order with ad_group_ids
    peer_token: str = field(default="", repr=False)  # a valid token of another account ("": none)
    read_only_token: str = field(default="", repr=False)  # this account's, without ad_campaign:update
    foreign_ad_group_ids: list[str] = field(default_factory=list)  # the other account's ad groups
    # paused groups no test sends anything: read before and after unpauses of the others, which
    # must leave them paused (INT-OTHER-GROUPS); chosen by watch() once their status is known
    watched_ad_group_ids: list[str] = field(default_factory=list)
    # the run's groups in a watched group's campaign: INT-OTHER-GROUPS unpauses one where it can (a
    # campaign-wide resume gone wrong reaches its neighbours first)
    watched_neighbours: list[str] = field(default_factory=list)
    declared: dict[str, str] = field(default_factory=dict)  # ad group -> its status, as the user knows it
    dry_run: bool = False  # print the state-changing requests the run would send, and send none
    # the groups the property-based tests send to; empty: all of them (see split_for_workers)
    property_ad_group_ids: list[str] = field(default_factory=list)
    # against a remote target in one process, the property-based tests run beside the example
    # tests (conformance.plugin.ahead); --no-overlap runs them in their turn
    overlap: bool = True

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def property_ids(self) -> list[str]:
        return self.property_ad_group_ids or self.ad_group_ids

    def watching(self, watched: list[str], neighbours: list[str] = ()) -> Target:
        """This target with ``watched`` set apart: no test sends them anything; they are read before
        and after unpauses of the others (INT-OTHER-GROUPS), ``neighbours`` first."""
        kept = [i for i, g in enumerate(self.ad_group_ids) if g not in watched]
        return replace(
            self,
            ad_group_ids=[self.ad_group_ids[i] for i in kept],
            compare_ad_group_ids=[
                self.compare_ad_group_ids[i] for i in kept if i < len(self.compare_ad_group_ids)
            ],
            property_ad_group_ids=[g for g in self.property_ad_group_ids if g not in watched],
            watched_ad_group_ids=list(watched),
            watched_neighbours=[g for g in neighbours if g not in watched],
        )

    def split_for_overlap(self, unmovable: set[str] = frozenset()) -> Target:
        """This target as one process sees it when its property-based tests run beside its example
        tests (conformance.plugin.ahead): the two halves of split_for_workers, for the same reason,
        and the whole rate limit (one process)."""
        return self.split_for_workers(1, unmovable)

    def split_for_workers(self, workers: int, unmovable: set[str] = frozenset()) -> Target:
        """This target as one of ``workers`` xdist workers sees it when all of them share it.
        --concurrency and --rate-limit are what the target takes from the whole run: the workers
        share the run's --concurrency as slots (conformance.client.slots: a worker may use all of them
        while the others are idle, the target never sees more), and each holds 1/N of the rate
        limit. The ad groups are split in two, alternately (a list sorted by kind
        gives each half some of each): the property-based tests, which run on every worker at
        once, unpause only the odd ones; the example tests, which run on one worker and pause
        groups to test unpause, use only the even ones. Otherwise a property
        case's unpause lands between a state test's pause and its check (a false BEH-REFUSAL-INERT).
        A group known to be ``unmovable`` (neither paused nor
        active: no correct request changes it) is on the examples' side wherever it falls, since a
        test there needs one (BEH-REJECTED-STAYS) and the property tests only judge its body."""
        examples = [i for i, g in enumerate(self.ad_group_ids) if i % 2 == 0 or g in unmovable]
        return replace(
            self,
            rate_limit=self.rate_limit / workers,
            ad_group_ids=[self.ad_group_ids[i] for i in examples],
            compare_ad_group_ids=[
                self.compare_ad_group_ids[i] for i in examples if i < len(self.compare_ad_group_ids)
            ],
            property_ad_group_ids=self.ad_group_ids[1::2],
        )


WATCHED = 2  # paused groups set apart to be watched, where there are enough


def to_watch(
    group_ids: list[str],
    statuses: dict[str, str | None],
    read: set[str],
    campaigns: dict[str, str] | None = None,
) -> list[str]:
    """Up to WATCHED paused groups to set apart (read with GET: a watch needs a read), where at least
    two groups remain for the tests: first the last one that shares its campaign (``campaigns``:
    ad group -> campaign id, as read) with a group that stays, then the last ones given."""
    campaigns = campaigns or {}
    paused = [g for g in reversed(group_ids) if statuses.get(g) == "paused" and g in read]
    beside = [
        g
        for g in paused
        if campaigns.get(g) and any(campaigns.get(o) == campaigns[g] for o in group_ids if o != g)
    ]
    ordered = [*beside[:1], *(g for g in paused if g not in beside[:1])]
    return ordered[: max(0, min(WATCHED, len(group_ids) - 2))]


def neighbours(group_ids: list[str], watched: list[str], campaigns: dict[str, str]) -> list[str]:
    """The groups of ``group_ids`` not watched that share a campaign with a watched one."""
    shared = {campaigns[g] for g in watched if campaigns.get(g)}
    return [g for g in group_ids if g not in watched and campaigns.get(g) in shared]


def unknown_name(option: str, name: str, known: list[str], listing: str) -> str:
    """A usage error that names the closest valid names, then every one."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"{option} {name!r} is unknown.{hint} Known ({listing} describes each): {', '.join(known)}"


def resolve(config: pytest.Config) -> Target:
    """Options > environment > ini; raises UsageError before any request when something is off."""
    option = config.getoption
    base_url = option("base_url") or None
    versions = registered_versions(option("api_version"))
    fault, profile = mock_selection(option, base_url)
    allowed = (
        option("allow_host")
        + config.getini("conformance_allowed_hosts")
        + _csv(os.environ.get("CONFORMANCE_ALLOWED_HOSTS"))
    )
    token, ids, peer_token, read_only_token, foreign_ids = identities_and_groups(option, base_url, allowed)
    ids = list(dict.fromkeys(ids))
    declared = declared_statuses(option("ad_group_status"), ids)
    compare_url, compare_token, compare_ids = resolve_compare(config, ids, allowed)
    return Target(
        base_url=base_url,
        token=token,
        ad_group_ids=ids,
        versions=versions,
        use_pause=option("use_pause"),
        timeout=option("request_timeout"),
        rate_limit=option("rate_limit"),
        time_budget=option("time_budget"),
        max_body=option("max_body_bytes"),
        strict=bool(option("strict")),  # pytest's own --strict: all its strictness, and SHOULD findings fail
        tolerance=invariants.Tolerance(
            **{
                name: value
                for name, value in (
                    ("ratio", option("ratio_tolerance")),
                    ("money", option("money_tolerance")),
                )
                if value is not None
            }
        ),
        max_examples=option("max_examples"),
        mock_seed=option("mock_seed"),
        mock_fault=fault,
        mock_profile=profile,
        concurrency=option("concurrency") or (1 if base_url is None else 8),
        shrink_time=option("shrink_time"),
        restore=option("restore"),
        secrets=[token, *(t for t in (compare_token, peer_token, read_only_token) if t)],
        peer_token=peer_token,
        read_only_token=read_only_token,
        foreign_ad_group_ids=list(dict.fromkeys(foreign_ids)),
        compare_base_url=compare_url,
        compare_token=compare_token,
        compare_ad_group_ids=compare_ids,
        declared=declared,
        dry_run=option("dry_run"),
        overlap=not option("no_overlap"),
    )


def registered_versions(asked: list[str] | None) -> list[str]:
    """The versions to test: those asked for (each registered), or every registered one."""
    registered = list(schemas.versions())
    unknown = [v for v in asked or [] if v not in registered]
    if unknown:
        raise pytest.UsageError(
            f"--api-version {', '.join(unknown)} is not registered (known: {', '.join(registered)})"
        )
    return asked or registered


def mock_selection(option, base_url: str | None) -> tuple[str | None, str]:
    """--mock-fault and --mock-profile, each a known name, and only for the embedded mock."""
    from conformance.mock.faults import CATALOGUE
    from conformance.mock.profiles import CATALOGUE as PROFILES

    fault, profile = option("mock_fault"), option("mock_profile")
    if fault and fault not in CATALOGUE:
        raise pytest.UsageError(unknown_name("--mock-fault", fault, list(CATALOGUE), "--list-faults"))
    if fault and base_url:
        raise pytest.UsageError("--mock-fault selects the embedded mock: drop --base-url")
    if profile not in PROFILES:
        raise pytest.UsageError(unknown_name("--mock-profile", profile, list(PROFILES), "--list-profiles"))
    if base_url and profile != "default":
        raise pytest.UsageError("--mock-profile selects the embedded mock: drop --base-url")
    return fault, profile


def identities_and_groups(
    option, base_url: str | None, allowed: list[str]
) -> tuple[str, list[str], str, str, list[str]]:
    """The token, ad groups, the other identities' tokens and the foreign groups: the user's, or
    the embedded mock's own where none is given (a remote target needs a token and a group)."""
    ids = option("ad_group_id") or _csv(os.environ.get("CONFORMANCE_AD_GROUP_IDS"))
    for group_id in ids:
        check_ad_group_id(group_id)
    token = option("api_token")
    peer_token, read_only_token = option("peer_api_token") or "", option("read_only_api_token") or ""
    foreign_ids = option("foreign_ad_group_id") or _csv(os.environ.get("CONFORMANCE_FOREIGN_AD_GROUP_IDS"))
    for group_id in foreign_ids:
        check_ad_group_id(group_id)
    if set(foreign_ids) & set(ids):
        raise pytest.UsageError("an --ad-group-id is also a --foreign-ad-group-id: a group has one account")
    if base_url is None:
        from conformance.mock.app import PEER, READ_ONLY, derived_token
        from conformance.mock.dataset import build_dataset, build_foreign

        token = token or secrets.token_urlsafe(24)
        ids = ids or [group.id for group in build_dataset(option("mock_seed"))]
        # the embedded mock's other identities: another account's token and groups, a read-only token
        peer_token = peer_token or derived_token(token, PEER)
        read_only_token = read_only_token or derived_token(token, READ_ONLY)
        foreign_ids = foreign_ids or [group.id for group in build_foreign(option("mock_seed"))]
        return token, ids, peer_token, read_only_token, foreign_ids
    guard(base_url, allowed)
    if not token:
        raise pytest.UsageError(
            "--base-url needs --api-token (or CONFORMANCE_API_TOKEN): a valid bearer token"
        )
    if not ids:
        raise pytest.UsageError(
            "--base-url needs at least one --ad-group-id (or CONFORMANCE_AD_GROUP_IDS): "
            "the ad groups the suite may unpause and pause"
        )
    return token, ids, peer_token, read_only_token, foreign_ids


def declared_statuses(values: list[str], ids: list[str]) -> dict[str, str]:
    """``--ad-group-status ID=STATUS`` values: each of a configured group, with a documented status."""
    statuses = {
        s for version in schemas.versions().values() for s in version.schema["properties"]["status"]["enum"]
    }
    declared = {}
    for value in values:
        group_id, sep, status = value.rpartition("=")
        if not sep or not group_id:
            raise pytest.UsageError(f"--ad-group-status {value!r} is not ID=STATUS")
        if group_id not in ids:
            raise pytest.UsageError(
                f"--ad-group-status names {group_id!r}, which is not an --ad-group-id of the run"
            )
        if status not in statuses:
            raise pytest.UsageError(
                f"--ad-group-status {value!r}: {status!r} is not a documented status ({', '.join(sorted(statuses))})"
            )
        declared[group_id] = status
    return declared


def resolve_compare(
    config: pytest.Config, ids: list[str], allowed: list[str]
) -> tuple[str | None, str, list[str]]:
    """The second target of a drift run: its URL (guarded like --base-url), token and ad groups."""
    option = config.getoption
    url = option("compare_base_url") or None
    compare_ids = option("compare_ad_group_id") or _csv(os.environ.get("CONFORMANCE_COMPARE_AD_GROUP_IDS"))
    if url is None:
        if option("compare_ad_group_id"):
            raise pytest.UsageError(
                "--compare-ad-group-id without --compare-base-url: there is no second target"
            )
        return None, "", []
    guard(url, allowed, "--compare-base-url")
    token = option("compare_api_token")
    if not token:
        raise pytest.UsageError(
            "--compare-base-url needs --compare-api-token (or CONFORMANCE_COMPARE_API_TOKEN): its own bearer token"
        )
    for group_id in compare_ids:
        check_ad_group_id(group_id)
    compare_ids = compare_ids or list(ids)
    if len(compare_ids) != len(ids):
        raise pytest.UsageError(
            f"one --compare-ad-group-id per ad group, in the same order: {len(ids)} ad groups, "
            f"{len(compare_ids)} compare ids"
        )
    return url, token, compare_ids


def check_ad_group_id(group_id: str) -> None:
    """Every id travels as one percent-encoded path segment (endpoints.segment); these cannot:
    an empty segment, '.' and '..' (dot segments servers resolve), and control characters."""
    if group_id in ("", ".", ".."):
        raise pytest.UsageError(
            f"--ad-group-id {group_id!r} cannot be sent as an ad group id: as a path segment it "
            "is empty or a dot segment, which would send the request to another endpoint"
        )
    if any(unicodedata.category(char) == "Cc" for char in group_id):
        raise pytest.UsageError(f"--ad-group-id {group_id!r} holds a control character: no ad group id does")


def shown_url(base_url: str) -> str:
    """The URL with any userinfo masked, for messages."""
    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return base_url
    return parts._replace(netloc="[REDACTED]@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def check_base_url(base_url: str, name: str = "--base-url") -> None:
    """Refuse, before any request, a base URL the suite cannot use as it is: not http(s), not a
    URL httpx accepts, with whitespace or control characters, with a query or fragment (paths are
    appended), or with credentials (httpx would send them as Basic auth instead of the bearer
    token, and they would appear in every URL the reports show: the token goes in --api-token)."""
    shown = shown_url(base_url)
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in base_url):
        raise pytest.UsageError(f"{name} {shown!r} holds whitespace or a control character")
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018  raises ValueError on a port that is not a number in range
        httpx.URL(base_url)
    except (ValueError, httpx.InvalidURL) as error:
        raise pytest.UsageError(f"{name} {shown!r} is not a usable URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(f"{name} {shown!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise pytest.UsageError(
            f"{name} {shown!r} carries credentials (user:password@): refused, because they would "
            "be sent as Basic auth instead of the bearer token and shown in every URL of the reports; "
            "give the token with --api-token (or CONFORMANCE_API_TOKEN)"
        )
    if parts.query or parts.fragment:
        raise pytest.UsageError(f"{name} {shown!r} has a query or fragment: the suite appends paths to it")


def guard(base_url: str, allowed: list[str], name: str = "--base-url") -> None:
    """State-changing requests go only to loopback or allowlisted hosts: refuse anything else."""
    check_base_url(base_url, name)
    parts = urlsplit(base_url)
    host = parts.hostname
    if is_loopback(host) or host in {h.strip().lower() for h in allowed}:
        return
    raise pytest.UsageError(
        f"refusing to run: {host} is not loopback and not on the allowlist. The suite unpauses and pauses "
        f"ad groups; if {host} is a test environment, pass --allow-host {host} "
        "(or list it in CONFORMANCE_ALLOWED_HOSTS or the ini option conformance_allowed_hosts)."
    )
