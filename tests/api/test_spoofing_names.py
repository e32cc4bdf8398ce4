"""Finding 14 of issue 23: names made of bidi overrides, zero-width characters or a BOM were
accepted and shown as they are. Person and account names now refuse format characters and need a
visible letter, in the API, on the pages and through the services."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login

SPOOFS = {"last_name": "\u202eNITRAM", "first_name": "\u200b", "birth_name": "Anne\ufeff"}


def _count(app, model) -> int:
    from app.core.db import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("field, value", [*SPOOFS.items(), ("last_name", "---"),
                                          ("first_name", "\u2066Marie\u2069")])
def test_the_api_refuses_a_spoofing_person_name(app, client, build, field, value):
    from app.accueil.models import Person

    h = bearer(api_token(client, build.user("accueil")))
    body = {"first_name": "Marie", "last_name": "Curie", field: value}
    answer = client.post("/api/v1/persons", headers=h, json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]
    assert _count(app, Person) == 0


def test_a_pseudonym_needs_a_letter_too(app, client, build):
    h = bearer(api_token(client, build.user("accueil")))
    answer = client.post("/api/v1/persons", headers=h, json={"anonymous": True,
                                                             "pseudonym": "\u200d\u200d"})
    assert answer.status_code == 422 and "pseudonym" in answer.get_json()["error"]["fields"]


def test_the_page_refuses_a_spoofing_person_name_and_keeps_the_form(app, client, build):
    from app.accueil.models import Person

    login(client, build.user("accueil"))
    answer = client.post("/persons/new", data={
        "csrf_token": csrf_token(client, "/persons/new"), "first_name": "Marie",
        "last_name": "\u202eEIRUC"})
    text = answer.get_data(as_text=True)
    assert answer.status_code in (200, 422) and "caractères invisibles" in text
    assert _count(app, Person) == 0


def test_an_account_name_cannot_spoof_the_display(app, build):
    from app.auth import services
    from app.core.errors import ValidationFailed

    with app.app_context():
        for name in ("\u202eadmin", "\u200b", "..."):
            with pytest.raises(ValidationFailed) as refused:
                services.create_user({"email": "new@example.org", "role": "admin",
                                      "display_name": name, "password": "Un mot de passe sûr 42"})
            assert "display_name" in refused.value.fields
    user = build.user("accueil")
    with app.app_context():
        from app.auth.models import User
        from app.core.db import db

        row = db.session.get(User, user.id)
        with pytest.raises(ValidationFailed):
            services.update_user(row, {"display_name": "Ma\u202erie"})
        db.session.rollback()
        assert db.session.get(User, user.id).display_name == user.display_name
