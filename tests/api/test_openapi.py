"""The OpenAPI document is generated from the schemas and covers every /api/v1 route."""

from __future__ import annotations

import re


def _openapi_path(rule: str) -> str:
    path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)
    return path


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs."):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            # The spec paths are relative to the API prefix or absolute: accept both.
            path = _openapi_path(rule.rule)
            if (path, method) not in documented and (path[len("/api/v1"):], method) not in documented:
                missing.append(f"{method} {path}")
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_request_schemas_are_in_the_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    token_op = spec["paths"]["/api/v1/auth/token"]["post"]
    schema_ref = token_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = schema_ref.rsplit("/", 1)[-1]
    schema = spec["components"]["schemas"][name]
    assert set(schema["required"]) == {"email", "password"}
    assert "bearerAuth" in spec["components"]["securitySchemes"]
