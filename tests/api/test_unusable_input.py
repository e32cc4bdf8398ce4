"""Finding 11 of issue 23: input that no route can use answered 500 — a lone surrogate
(``"\\ud800"``, not text: it can be neither encrypted nor hashed) in any field, even of the
unauthenticated ``POST /api/v1/auth/token``, and page numbers whose offset overflows the
database. Both are now refused before any view: 422 with the fields in the API, 400 on pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login

HUGE = "99999999999999999999"


def _count(app, model) -> int:
    from app.core.db import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("field", ["email", "password", "totp"])
def test_token_request_with_a_lone_surrogate_is_a_422(client, field):
    body = {"email": "someone@example.org", "password": "whatever12345"}
    body[field] = "a\ud800b"
    answer = client.post("/api/v1/auth/token", json=body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"]


def test_a_lone_surrogate_in_an_encrypted_field_writes_nothing(app, client, build):
    from app.accueil.models import Person

    h = bearer(api_token(client, build.user("accueil")))
    for body in ({"first_name": "Marie", "last_name": "Cur\ud800ie"},
                 {"first_name": "Marie", "last_name": "Curie", "address": "\udfff"},
                 {"anonymous": True, "pseudonym": "X", "extra": ["\ud800"]}):
        answer = client.post("/api/v1/persons", headers=h, json=body)
        assert answer.status_code == 422, answer.get_json()
        assert answer.get_json()["error"]["code"] == "validation_error"
    assert _count(app, Person) == 0


def test_a_form_cannot_smuggle_a_surrogate(app, client, build):
    """A form's bytes are decoded with replacement: the encoded surrogate becomes U+FFFD and the
    page answers as for any wrong login, never a 500."""
    token = csrf_token(client)
    answer = client.post("/login", data=f"csrf_token={token}&email=%ED%A0%80%40x.fr"
                         "&password=%ED%A0%80abcdefghij",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code in (401, 422)


@pytest.mark.parametrize("role, path", [
    ("accueil", "/orientations"),
    ("partenaire", "/inbox"),
    ("coordinateur", "/pilotage/stalled"),
    ("admin", "/admin/users"),
])
@pytest.mark.parametrize("parameter", ["page", "silent_page"])
def test_a_huge_page_number_is_a_400_not_a_500(client, build, role, path, parameter):
    kw = {"structure": str(build.structure().id)} if role == "partenaire" else {}
    if role == "coordinateur":
        kw["territory"] = "Valence"
    login(client, build.user(role, **kw))
    assert client.get(path).status_code == 200
    answer = client.get(f"{path}?{parameter}={HUGE}")
    assert answer.status_code == 400
    assert "Numéro de page trop grand" in answer.get_data(as_text=True)
    assert client.get(f"{path}?{parameter}=2").status_code == 200  # a plain next page still works


def test_a_huge_page_number_in_a_posted_search_is_a_400(client, build):
    login(client, build.user("accueil"))
    token = csrf_token(client, "/persons/search")
    answer = client.post("/persons/search", data={"csrf_token": token, "q": "Martin",
                                                  "page": HUGE})
    assert answer.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/orientations", "/api/v1/persons?q=Martin"])
def test_a_huge_page_number_in_the_api_is_a_422(client, build, path):
    h = bearer(api_token(client, build.user("accueil")))
    separator = "&" if "?" in path else "?"
    answer = client.get(f"{path}{separator}page={HUGE}", headers=h)
    assert answer.status_code == 422
    assert "page" in answer.get_json()["error"]["fields"]
