"""JSON errors exactly as API.md says, for malformed input, 404 and 405."""

from __future__ import annotations

import pytest

from tests.helpers import api_token, bearer


def _error(answer, status, code):
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_unknown_api_route_is_json_404(client):
    _error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    answer = client.put("/api/v1/auth/token", json={})
    _error(answer, 405, "method_not_allowed")
    assert "POST" in answer.headers["Allow"]


@pytest.mark.parametrize("body, content_type", [
    ("{not json", "application/json"),
    ("email=a&password=b", "application/x-www-form-urlencoded"),
    ("\x00\x01", "application/json"),
])
def test_malformed_body_is_400(client, body, content_type):
    _error(client.post("/api/v1/auth/token", data=body, content_type=content_type),
           400, "bad_request")


@pytest.mark.parametrize("body", [[], "text", 12, None, {"email": 12, "password": "x"},
                                  {"email": "a@b.c", "password": ["x"]}])
def test_wrong_json_types_are_400_with_fields(client, body):
    import json

    answer = client.post("/api/v1/auth/token", data=json.dumps(body),
                         content_type="application/json")
    error = _error(answer, 400, "bad_request")
    assert error.get("fields")


def test_missing_field_is_422_with_fields(client):
    error = _error(client.post("/api/v1/auth/token", json={"email": "a@b.c"}), 422,
                   "validation_error")
    assert "password" in error["fields"]


def test_charter_accept_wrong_type_and_old_version(client, build):
    token = api_token(client, build.user("accueil", charter=False))
    _error(client.post("/api/v1/charter/accept", json={"version": "1"}, headers=bearer(token)),
           400, "bad_request")
    _error(client.post("/api/v1/charter/accept", json={"version": 99}, headers=bearer(token)),
           409, "conflict")


def test_errors_do_not_echo_input(client):
    marker = "MARKER-ECHO-7731"
    answer = client.post("/api/v1/auth/token", json={"email": marker, "password": marker})
    assert marker not in answer.get_data(as_text=True)


def test_huge_body_is_refused_cleanly(client):
    answer = client.post("/api/v1/auth/token", data="x" * (3 * 1024 * 1024),
                         content_type="application/json")
    _error(answer, 413, "payload_too_large")


def test_directory_unknown_domain_is_422(client, build):
    token = api_token(client, build.user("accueil"))
    _error(client.get("/api/v1/structures?domain=astrology", headers=bearer(token)), 422,
           "validation_error")


@pytest.mark.parametrize("path", ["/api/v1/persons?q=x&per_page=-1", "/api/v1/persons?q=x&page=0",
                                  "/api/v1/orientations?per_page=0", "/api/v1/orientations?page=-3",
                                  "/api/v1/orientations?per_page=100000"])
def test_paging_out_of_range_is_422(client, build, path):
    token = api_token(client, build.user("accueil"))
    _error(client.get(path, headers=bearer(token)), 422, "validation_error")
