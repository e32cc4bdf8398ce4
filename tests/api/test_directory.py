"""Directory API: structures list their designated referents (batched), and so does the
referent drop-down of the send form."""

from __future__ import annotations

import pytest

from tests.helpers import api_token, bearer, login
from tests.views.test_query_counts import counting


def _designate(app, structure, user, domain=None):
    from app.auth.models import User
    from app.core.db import db
    from app.directory.models import Structure
    from app.orientation.designated import designate_referent

    with app.app_context():
        designate_referent(db.session.get(Structure, structure.id), db.session.get(User, user.id),
                           domain, None)
        db.session.commit()


@pytest.fixture
def directory(app, build):
    """A structure with a designated referent among three partners (one designated for budget
    only, one inactive), and a structure that designated none."""
    from app.auth.models import User
    from app.core.db import db

    caf = build.structure(name="CAF Annuaire", domains=["logement", "budget"])
    chosen = build.user("partenaire", structure=str(caf.id), display_name="Alice Choisie")
    budget = build.user("partenaire", structure=str(caf.id), display_name="Bruno Budget")
    build.user("partenaire", structure=str(caf.id), display_name="Claire Autre")
    gone = build.user("partenaire", structure=str(caf.id), display_name="Denis Parti")
    _designate(app, caf, chosen)
    _designate(app, caf, budget, "budget")
    _designate(app, caf, gone)
    with app.app_context():
        db.session.get(User, gone.id).active = False
        db.session.commit()
    plain = build.structure(name="CCAS Annuaire", domains=["logement"])
    build.user("partenaire", structure=str(plain.id), display_name="Emma Seule")
    return type("Directory", (), dict(caf=caf, plain=plain))


def _referents(client, headers, query=""):
    answer = client.get(f"/api/v1/structures{query}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return {s["name"]: [r["display_name"] for r in s["referents"]] for s in answer.get_json()}


def test_structures_list_their_designated_referents(client, build, directory):
    headers = bearer(api_token(client, build.user("accueil")))
    found = _referents(client, headers)
    assert found["CAF Annuaire"] == ["Alice Choisie", "Bruno Budget"]
    # A structure that designated no one: its partners, as on the directory page.
    assert found["CCAS Annuaire"] == ["Emma Seule"]
    # For one domain: the referents of that domain or of every domain.
    assert _referents(client, headers, "?domain=logement")["CAF Annuaire"] == ["Alice Choisie"]
    assert _referents(client, headers, "?domain=budget")["CAF Annuaire"] == [
        "Alice Choisie", "Bruno Budget"]


def test_structures_query_count_does_not_grow(app, client, build):
    headers = bearer(api_token(client, build.user("accueil")))

    def add_structure():
        structure = build.structure(domains=["logement"])
        designated = build.user("partenaire", structure=str(structure.id))
        build.user("partenaire", structure=str(structure.id))
        _designate(app, structure, designated)
        build.user("partenaire", structure=str(build.structure(domains=["logement"]).id))

    for _ in range(2):
        add_structure()
    client.get("/api/v1/structures", headers=headers)
    with counting(app) as before:
        first = client.get("/api/v1/structures", headers=headers).get_json()
    for _ in range(4):
        add_structure()
    with counting(app) as after:
        second = client.get("/api/v1/structures", headers=headers).get_json()
    assert len(second) == 12 and len(first) == 4
    assert all(len(s["referents"]) == 1 for s in second)
    assert len(after) == len(before), (len(before), len(after))


def test_send_form_offers_the_designated_referents(client, build, directory):
    agent = build.user("accueil")
    person = build.person(agent)
    login(client, agent)
    page = client.get(f"/persons/{person.id}/orientations/new").get_data(as_text=True)
    select = page[page.index('name="referent_id"'):]
    select = select[:select.index("</select>")]
    assert "Alice Choisie (CAF Annuaire)" in select and "Bruno Budget (CAF Annuaire)" in select
    assert "Emma Seule (CCAS Annuaire)" in select
    assert "Claire Autre" not in select and "Denis Parti" not in select
