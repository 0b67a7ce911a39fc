"""The hand-written schemas: valid, resolvable, registry-driven, and right on every case file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conformance.contract import schemas

CASES_DIR = Path(__file__).parent / "schema_cases"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
DESCRIPTION = re.compile(r"^[a-z0-9 ].* (is|are) (valid|invalid)$")


def load_cases(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def case_schema_id(group: dict) -> str:
    if group.get("schema") == "error":
        return schemas.error_schema()["$id"]
    return schemas.versions()[group["version"]].schema["$id"]


def case_validator(group: dict) -> Draft202012Validator:
    return schemas._validator(case_schema_id(group))


def all_cases():
    for path in CASE_FILES:
        for group in load_cases(path):
            for case in group["tests"]:
                yield pytest.param(group, case, id=f"{path.stem}: {case['description']}")


@pytest.mark.parametrize("schema_id", sorted(schemas.schema_documents()))
def test_schema_is_valid_against_its_metaschema(schema_id):
    Draft202012Validator.check_schema(schemas.schema_documents()[schema_id])


def _refs(node, base):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield base, value
            else:
                yield from _refs(value, base)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item, base)


@pytest.mark.parametrize("schema_id", sorted(schemas.schema_documents()))
def test_every_ref_resolves(schema_id):
    resolver = schemas.ref_registry().resolver(base_uri=schema_id)
    for _, ref in _refs(schemas.schema_documents()[schema_id], schema_id):
        resolved = resolver.lookup(ref)
        assert resolved.contents, f"{schema_id}: $ref {ref} resolves to nothing"


def test_registry_names_existing_versions_and_files():
    data = schemas.registry_data()
    assert data["default"] == "2025-01-01", "the docs: an omitted header means the original 2025-01-01 shapes"
    assert data["latest"] in data["versions"]
    for name, entry in data["versions"].items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-\d+)?", name), name
        assert (schemas.SCHEMAS_DIR / entry["ad_group"]).is_file(), entry["ad_group"]
        assert entry["ad_group"].startswith(f"{name}/"), "each version's schemas live in its own folder"


@pytest.mark.parametrize(("group", "case"), list(all_cases()))
def test_schema_case(group, case):
    errors = schemas.format_errors(tuple(case_validator(group).iter_errors(case["instance"])))
    if case["valid"]:
        assert errors == [], f"{case['description']}: {errors}"
    else:
        assert errors, f"{case['description']}: the schema accepted it"
    if group.get("schema") != "error":  # the short-circuit verdict agrees with the full one
        assert schemas.versions()[group["version"]].accepts(case["instance"]) == (errors == [])
    # the memo the suites validate through gives the same answer, first time and from memory
    for _ in range(2):
        remembered = schemas.validation_errors(case_schema_id(group), case["instance"])
        assert schemas.format_errors(remembered) == errors


@pytest.mark.parametrize(
    ("field", "valid", "invalid"),
    [
        ("impressions", 1, True),
        ("impressions", 0, False),
        ("created_at", "2026-01-01T00:00:00Z", "2026-13-01T00:00:00Z"),
    ],
    ids=["one-true", "zero-false", "timestamp"],
)
def test_validation_memo_keeps_apart_what_json_schema_keeps_apart(field, valid, invalid):
    """Bodies equal under == (1 and True) or nearly alike must not share a remembered verdict."""
    version = schemas.latest_version()
    body = {**first_valid_instance(version.name), field: valid}
    assert schemas.validation_errors(version.schema["$id"], body) == ()
    assert schemas.validation_errors(version.schema["$id"], {**body, field: invalid}) != ()


def test_case_files_are_well_formed():
    """The sanity check of the case files themselves (JSON-Schema-Test-Suite style)."""
    versions_with_cases = set()
    for path in CASE_FILES:
        for group in load_cases(path):
            assert set(group) <= {"description", "version", "schema", "tests"}, path
            if group.get("schema") != "error":
                assert group["version"] in schemas.versions(), f"{path}: unknown version {group['version']}"
                versions_with_cases.add(group["version"])
            descriptions = [case["description"] for case in group["tests"]]
            assert len(descriptions) == len(set(descriptions)), f"{path}: duplicate descriptions"
            assert {case["valid"] for case in group["tests"]} == {True, False}, f"{path}: needs both verdicts"
            for case in group["tests"]:
                assert set(case) == {"description", "instance", "valid"}, case["description"]
                assert isinstance(case["valid"], bool)
                assert DESCRIPTION.match(case["description"]), (
                    f"{path}: {case['description']!r} is not a short present-tense fact ending in is valid/invalid"
                )
    assert versions_with_cases == set(schemas.versions()), "every registered version has a case file"


def first_valid_instance(version: str) -> dict:
    for group in load_cases(CASES_DIR / f"{version}.json"):
        return next(case["instance"] for case in group["tests"] if case["valid"])
    raise AssertionError(version)


@pytest.mark.parametrize("version", list(schemas.versions()))
@pytest.mark.parametrize("other", list(schemas.versions()))
def test_each_shape_is_rejected_by_every_other_versions_schema(version, other):
    body = first_valid_instance(version)
    errors = schemas.versions()[other].errors(body)
    if version == other:
        assert errors == []
    else:
        assert errors, f"a {version} body passes the {other} schema: the shapes are not distinguishable"


def test_version_leak_fields_come_from_the_schemas():
    old, new = schemas.versions()["2025-01-01"], schemas.versions()["2026-06-20"]
    assert schemas.fields_only_in_other_versions(new) == {"platform", "budget"}
    assert "click_through_rate" in schemas.fields_only_in_other_versions(old)
    assert "id" not in schemas.fields_only_in_other_versions(old)


@pytest.mark.subprocess
def test_a_new_version_is_data_not_code(tmp_path):
    """Copy schemas/, add a suffixed version as one folder + one registry entry, and load it."""
    copy = tmp_path / "schemas"
    shutil.copytree(schemas.SCHEMAS_DIR, copy)
    new = copy / "2026-07-08-1"
    new.mkdir()
    document = json.loads((copy / "2026-06-20" / "ad_group.json").read_text())
    document["$id"] = document["$id"].replace("2026-06-20", "2026-07-08-1")
    document["required"].append("delivery_state")
    document["properties"]["delivery_state"] = {"type": "string"}
    (new / "ad_group.json").write_text(json.dumps(document))
    registry = json.loads((copy / "versions.json").read_text())
    registry["versions"]["2026-07-08-1"] = {"ad_group": "2026-07-08-1/ad_group.json", "source": "test"}
    (copy / "versions.json").write_text(json.dumps(registry))
    probe = (
        "from conformance.contract import schemas;"
        "v = schemas.versions()['2026-07-08-1'];"
        "print(sorted(schemas.versions()), 'delivery_state' in v.fields,"
        " bool(v.errors({'id': 'x'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "CONFORMANCE_SCHEMAS_DIR": str(copy)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "['2025-01-01', '2026-06-20', '2026-07-08-1'] True True"
