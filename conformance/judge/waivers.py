"""Accepted failures: a file of waivers, each a known, ticketed violation of one rule on one version
(optionally one ad group) with a reason and an expiry date. A failure every violation of which a
live waiver covers is reported as waived (not passed); an expired waiver waives nothing and fails
the run; a waiver no failure used is reported, so a fixed violation's waiver gets removed.

The file (YAML)::

    waivers:
      - rule: INV-CTR
        version: 2026-06-20          # a registered version, or "all"
        ad_group: adgrp_17e003983ca8 # optional: only violations that name this group
        reason: "ADS-1234: click_through_rate is a percentage until the March release"
        expires: 2027-03-31          # the last day it waives
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance.contract import rules, schemas
from conformance.judge.notes import NoteKind

FIELDS = {"rule", "version", "ad_group", "reason", "expires"}


class WaiverError(ValueError):
    """The waiver file cannot be read as waivers: the run stops before any request (usage error)."""


@dataclass(frozen=True)
class Waiver:
    index: int  # its place in the file, as verdicts.json refers to it
    rule: str
    version: str  # a registered version, or "all"
    reason: str
    expires: dt.date
    ad_group: str | None = None

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, violation: rules.Violation, version: str | None) -> bool:
        """Whether this waiver accepts ``violation`` found on ``version`` (None: a test judged on
        every version, which only a waiver for "all" covers). An ad group is matched by its id in
        the violation's message, where every per-group check names it."""
        if violation.rule != self.rule:
            return False
        if self.version != "all" and version != self.version:
            return False
        return self.ad_group is None or self.ad_group in violation.message

    def line(self) -> str:
        group = f" on {self.ad_group}" if self.ad_group else ""
        return f"{self.rule} on {self.version}{group} until {self.expires.isoformat()}: {self.reason}"

    def record(self) -> dict:
        return {
            "index": self.index,
            "rule": self.rule,
            "version": self.version,
            "ad_group": self.ad_group,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


def load(path: Path) -> list[Waiver]:
    """Every waiver of the file, checked: a known rule, a registered version (or "all"), a reason,
    a date; anything else is a WaiverError naming the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise WaiverError(f"waiver file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise WaiverError(f"waiver file {path} is not YAML: {error}") from None
    entries = (data or {}).get("waivers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise WaiverError(f"waiver file {path}: expected a top-level 'waivers:' list")
    return load_entries(entries, f"waiver file {path}")


def load_entries(entries: list, source: str) -> list[Waiver]:
    """``load`` of entries already read (YAML mappings); ``source`` names them in errors."""
    catalogue, versions = rules.catalogue(), [*schemas.versions(), "all"]
    found = []
    for index, entry in enumerate(entries):
        where = f"{source}, entry {index + 1}"
        if not isinstance(entry, dict):
            raise WaiverError(f"{where}: expected a mapping of {', '.join(sorted(FIELDS))}")
        unknown = set(entry) - FIELDS
        missing = {"rule", "version", "reason", "expires"} - set(entry)
        if unknown or missing:
            raise WaiverError(f"{where}: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
        version = str(entry["version"])  # YAML reads 2026-06-20 as a date
        if entry["rule"] not in catalogue:
            raise WaiverError(f"{where}: {entry['rule']!r} is not a rule of the catalogue")
        if version not in versions:
            raise WaiverError(f"{where}: version {version!r} is not one of {', '.join(versions)}")
        if not isinstance(entry["expires"], dt.date) or isinstance(entry["expires"], dt.datetime):
            raise WaiverError(f"{where}: expires must be a date (YYYY-MM-DD), not {entry['expires']!r}")
        if not str(entry["reason"]).strip():
            raise WaiverError(f"{where}: a waiver needs a reason (a ticket, who accepted it)")
        found.append(
            Waiver(
                index=index,
                rule=entry["rule"],
                version=version,
                reason=str(entry["reason"]).strip(),
                expires=entry["expires"],
                ad_group=str(entry["ad_group"]) if entry.get("ad_group") else None,
            )
        )
    return found


def waiving(
    waivers: Iterable[Waiver], violations: list[rules.Violation], version: str | None, today: dt.date
) -> list[Waiver] | None:
    """The live waivers that together cover every one of ``violations``, or None when one is not
    covered (the failure stands)."""
    live = [waiver for waiver in waivers if not waiver.expired(today)]
    used: dict[int, Waiver] = {}
    for violation in violations:
        waiver = next((w for w in live if w.covers(violation, version)), None)
        if waiver is None:
            return None
        used[waiver.index] = waiver
    return list(used.values()) if violations else None


def summary(waivers: list[Waiver], used: set[int], today: dt.date) -> dict[NoteKind, list[str]]:
    """The waivers by what became of them in the run."""
    return {
        NoteKind.WAIVER_EXPIRED: [w.line() for w in waivers if w.expired(today)],
        NoteKind.WAIVER_USED: [w.line() for w in waivers if w.index in used and not w.expired(today)],
        NoteKind.WAIVER_UNUSED: [w.line() for w in waivers if w.index not in used and not w.expired(today)],
    }
