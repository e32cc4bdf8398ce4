"""Schemathesis over the OpenAPI document, as an authenticated user of each role: no 500, no
answer that contradicts the document. Bounded: a few examples per operation and role."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi import checks

from tests.helpers import api_token, bearer

# The conformance checks; the auth probes are left out, since every call carries a valid token.
CHECKS = [checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]
ROLES = ["accueil", "partenaire", "referent_parcours", "coordinateur", "admin"]


@pytest.fixture
def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role", ROLES)
def test_api_answers_as_documented(app, build, operations, role):
    user = build.user(role)
    with app.test_client() as client:
        token = bearer(api_token(client, user))
    failures: list[str] = []

    @given(data=st.data())
    @settings(max_examples=4, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(data):
        for operation in operations:
            case = data.draw(operation.as_strategy(), label=operation.label)
            if operation.label == "DELETE /api/v1/auth/token":
                continue  # revoking the token would end the run
            response = case.call(headers=token)
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code}")
                continue
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as error:  # noqa: BLE001 - collected and reported below
                failures.append(f"{operation.label}: {str(error).splitlines()[0]}")

    run()
    assert not failures, "\n".join(sorted(set(failures))[:30])
