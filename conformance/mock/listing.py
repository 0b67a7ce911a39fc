"""What ``--list-faults`` and ``--list-profiles`` print: each name with one line of what it is."""

from __future__ import annotations

import re

from conformance.mock.faults import CATALOGUE as FAULTS
from conformance.mock.profiles import CATALOGUE as PROFILES


def listing(faults: bool, profiles: bool) -> str:
    """The names --mock-fault and --mock-profile take, each with its description and rules."""
    lines = []
    if faults:
        lines.append(f"faults (--mock-fault NAME): {len(FAULTS)}")
        width = max(map(len, FAULTS))
        lines += [f"  {f.name:<{width}}  {f.description} [{', '.join(f.rules)}]" for f in FAULTS.values()]
    if profiles:
        lines.append(f"correct variants (--mock-profile NAME): {len(PROFILES)}")
        width = max(map(len, PROFILES))
        lines += [f"  {p.name:<{width}}  {first_sentence(p.reading)}" for p in PROFILES.values()]
    return "\n".join(lines)


def first_sentence(text: str) -> str:
    """A description's first sentence (up to a full stop or colon), on one line."""
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.:])(?:\s|$)", flat)
    return match.group(1).rstrip(":") if match else flat
