"""The version changelog, computed from the dated schemas, and a guard against breaking edits.

``python -m conformance.contract.changelog [--schemas DIR] [--out FILE]``
    For each pair of consecutive registered versions: fields added, removed, renamed (through the
    registry's ``shared_fields``), and type, nullability, format, enum and required changes.
    Writes reports/version-changelog.md (or FILE) and prints it.

``python -m conformance.contract.changelog --against REF [--schemas DIR]``
    Compares each version's schema at git commit REF with the working tree. A dated version may
    only change additively: a new optional member, or documentation (descriptions, examples). Any
    other change (a field removed or renamed, a type narrowed or widened, a field newly required or
    no longer required, an enum value removed or added, a format changed, a version dropped from the
    registry) is printed one line each, naming the version and the field, and exits 1. A version
    that REF does not have yet is new, and free.

Exit status: 0 done (no breaking change), 1 breaking changes, 2 usage error (a bad REF, no git).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from conformance.contract.schemas import SCHEMAS_DIR, FieldShape, field_shapes


class SchemasFolder:
    """The schemas of a working tree: ``read('2025-01-01/ad_group.json')``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @cache  # noqa: B019  one reader per run: the cache lives as long as it does
    def read(self, relative: str) -> dict[str, Any]:
        return json.loads((self.root / relative).read_text(encoding="utf-8"))


class SchemasAtCommit(SchemasFolder):
    """The same schemas folder as it was at git commit ``ref``."""

    def __init__(self, root: Path, ref: str):
        super().__init__(root)
        self.ref = ref
        self.top = self._git("rev-parse", "--show-toplevel").strip()
        self.prefix = Path(root).resolve().relative_to(Path(self.top).resolve()).as_posix()
        self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")  # a clear error for a bad ref

    def _git(self, *args: str) -> str:
        completed = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, check=False, timeout=30
        )
        if completed.returncode != 0:
            raise UsageError(f"git {' '.join(args)}: {completed.stderr.strip() or 'failed'}")
        return completed.stdout

    @cache  # noqa: B019
    def read(self, relative: str) -> dict[str, Any]:
        path = f"{self.prefix}/{relative}" if self.prefix not in ("", ".") else relative
        return json.loads(self._git("show", f"{self.ref}:{path}"))


class UsageError(Exception):
    pass


@dataclass(frozen=True)
class Change:
    version: str  # the version the change is in (the newer one of a pair)
    kind: str  # added | removed | renamed | type | nullability | format | enum | required | version
    field: str
    detail: str

    def line(self) -> str:
        return f"{self.version}: {self.field}: {self.kind}: {self.detail}"


def _types(shape: FieldShape) -> str:
    return " | ".join(sorted(shape.types - {"null"})) or "null"


def _values(values) -> str:
    return ", ".join("null" if v is None else str(v) for v in values)


def field_changes(
    version: str, name: str, old: FieldShape, new: FieldShape, new_name: str = ""
) -> list[Change]:
    """How one field changed between two shapes (nothing when only its documentation did)."""
    shown = f"{name} → {new_name}" if new_name and new_name != name else name
    found = []
    if old.types - {"null"} != new.types - {"null"}:
        found.append(Change(version, "type", shown, f"{_types(old)} → {_types(new)}"))
    if old.nullable != new.nullable:
        found.append(
            Change(version, "nullability", shown, "no longer nullable" if old.nullable else "now nullable")
        )
    if old.format != new.format:
        found.append(Change(version, "format", shown, f"{old.format or 'none'} → {new.format or 'none'}"))
    if old.enum != new.enum:
        if old.enum is None or new.enum is None:
            detail = (
                f"open → closed ({_values(new.enum)})"
                if old.enum is None
                else f"closed ({_values(old.enum)}) → open"
            )
            found.append(Change(version, "enum", shown, detail))
        else:
            removed = [v for v in old.enum if v not in new.enum]
            added = [v for v in new.enum if v not in old.enum]
            parts = ([f"removed {_values(removed)}"] if removed else []) + (
                [f"added {_values(added)}"] if added else []
            )
            if parts:
                found.append(Change(version, "enum", shown, "; ".join(parts)))
    if old.required != new.required:
        found.append(
            Change(version, "required", shown, "now required" if new.required else "no longer required")
        )
    return found


def shapes(source: SchemasFolder, version: str) -> dict[str, FieldShape]:
    relative = source.read("versions.json")["versions"][version]["ad_group"]
    return field_shapes(source.read(relative), relative, source.read, nested=True)


def _renames(old_entry: dict, new_entry: dict) -> dict[str, str]:
    """old field -> new field, for every shared concept whose pointer differs between the versions."""
    old_fields, new_fields = old_entry.get("shared_fields", {}), new_entry.get("shared_fields", {})
    renames = {}
    for concept, old_pointer in old_fields.items():
        new_pointer = new_fields.get(concept)
        if new_pointer and new_pointer != old_pointer:
            renames[old_pointer.strip("/")] = new_pointer.strip("/")
    return renames


def _parent(name: str) -> str:
    return name.rpartition("/")[0].removesuffix("[]")


