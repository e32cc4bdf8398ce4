"""The request spine (app/core/spine.py): one loader, one refusal, values kept for one request.

* ``get_visible_or_404`` answers the same 404 for a missing row and a row out of scope, as a
  page or as JSON.
* ``refuse`` decides what a refusal leaves in the database exactly as the API's error handler
  does: nothing, unless the error says it persists.
* A person's visible fields are computed once per request (a person's page asked three or four
  times), and never carried over to the next request.
"""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, login


def _page(answer) -> str:
    """The page without what differs between any two answers (token, address)."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", answer.get_data(as_text=True))
    return re.sub(r"/persons/[0-9a-f-]{36}", "/persons/…", text)


def test_missing_and_out_of_scope_answer_the_same_404(client, build):
    agent, stranger = build.user("accueil"), build.user("accueil")
    person = build.person(agent)
    login(client, stranger)
    client.get("/")  # the welcome message is shown once
    missing = client.get(f"/persons/{uuid.uuid4()}")
    hidden = client.get(f"/persons/{person.id}")
    assert missing.status_code == hidden.status_code == 404
    assert _page(missing) == _page(hidden)
    headers = bearer(api_token(client, stranger))
    missing = client.get(f"/api/v1/persons/{uuid.uuid4()}", headers=headers)
    hidden = client.get(f"/api/v1/persons/{person.id}", headers=headers)
    assert missing.status_code == hidden.status_code == 404
    assert missing.get_json() == hidden.get_json()
    assert hidden.get_json()["error"]["code"] == "not_found"


def test_a_visit_is_judged_by_its_persons_rules(client, build):
    agent, stranger = build.user("accueil"), build.user("accueil")
    visit = build.visit(build.person(agent))
    login(client, stranger)
    assert client.get(f"/visits/{visit.id}/slip").status_code == 404
    assert client.get(f"/api/v1/visits/{visit.id}",
                      headers=bearer(api_token(client, stranger))).status_code == 404
    assert client.get(f"/api/v1/visits/{visit.id}",
                      headers=bearer(api_token(client, agent))).status_code == 200


@pytest.mark.parametrize("persist", [False, True])
def test_pages_and_api_settle_a_refusal_the_same_way(app, persist):
    """A refusal caught by a page (``refuse``) and one left to the API's handler leave the same
    rows: a persisting refusal keeps what the request wrote, another one keeps nothing."""
    from app.core.db import db
    from app.core.errors import ServiceError, handle_service_error
    from app.core.spine import refuse
    from app.directory.models import Site

    def written(path: str, answer) -> bool:
        name = f"Refus {path} {persist}"
        with app.test_request_context(path):
            db.session.add(Site(name=name, kind="cms", territory="Valence"))
            db.session.flush()
            answer(ServiceError("non", persist=persist))
            db.session.remove()
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Site).where(
                Site.name == name)) == 1

    page = written("/page", refuse)
    api = written("/api/v1/thing", handle_service_error)
    assert page == api == persist


def test_a_person_page_computes_the_visible_fields_once(app, client, build, monkeypatch):
    from app.accueil import scopes

    calls: list = []
    real = scopes._visible_fields
    monkeypatch.setattr(scopes, "_visible_fields",
                        lambda user, person: calls.append(person.id) or real(user, person))
    agent = build.user("accueil")
    person = build.person(agent)
    build.visit(person)
    login(client, agent)
    assert client.get(f"/persons/{person.id}").status_code == 200
    assert calls == [person.id]
    assert client.get(f"/persons/{person.id}").status_code == 200
    assert calls == [person.id, person.id]  # the next request computes again


def test_a_write_of_the_request_forgets_the_kept_values(app, build):
    """Breaking the glass opens the file to the same request's later checks."""
    from app.accueil import scopes
    from app.accueil.models import Person
    from app.auth.models import User
    from app.core.db import db

    agent, other_agent = build.user("accueil"), build.user("accueil")
    person = build.person(agent)
    with app.test_request_context("/"):
        user, row = db.session.get(User, other_agent.id), db.session.get(Person, person.id)
        assert scopes.visible_fields(user, row) is None
        scopes.break_glass(user, row, "Appel du 115 au sujet de cette personne")
        assert scopes.visible_fields(user, row) == scopes.FULL  # pending, not flushed yet
        db.session.flush()
        assert scopes.visible_fields(user, row) == scopes.FULL
        db.session.rollback()
        assert scopes.visible_fields(user, row) is None


def test_the_kept_values_do_not_outlive_the_request(app, build):
    from app.accueil.models import Person
    from app.accueil.scopes import visible_fields
    from app.auth.models import User
    from app.core.db import db

    agent = build.user("accueil")
    person = build.person(agent)
    with app.test_request_context("/"):
        user, row = db.session.get(User, agent.id), db.session.get(Person, person.id)
        assert visible_fields(user, row) == "full"
    with app.test_request_context("/"):
        from flask import g

        assert g.get("passerelle_request_cache") is None
