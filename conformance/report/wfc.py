"""The run in the Web Fuzzing Commons report format (reports/wfc-report.json): every test as a
test case, and each rule a failed test broke as a found fault under its WFC category (the rule's
``wfc`` code, from webfuzzing-commons' fault_categories.json; a rule without one is reported under
the catalogue's tool-specific range, 900 + its place among the rules without one). Reads
verdicts.json and the contract only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata, resources
from typing import Any

from conformance import __version__
from conformance.contract import rules

OPERATION = "POST:/ad_groups/{id}/unpause"
TOOL_RANGE = 900  # WFC's codes 900-999: faults a tool defines itself


def categories() -> dict[int, str]:
    """WFC's fault code -> its stable id, from the package's own catalogue."""
    data = json.loads(
        resources.files("webfuzzing_commons").joinpath("data/fault_categories.json").read_text()
    )
    return {entry["code"]: entry["id"] for entry in data}


def category(rule: rules.Rule, known: dict[int, str], own: list[str]) -> dict[str, Any]:
    if rule.wfc is not None:
        return {"id": known[rule.wfc], "code": rule.wfc, "context": rule.id}
    return {
        "id": f"UNPAUSE_CONFORMANCE_{rule.id.replace('-', '_')}",
        "code": TOOL_RANGE + own.index(rule.id) % 100,
        "context": rule.id,
    }


def report(verdicts: dict) -> dict[str, Any]:
    catalogue, known = rules.catalogue(), categories()
    own = sorted(rule_id for rule_id, rule in catalogue.items() if rule.wfc is None)
    calls = [o for o in verdicts.get("outcomes", []) if o["when"] == "call"]
    found = []
    for outcome in calls:
        broken = sorted({r for r in outcome["rules"] if r in catalogue})
        if outcome["outcome"] in ("failed", "xfailed", "waived") and broken:
            found.append(
                {
                    "operationId": OPERATION,
                    "testCaseId": outcome["test"],
                    "faultCategories": [category(catalogue[r], known, own) for r in broken],
                }
            )
    distinct = {(c["code"], c["context"]) for fault in found for c in fault["faultCategories"]}
    started = min((o.get("start", 0) for o in calls), default=0)
    stopped = max((o.get("stop", 0) for o in calls), default=0)
    return {
        "schemaVersion": metadata.version("webfuzzing-commons"),
        "toolName": "unpause-conformance",
        "toolVersion": __version__,
        "creationTime": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "faults": {"totalNumber": len(distinct), "foundFaults": found},
        "problemDetails": {
            "rest": {
                "outputHttpCalls": int(verdicts.get("requests", 0)),
                "evaluatedHttpCalls": int(verdicts.get("requests", 0)),
                "endpointIds": [OPERATION],
                "coveredHttpStatus": [],
            }
        },
        "totalTests": len(calls),
        "testFilePaths": sorted({o["test"].split("::")[0] for o in calls}),
        "testCases": [
            {"id": o["test"], "filePath": o["test"].split("::")[0], "name": o["test"].split("::", 1)[-1]}
            for o in calls
        ],
        "executionTimeInSeconds": max(0, int(stopped - started)),
    }
