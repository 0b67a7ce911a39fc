"""The version changelog reads the dated schemas correctly (the real pair, and a synthetic third
version given as data), and the breaking-change guard fails on a breaking edit of a dated
version and passes on an additive one (in a temporary git repository)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.contract import changelog
from conformance.contract.schemas import SCHEMAS_DIR

ROOT = Path(__file__).resolve().parent.parent


def changes(pairs: list[changelog.VersionPair], old: str, new: str) -> set[str]:
    pair = next(p for p in pairs if (p.old, p.new) == (old, new))
    return {f"{c.kind} {c.field}: {c.detail}" for c in pair.changes}


def test_the_changelog_of_the_two_real_versions():
    found = changes(changelog.changelog(changelog.SchemasFolder(SCHEMAS_DIR)), "2025-01-01", "2026-06-20")
    assert "renamed budget: now budget_amount" in found
    assert "removed platform: was string" in found
    assert "enum status: removed inactive, in_review, flagged" in found
    assert "format created_at: date-time → iso8601" in found
    for metric in ("click_through_rate", "cost_per_click", "impressions", "spend", "reach"):
        assert f"added {metric}: number" in found
    assert "added cost_per_lead: number | null" in found
    assert "added issues: array" in found
    assert not any(line.startswith("added issues[]/") for line in found)  # said by the issues line
    # nothing about what did not change: title, budget_type, ad_campaign are the same in both
    assert not any(" title" in line or "budget_type" in line or "ad_campaign" in line for line in found)


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def schemas_copy(tmp_path) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, folder)
    return folder


def add_third_version(folder: Path) -> None:
    """2027-01-01, as data: the latest shape with a rename, a removal, a type, nullability, format,
    enum and required change, and a new optional field."""
    schema = read(folder / "2026-06-20" / "ad_group.json")
    schema["$id"] = schema["$id"].replace("2026-06-20", "2027-01-01")
    props, required = schema["properties"], schema["required"]
    props["name"] = props.pop("title")
    required[required.index("title")] = "name"
    del props["reach"]
    required.remove("reach")
    props["clicks"] = {"type": "string"}
    props["frequency"] = {"type": "number"}
    props["created_at"] = {"type": "string", "format": "date-time"}
    props["status"] = {"enum": ["active", "paused", "archived"]}
    props["labels"] = {"type": "array", "items": {"type": "string"}}
    required.remove("issues")
    write(folder / "2027-01-01" / "ad_group.json", schema)
    registry = read(folder / "versions.json")
    entry = json.loads(json.dumps(registry["versions"]["2026-06-20"]))
    entry["ad_group"] = "2027-01-01/ad_group.json"
    entry["shared_fields"]["title"] = "/name"
    registry["versions"]["2027-01-01"] = entry
    write(folder / "versions.json", registry)


@pytest.mark.subprocess
def test_a_synthetic_third_version_is_compared_with_the_one_before(schemas_copy, tmp_path):
    add_third_version(schemas_copy)
    out = tmp_path / "changelog.md"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.contract.changelog",
            "--schemas",
            str(schemas_copy),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    pairs = changelog.changelog(changelog.SchemasFolder(schemas_copy))
    assert [(p.old, p.new) for p in pairs] == [("2025-01-01", "2026-06-20"), ("2026-06-20", "2027-01-01")]
    assert changes(pairs, "2026-06-20", "2027-01-01") == {
        "renamed title: now name",
        "removed reach: was number",
        "type clicks: number → string",
        "nullability frequency: no longer nullable",
        "format created_at: iso8601 → date-time",
        "enum status: removed rejected; added archived",
        "required issues: no longer required",
        "added labels: array, optional",
    }
    text = out.read_text()
    assert "### 2026-06-20 → 2027-01-01" in text
    assert "`title → name`" in text
    assert text == completed.stdout


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
        timeout=60,
    )


def guard(schemas_folder: Path, ref: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.contract.changelog",
            "--schemas",
            str(schemas_folder),
            "--against",
            ref,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository whose one commit holds this checkout's schemas under schemas/."""
    root = tmp_path / "repo"
    shutil.copytree(SCHEMAS_DIR, root / "schemas")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


@pytest.mark.subprocess
def test_the_guard_passes_an_additive_edit_and_a_new_version(repo):
    path = repo / "schemas" / "2026-06-20" / "ad_group.json"
    schema = read(path)
    schema["properties"]["labels"] = {"type": "array", "description": "A new optional member."}
    schema["properties"]["clicks"]["description"] = "The number of clicks, reworded."
    write(path, schema)
    add_third_version(repo / "schemas")  # a version the base does not have is new, and free
    completed = guard(repo / "schemas", "HEAD")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "only additive changes" in completed.stdout


@pytest.mark.subprocess
def test_the_guard_fails_a_breaking_edit_with_one_line_per_change(repo):
    path = repo / "schemas" / "2026-06-20" / "ad_group.json"
    schema = read(path)
    del schema["properties"]["reach"]
    schema["properties"]["budget_amount"] = {"type": "number"}  # null no longer allowed
    schema["properties"]["status"]["enum"].remove("rejected")
    schema["properties"]["labels"] = {"type": "array"}
    schema["required"].append("labels")
    write(path, schema)
    original = repo / "schemas" / "2025-01-01" / "ad_group.json"
    schema = read(original)
    schema["properties"]["title"]["type"] = "string"
    write(original, schema)
    completed = guard(repo / "schemas", "HEAD")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BREAKING")]
    assert sorted(lines) == sorted(
        [
            "BREAKING 2026-06-20: reach: removed: was number",
            "BREAKING 2026-06-20: budget_amount: nullability: no longer nullable",
            "BREAKING 2026-06-20: status: enum: removed rejected",
            "BREAKING 2026-06-20: labels: added: a new field that is required",
            "BREAKING 2025-01-01: title: nullability: no longer nullable",
        ]
    )
    assert "5 breaking change(s)" in completed.stdout


@pytest.mark.subprocess
def test_the_guard_fails_a_version_dropped_from_the_registry(repo):
    registry = read(repo / "schemas" / "versions.json")
    del registry["versions"]["2025-01-01"]
    write(repo / "schemas" / "versions.json", registry)
    completed = guard(repo / "schemas", "HEAD")
    assert completed.returncode == 1
    assert "BREAKING 2025-01-01: (registry): version: removed from versions.json" in completed.stdout


@pytest.mark.subprocess
def test_the_guard_names_a_ref_it_cannot_read(repo):
    completed = guard(repo / "schemas", "no-such-ref")
    assert completed.returncode == 2
    assert "cannot read the schemas at no-such-ref" in completed.stderr
