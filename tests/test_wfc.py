"""reports/wfc-report.json is valid against the Web Fuzzing Commons report schema that the pinned
webfuzzing-commons package ships, names every failed test's rules under their WFC categories, and
every rule's wfc code is one the package's catalogue has."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import yaml

from conformance.contract import rules
from conformance.report import wfc


def schema() -> dict:
    return yaml.safe_load(resources.files("webfuzzing_commons").joinpath("data/report.yaml").read_text())


def outcome(test: str, state: str, broken: list[str]) -> dict:
    return {"test": test, "when": "call", "outcome": state, "rules": broken, "start": 100.0, "stop": 103.5}


def test_every_rule_code_is_in_the_catalogue():
    known = wfc.categories()
    for rule in rules.catalogue().values():
        assert rule.wfc is None or rule.wfc in known, (rule.id, rule.wfc)


def test_a_run_with_failures_is_a_valid_report_naming_them():
    verdicts = {
        "requests": 42,
        "outcomes": [
            outcome("suites/test_auth.py::test_a[x]", "passed", []),
            outcome("suites/test_integrity.py::test_b", "failed", ["INT-BODY-IGNORED", "ERR-JSON"]),
            outcome("suites/test_errors.py::test_c", "xfailed", ["EXP-NO-STACK"]),
        ],
    }
    report = wfc.report(verdicts)
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(report)
    assert report["totalTests"] == 3
    faults = {f["testCaseId"]: f["faultCategories"] for f in report["faults"]["foundFaults"]}
    assert {c["context"]: c["id"] for c in faults["suites/test_integrity.py::test_b"]} == {
        "ERR-JSON": faults["suites/test_integrity.py::test_b"][0]["id"],
        "INT-BODY-IGNORED": "SECURITY_MASS_ASSIGNMENT",
    }
    assert faults["suites/test_errors.py::test_c"][0]["code"] == 309
    assert report["faults"]["totalNumber"] == 3
    json.dumps(report)
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a report gone wrong
        jsonschema.Draft202012Validator(schema()).validate({**report, "totalTests": -1})


def test_a_clean_run_reports_no_fault():
    report = wfc.report({"requests": 1, "outcomes": [outcome("suites/test_auth.py::test_a", "passed", [])]})
    jsonschema.Draft202012Validator(schema()).validate(report)
    assert report["faults"] == {"totalNumber": 0, "foundFaults": []}
