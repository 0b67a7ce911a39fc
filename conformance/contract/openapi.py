"""Build one OpenAPI 3.1 document per registered version from the hand-written schemas, so that
schemathesis generates and validates against the same single source of truth."""

from __future__ import annotations

import copy
import json
from typing import Any

from conformance.contract import schemas
from conformance.contract.endpoints import VERSION_HEADER

COMMON_REF = "../common.json#/$defs/"


def _localise(node: Any) -> Any:
    """Point the schemas' cross-file $refs at components/schemas inside the document."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(COMMON_REF):
                out[key] = "#/components/schemas/" + value[len(COMMON_REF) :]
            elif key not in ("$schema", "$id"):
                out[key] = _localise(value)
        return out
    if isinstance(node, list):
        return [_localise(item) for item in node]
    return node


def build(version: str, ad_group_ids: list[str], extra_inputs: bool = True) -> dict[str, Any]:
    """``extra_inputs``: declare the inputs clients send that the pages do not document (an
    Idempotency-Key, query parameters), so that generated cases carry them."""
    shape = schemas.versions()[version]
    common = next(d for i, d in schemas.schema_documents().items() if i.endswith("/common.json"))
    is_default = version == schemas.registry_data()["default"]
    error = {
        "description": "error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}},
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": f"unpause ({version})", "version": version},
        "paths": {
            "/ad_groups/{id}/unpause": {
                "post": {
                    "operationId": "unpause",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "examples": ad_group_ids[:5]},
                        },
                        # the default version may omit the header; every other version must send it
                        {
                            "name": VERSION_HEADER,
                            "in": "header",
                            "required": not is_default,
                            "schema": {"type": "string", "enum": [version]},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "ad group unpaused",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ad_group"}}
                            },
                        },
                        "400": error,
                        "401": error,
                        "404": error,
                        "409": error,
                        "422": error,
                        "429": error,
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                # _localise builds new containers: the cached schemas are never shared or changed
                "ad_group": _localise(shape.schema),
                "error": _localise(schemas.error_schema()),
                **_localise(common["$defs"]),
            },
        },
    }
    if extra_inputs:
        document["paths"]["/ad_groups/{id}/unpause"]["post"]["parameters"] += copy.deepcopy(EXTRA_INPUTS)
    return document


# not documented, but what clients send: the newer SDKs' Idempotency-Key, and query parameters
# unpause does not take; a target ignores or refuses them (ERR-EXTRA-INPUT)
EXTRA_INPUTS = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    {
        "name": "extra",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 16},
            "maxProperties": 3,
        },
    },
]


if __name__ == "__main__":
    print(json.dumps(build(schemas.latest_version().name, ["adgrp_example"]), indent=2))
