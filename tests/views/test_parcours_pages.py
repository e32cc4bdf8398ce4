"""Parcours pages: opening from the person's file, the journal, a member's view, the printout."""

from __future__ import annotations

import html

import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_referent_opens_writes_and_member_sees_only_members_entries(app, client, build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    structure = build.structure(name="CCAS Pages")
    member = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent)
    build.orientation(person, structure)
    login(client, referent)
    file = _text(client.get(f"/persons/{person.id}"))
    assert "Ouvrir un parcours" in file
    path = f"/persons/{person.id}/parcours/new"
    token = csrf_token(client, path)
    refused = client.post(path, data={"csrf_token": token, "referent_id": str(referent.id),
                                      "member_ids": [str(member.id)]})
    assert "Sans l'accord de la personne" in _text(refused)
    opened = client.post(path, data={"csrf_token": token, "referent_id": str(referent.id),
                                     "member_ids": [str(member.id)], "consent_given": "y",
                                     "goals": "Sortir de l'hôtel social"})
    assert opened.status_code == 302
    show = opened.headers["Location"]
    token = csrf_token(client, show)
    for visibility, content in (("members", "Réunion de synthèse"), ("referent", "Note privée")):
        client.post(show + "/entries", data={"csrf_token": token, "kind": "meeting" if
                                             visibility == "members" else "note",
                                             "visibility": visibility, "content": content,
                                             "person_present": "present" if visibility == "members" else ""})
    page = _text(client.get(show))
    assert "Réunion de synthèse" in page and "Note privée" in page and "1 sur 1" in page
    printout = _text(client.get(show + "/print"))
    assert "Sortir de l'hôtel social" in printout and "Note privée" not in printout
    post_form(client, "/logout", token_from=show)

    login(client, member)
    page = _text(client.get(show))
    assert "Réunion de synthèse" in page and "Note privée" not in page
    assert "Mes parcours" in _text(client.get("/parcours"))


def test_outsider_gets_404(client, build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours")
    parcours = build.parcours(build.person(agent), referent)
    login(client, build.user("partenaire"))
    assert client.get(f"/parcours/{parcours.id}").status_code == 404
    assert client.get(f"/parcours/{parcours.id}/print").status_code == 404


def test_withdrawal_from_the_page(app, client, build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours")
    member = build.user("partenaire")
    parcours = build.parcours(build.person(agent), referent, [member])
    login(client, referent)
    answer = post_form(client, f"/parcours/{parcours.id}/withdraw",
                       token_from=f"/parcours/{parcours.id}")
    assert answer.status_code == 302
    from app.core.db import db
    from app.referents.models import Parcours

    with app.app_context():
        assert db.session.get(Parcours, parcours.id).status == "withdrawn"
        assert db.session.scalar(sa.select(Parcours.withdrawn_at)) is not None
