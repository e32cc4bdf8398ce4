"""Status changes reach the site's agents on their home page (issue 24, item 15): when the
agent who sent an orientation is away, a colleague of the same site sees what the partner did;
an agent of another site sees nothing of it."""

from __future__ import annotations

import html

from tests.helpers import api_token, bearer, login


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_the_sites_agents_see_what_became_of_its_orientations(app, build):
    sender = build.user("accueil")
    colleague = build.user("accueil", site=str(sender.site_id))
    elsewhere = build.user("accueil")
    structure = build.structure(name="CAF Nouvelles")
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(sender, first_name="Awa", last_name="Nouvelle")
    orientation = build.orientation(person, structure, sender)
    client = app.test_client()
    login(client, colleague)
    page = _text(client.get("/"))
    assert "Nouvelles de vos orientations" in page and "Aucune nouvelle" in page
    api = app.test_client()
    answer = api.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                      headers=bearer(api_token(api, partner)), json={})
    assert answer.status_code == 200, answer.get_json()
    page = _text(client.get("/"))
    assert "Awa NOUVELLE" in page or "Awa Nouvelle" in page
    assert "CAF Nouvelles" in page and "Demande reçue" in page
    assert f"envoyée par {sender.display_name}" in page
    assert f"/orientations/{orientation.id}" in page
    other = app.test_client()
    login(other, elsewhere)
    page = _text(other.get("/"))
    assert "Nouvelle" not in page.replace("Nouvelles de vos orientations", "")
    assert "CAF Nouvelles" not in page
