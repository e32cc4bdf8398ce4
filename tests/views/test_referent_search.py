"""A référent de parcours searches the persons of their scope to open a parcours (issue 24,
item 11): the persons welcomed at their site and those of a parcours they lead or belong to;
nobody else, not even as a line "known at another site" (no break-the-glass for them), on the
page and in the API."""

from __future__ import annotations

import html

from tests.helpers import api_token, bearer, login, search_persons


def _world(build):
    site = build.site(territory="Valence")
    elsewhere = build.site(territory="Diois")
    here_agent = build.user("accueil", site=str(site.id))
    other_agent = build.user("accueil", site=str(elsewhere.id))
    referent = build.user("referent_parcours", site=str(site.id))
    at_site = build.person(here_agent, first_name="Nadia", last_name="Portail")
    outside = build.person(other_agent, first_name="Noé", last_name="Portail")
    in_parcours = build.person(other_agent, first_name="Nina", last_name="Portail")
    build.parcours(in_parcours, referent, opener=other_agent)
    return referent, at_site, outside, in_parcours


def test_the_referent_finds_only_the_persons_of_their_scope(app, client, build):
    referent, at_site, outside, in_parcours = _world(build)
    login(client, referent)
    answer = search_persons(client, "portail")
    assert answer.status_code == 200
    page = html.unescape(answer.get_data(as_text=True))
    assert "2 personnes trouvées" in page
    assert f"/persons/{at_site.id}" in page and f"/persons/{in_parcours.id}" in page
    # Out of scope: not a link, not a line, not a name.
    assert "Noé" not in page and str(outside.id) not in page
    assert "connu(e) sur un autre site" not in page and "Accès exceptionnel" not in page
    assert "Créer un nouveau dossier" not in page
    # By reception number too.
    page = html.unescape(search_persons(client, outside.reception_number).get_data(as_text=True))
    assert "Personne ne correspond à cette recherche." in page
    # The file found opens, and offers to open a parcours.
    person_page = client.get(f"/persons/{at_site.id}").get_data(as_text=True)
    assert "Ouvrir un parcours" in html.unescape(person_page)
    assert client.get(f"/persons/{outside.id}").status_code == 404


def test_the_api_search_keeps_the_referent_in_their_scope(app, client, build):
    referent, at_site, outside, in_parcours = _world(build)
    headers = bearer(api_token(client, referent))
    answer = client.get("/api/v1/persons?q=portail", headers=headers)
    assert answer.status_code == 200
    rows = answer.get_json()
    assert {row["id"] for row in rows} == {str(at_site.id), str(in_parcours.id)}
    assert all(row["accessible"] for row in rows)
    assert answer.headers["X-Total-Count"] == "2"


def test_the_agent_still_sees_a_line_for_a_person_known_elsewhere(app, client, build):
    referent, at_site, outside, _in_parcours = _world(build)
    login(client, at_site.agent)
    page = html.unescape(search_persons(client, "portail").get_data(as_text=True))
    assert "3 personnes trouvées" in page and "connu(e) sur un autre site" in page
