"""Every GET page, for every role, on a populated database: never a 500."""

from __future__ import annotations

import re

import pytest

from tests.helpers import login

ROLES = ["accueil", "partenaire", "referent_parcours", "coordinateur", "admin"]


@pytest.fixture
def world(build):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    referent = build.user("referent_parcours", site=str(agent.site_id))
    person = build.person(agent, first_name="Page", last_name="Partout", birth_date="1990-01-01")
    visit = build.visit(person)
    orientation = build.orientation(person, structure, visit_id=str(visit.id))
    parcours = build.parcours(person, referent, [partner])
    users = {"accueil": agent, "partenaire": partner, "referent_parcours": referent,
             "coordinateur": build.user("coordinateur"), "admin": build.user("admin")}
    ids = {"person_id": person.id, "visit_id": visit.id, "orientation_id": orientation.id,
           "parcours_id": parcours.id, "structure_id": structure.id, "site_id": agent.site_id,
           "user_id": partner.id, "merge_id": "00000000-0000-4000-8000-000000000000",
           "row_id": "00000000-0000-4000-8000-000000000000", "filename": "css/passerelle.css",
           "token": "not-a-link", "action": "acknowledge"}
    return users, ids


def _url(rule, ids) -> str | None:
    url = rule.rule
    for name in re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", url):
        if name not in ids:
            return None
        url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(ids[name]), url)
    return url


@pytest.mark.parametrize("role", ROLES)
def test_every_get_page_renders(app, client, world, role):
    users, ids = world
    login(client, users[role])
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        url = _url(rule, ids)
        if url is None or rule.endpoint == "auth.login":
            continue
        for query in ("", "?q=partout&page=2&status=open&domain=logement&by=site&format=json"):
            answer = client.get(url + query)
            assert answer.status_code < 500, (role, url + query, answer.status_code)
            # An attribute rendered from None ("required=None" makes a field required in a
            # browser, "aria-describedby=None" points nowhere).
            checked += 1
            if not answer.mimetype.startswith("text/"):
                continue  # a download (the indicators' zip): no attribute to render
            assert '="None"' not in answer.get_data(as_text=True), (role, url + query)
    assert checked > 40