def compare_versions(source: SchemasFolder, old: str, new: str) -> list[Change]:
    """What changed from version ``old`` to version ``new`` (consecutive registered versions)."""
    registry = source.read("versions.json")["versions"]
    before, after = shapes(source, old), shapes(source, new)
    renames = {a: b for a, b in _renames(registry[old], registry[new]).items() if a in before and b in after}
    found = []
    for name, shape in before.items():
        if name in renames:
            found.append(Change(new, "renamed", name, f"now {renames[name]}"))
            found += field_changes(new, name, shape, after[renames[name]], renames[name])
        elif name not in after:
            if _parent(name) not in before or _parent(name) in after:  # else its field's line says it
                found.append(Change(new, "removed", name, f"was {_types(shape)}"))
        else:
            found += field_changes(new, name, shape, after[name])
    renamed_to = set(renames.values())
    for name, shape in after.items():
        if _parent(name) in after and _parent(name) not in before:
            continue  # a member of a field added whole: the field's line says it
        if name not in before and name not in renamed_to:
            nullable = " | null" if shape.nullable else ""
            found.append(
                Change(
                    new, "added", name, f"{_types(shape)}{nullable}{'' if shape.required else ', optional'}"
                )
            )
    return found


@dataclass
class VersionPair:
    old: str
    new: str
    changes: list[Change]


def changelog(source: SchemasFolder) -> list[VersionPair]:
    """Every pair of consecutive registered versions (dated names sort in time) and its changes."""
    names = sorted(source.read("versions.json")["versions"])
    return [VersionPair(a, b, compare_versions(source, a, b)) for a, b in itertools.pairwise(names)]


KIND_ORDER = ("renamed", "removed", "type", "nullability", "format", "enum", "required", "added")
KIND_HEADINGS = {
    "renamed": "Renamed",
    "removed": "Removed",
    "type": "Type changed",
    "nullability": "Nullability changed",
    "format": "Format changed",
    "enum": "Enum values changed",
    "required": "Required changed",
    "added": "Added",
}


def grouped(pair: VersionPair) -> list[tuple[str, list[Change]]]:
    return [
        (KIND_HEADINGS[kind], [c for c in pair.changes if c.kind == kind])
        for kind in KIND_ORDER
        if any(c.kind == kind for c in pair.changes)
    ]


def entry(change: Change) -> str:
    if change.kind == "renamed":
        return f"{change.field} → {change.detail.removeprefix('now ')}"
    return f"{change.field}: {change.detail}"


def markdown(pairs: list[VersionPair]) -> str:
    text = [
        "## Version changelog",
        "",
        "Computed from the dated schemas in schemas/ (fields of the 200 body; "
        "nested members as 'object/member' and 'array[]/member').",
    ]
    for pair in pairs:
        text += ["", f"### {pair.old} → {pair.new}"]
        if not pair.changes:
            text += ["", "No change to the 200 body's fields."]
        for heading, changes in grouped(pair):
            text += ["", f"**{heading}** ({len(changes)})", ""] + [f"- `{entry(c)}`" for c in changes]
    return "\n".join(text) + "\n"


def breaking_changes(before: SchemasFolder, after: SchemasFolder) -> list[Change]:
    """Every non-additive change to a version both have (or a version dropped from the registry)."""
    old_registry = before.read("versions.json")["versions"]
    new_registry = after.read("versions.json")["versions"]
    found = []
    for version in old_registry:
        if version not in new_registry:
            found.append(Change(version, "version", "(registry)", "removed from versions.json"))
            continue
        old, new = shapes(before, version), shapes(after, version)
        for name, shape in old.items():
            if name not in new:
                found.append(Change(version, "removed", name, f"was {_types(shape)}"))
            else:
                found += field_changes(version, name, shape, new[name])
        found += [
            Change(version, "added", name, "a new field that is required")
            for name, shape in new.items()
            if name not in old and shape.required
        ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.contract.changelog", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--schemas", type=Path, default=SCHEMAS_DIR, help="the schemas folder (default: schemas/)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the changelog markdown")
    parser.add_argument("--against", metavar="REF", help="guard: compare with the schemas at git commit REF")
    args = parser.parse_args(argv)
    if not (args.schemas / "versions.json").is_file():
        print(f"changelog: no versions.json in {args.schemas}", file=sys.stderr)
        return 2
    current = SchemasFolder(args.schemas)
    if args.against:
        try:
            base = SchemasAtCommit(args.schemas, args.against)
            found = breaking_changes(base, current)
        except (UsageError, OSError, subprocess.TimeoutExpired) as error:
            print(f"changelog: cannot read the schemas at {args.against}: {error}", file=sys.stderr)
            return 2
        for change in found:
            print(f"BREAKING {change.line()}")
        checked = ", ".join(sorted(base.read("versions.json")["versions"]))
        verdict = f"{len(found)} breaking change(s)" if found else "only additive changes"
        print(f"changelog: {verdict} to the dated versions since {args.against} (checked: {checked})")
        return 1 if found else 0
    text = markdown(changelog(current))
    out = args.out or Path(__file__).resolve().parents[2] / "reports" / "version-changelog.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"changelog: written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
