"""Load the hand-written schemas and the version registry; compile validators once.

Everything version-specific comes from ``schemas/versions.json``: adding a version is data.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource

from conformance.contract import data

SCHEMAS_DIR = data.SCHEMAS


def parse_iso8601(value: str) -> datetime:
    """Parse an ISO 8601 date or date-time; raise ValueError when it is not one.

    Python 3.11's fromisoformat accepts the extended and basic forms, fractions and offsets
    (and 'Z'), which is the reasonable reading of the docs' bare 'ISO 8601'.
    """
    if not isinstance(value, str) or not value[:4].isdigit():
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
    return datetime.fromisoformat(value)


FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("iso8601", raises=ValueError)
def _is_iso8601(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only judge strings; type judges the rest
    parse_iso8601(value)
    return True


@dataclass(frozen=True)
class Version:
    """One registered API version and its compiled 200-body validator."""

    name: str
    schema: dict[str, Any]
    source: str
    shared_fields: dict[str, str]  # concept -> JSON pointer, compared across versions

    def shared(self, body: dict, concept: str) -> Any:
        """The value of a cross-version concept in ``body`` (None when absent)."""
        node: Any = body
        for part in self.shared_fields[concept].strip("/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    @property
    def settings(self) -> tuple[str, ...]:
        """The fields an unpause must leave as they were: every one the schema does not mark
        ``x-changed-by-unpause`` (status, updated_at, what delivery moves)."""
        return tuple(
            name for name, node in self.schema["properties"].items() if "x-changed-by-unpause" not in node
        )

    @property
    def validator(self) -> Draft202012Validator:
        return _validator(self.schema["$id"])

    def accepts(self, body: Any) -> bool:
        """Whether ``body`` validates: stops at the first error (another version's body usually
        breaks this schema at once), where errors() has to find them all."""
        return self.validator.is_valid(body)

    def errors(self, body: Any) -> list[str]:
        """Every schema violation of ``body``, as 'path: message' lines (empty when valid)."""
        return format_errors(validation_errors(self.schema["$id"], body))


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@cache
def registry_data() -> dict[str, Any]:
    return _load(SCHEMAS_DIR / "versions.json")


@cache
def schema_documents() -> dict[str, dict[str, Any]]:
    """Every schema file under schemas/, keyed by its $id."""
    documents = {}
    for path in sorted(SCHEMAS_DIR.rglob("*.json")):
        document = _load(path)
        if "$schema" in document:
            documents[document["$id"]] = document
    return documents


@cache
def ref_registry() -> Registry:
    return Registry().with_resources(
        (uri, Resource.from_contents(document)) for uri, document in schema_documents().items()
    )


@cache
def _validator(schema_id: str) -> Draft202012Validator:
    return Draft202012Validator(
        schema_documents()[schema_id], registry=ref_registry(), format_checker=FORMAT_CHECKER
    )


_ERRORS_SEEN: dict[tuple[str, str], tuple[ValidationError, ...]] = {}


def validation_errors(schema_id: str, instance: Any) -> tuple[ValidationError, ...]:
    """Every error of ``instance`` against the schema ``schema_id``, computed once per distinct
    body: the suites judge one body under several rules (four schema rules, the shape tests), and
    validating a 2026 body costs ~0.4 ms, more than fetching it from the mock. The key is the
    body's repr, which keeps apart what JSON Schema keeps apart (1 / 1.0 / True, list / tuple)."""
    key = (schema_id, repr(instance))
    errors = _ERRORS_SEEN.get(key)
    if errors is None:
        if len(_ERRORS_SEEN) >= 4096:
            _ERRORS_SEEN.clear()
        errors = _ERRORS_SEEN[key] = tuple(_validator(schema_id).iter_errors(instance))
    return errors


def format_errors(errors: tuple[ValidationError, ...]) -> list[str]:
    lines = []
    for error in sorted(errors, key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(body)"
        lines.append(f"{where}: {error.message}")
    return lines


def schema_for_file(relative: str) -> dict[str, Any]:
    return _load(SCHEMAS_DIR / relative)


@cache
def versions() -> dict[str, Version]:
    """All registered versions, in registry order."""
    data = registry_data()
    return {
        name: Version(
            name=name,
            schema=schema_for_file(entry["ad_group"]),
            source=entry["source"],
            shared_fields=entry.get("shared_fields", {}),
        )
        for name, entry in data["versions"].items()
    }


def default_version() -> Version:
    return versions()[registry_data()["default"]]


def latest_version() -> Version:
    return versions()[registry_data()["latest"]]


@cache
def error_schema() -> dict[str, Any]:
    return schema_for_file(registry_data()["error"])


def error_envelope_errors(body: Any) -> list[str]:
    return format_errors(validation_errors(error_schema()["$id"], body))


def fields_only_in_other_versions(version: Version) -> frozenset[str]:
    """Top-level fields some other version has and this one does not (a version leak)."""
    others = set().union(*(v.fields for v in versions().values() if v.name != version.name))
    return frozenset(others - version.fields)


# -- field shapes: what each top-level field of a 200 body may be, as plain data ------------------

JSON_TYPES = ("null", "boolean", "number", "string", "array", "object")


@dataclass(frozen=True)
class FieldShape:
    """One top-level field of a version's 200 body, normalized from its schema: the JSON types a
    value may have ('null' among them when nullable), the closed list of values when the field is an
    enum (None when any value of its types goes), the format, and whether it is required. The
    response-coverage branches and the version changelog both read fields through this."""

    types: frozenset[str]
    enum: tuple | None
    format: str | None
    required: bool

    @property
    def nullable(self) -> bool:
        return "null" in self.types


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "object")


def field_shapes(
    document: dict[str, Any], relative: str, load, *, nested: bool = False
) -> dict[str, FieldShape]:
    """The fields of the schema ``document`` (the file ``relative`` inside a schemas folder), by
    name: the top-level ones, or with ``nested`` also the members of objects and array items
    ('ad_campaign/id', 'issues[]/category'). Each ``$ref`` is resolved with ``load(relative_path)``,
    a plain reader, so a schemas folder at another git commit is read like the working tree."""

    def resolve(node: dict[str, Any], here: str, depth: int = 0) -> tuple[dict[str, Any], str]:
        if "$ref" not in node or depth > 16:
            return node, here
        target, _, pointer = node["$ref"].partition("#")
        where = posixpath.normpath(posixpath.join(posixpath.dirname(here), target)) if target else here
        resolved: Any = load(where)
        for part in filter(None, pointer.split("/")):
            resolved = resolved[part.replace("~1", "/").replace("~0", "~")]
        merged = {**resolved, **{k: v for k, v in node.items() if k != "$ref"}}
        return resolve(merged, where, depth + 1)

    def shape(node: dict[str, Any], here: str) -> tuple[frozenset[str], tuple | None, str | None]:
        node, here = resolve(node, here)
        if "enum" in node:
            values = tuple(node["enum"])
            return frozenset(json_type(v) for v in values), values, node.get("format")
        if "anyOf" in node or "oneOf" in node:
            parts = [shape(branch, here) for branch in node.get("anyOf", node.get("oneOf"))]
            types = frozenset().union(*(p[0] for p in parts))
            # closed only when every branch is: an open branch (any string) opens the whole field
            enum = None if any(p[1] is None for p in parts) else tuple(v for p in parts for v in p[1])
            formats = sorted({p[2] for p in parts if p[2]})
            return types, enum, ", ".join(formats) or None
        declared = node.get("type", list(JSON_TYPES))
        types = frozenset([declared] if isinstance(declared, str) else declared)
        if "integer" in types:
            types = (types - {"integer"}) | {"number"}
        return types, None, node.get("format")

    def members(node: dict[str, Any], here: str, prefix: str) -> dict[str, FieldShape]:
        node, here = resolve(node, here)
        for branch in node.get("anyOf", node.get("oneOf", [])):  # the object branch of a nullable object
            if isinstance(branch, dict) and ("properties" in branch or "$ref" in branch):
                node, here = resolve(branch, here)
        found = {}
        required = set(node.get("required", []))
        for name, child in node.get("properties", {}).items():
            found[prefix + name] = FieldShape(*shape(child, here), required=name in required)
            if nested:
                resolved, where = resolve(child, here)
                found.update(members(resolved, where, f"{prefix}{name}/"))
                if isinstance(resolved.get("items"), dict):
                    found.update(members(resolved["items"], where, f"{prefix}{name}[]/"))
        return found

    return members(document, relative, "")


@cache
def version_field_shapes(name: str) -> dict[str, FieldShape]:
    """The field shapes of a registered version's 200 body (this checkout's schemas)."""
    relative = registry_data()["versions"][name]["ad_group"]
    return field_shapes(schema_for_file(relative), relative, schema_for_file)
