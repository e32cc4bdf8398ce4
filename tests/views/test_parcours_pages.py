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


def _team(build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    structure = build.structure(name="CAF Pages")
    member = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Inès", last_name="Parcourspage")
    build.orientation(person, structure)
    parcours = build.parcours(person, referent, [member])
    return type("Team", (), dict(agent=agent, referent=referent, member=member, person=person,
                                 parcours=parcours))


def _write(app, parcours_id, author_id, **data):
    from app.auth.models import User
    from app.core.db import db
    from app.referents.models import Parcours
    from app.referents.services import add_entry

    with app.app_context():
        entry = add_entry(db.session.get(Parcours, parcours_id),
                          {"kind": "note", "visibility": "members", "content": "x", **data},
                          db.session.get(User, author_id))
        db.session.commit()
        return entry.id


def test_my_parcours_names_the_person_and_the_next_step(app, client, build):
    team = _team(build)
    other = build.person(team.agent, first_name="Jules", last_name="Autrepage")
    build.parcours(other, team.referent)
    _write(app, team.parcours.id, team.referent.id, kind="decision",
           content="Dépôt du dossier FSL avant vendredi")
    _write(app, team.parcours.id, team.referent.id, kind="decision", visibility="referent",
           content="Décision réservée au référent")
    login(client, team.member)
    page = _text(client.get("/parcours"))
    assert "Inès PARCOURSPAGE" in page and f'href="/persons/{team.person.id}"' in page
    assert "Dépôt du dossier FSL avant vendredi" in page and "réservée" not in page
    assert "Jules" not in page  # not a member of that one
    post_form(client, "/logout", token_from="/")
    login(client, team.referent)
    page = _text(client.get("/parcours"))
    assert "Inès PARCOURSPAGE" in page and "Jules AUTREPAGE" in page
    assert f'href="/persons/{other.id}"' in page
    assert "Décision réservée au référent" in page and "aucune décision" in page


def test_show_names_the_person_and_the_referents_history(app, client, build):
    team = _team(build)
    successor = build.user("referent_parcours", site=str(team.agent.site_id))
    login(client, team.referent)
    show = f"/parcours/{team.parcours.id}"
    page = _text(client.get(show))
    assert "Inès PARCOURSPAGE" in page and f'href="/persons/{team.person.id}"' in page
    asked = post_form(client, show + "/handover", {"referent_id": str(successor.id),
                                                   "reason": "Départ en congé long"},
                      token_from=show)
    text = _text(asked)  # a confirmation first (issue 24, item 11), the values kept
    assert asked.status_code == 200 and "notes réservées au référent" in text
    assert successor.display_name in text and 'name="confirmed" value="1"' in text
    assert 'value="Départ en congé long"' in text
    answer = post_form(client, show + "/handover", {"referent_id": str(successor.id),
                                                    "reason": "Départ en congé long",
                                                    "confirmed": "1"},
                       token_from=show)
    assert answer.status_code == 302
    page = _text(client.get(show))  # the former référent, still reading
    assert "Référents successifs" in page and team.referent.display_name in page
    assert successor.display_name in page and "Départ en congé long" in page
    post_form(client, "/logout", token_from="/")
    login(client, team.member)
    page = _text(client.get(show))
    assert "Référents successifs" in page and successor.display_name in page
    assert "Départ en congé long" not in page  # the reason stays with the référents


def test_correcting_an_entry_from_the_journal(app, client, build):
    team = _team(build)
    show = f"/parcours/{team.parcours.id}"
    wrong = _write(app, team.parcours.id, team.member.id, kind="call",
                   content="Rendez-vous CAF le 3")
    private = _write(app, team.parcours.id, team.referent.id, visibility="referent",
                     content="Note du référent")
    login(client, team.member)
    page = client.get(show).get_data(as_text=True)
    assert f"corrects={wrong}" in page and f"corrects={private}" not in page
    form = _text(client.get(f"{show}?corrects={wrong}"))
    assert f'name="corrects_id" type="hidden" value="{wrong}"' in form
    assert "Rendez-vous CAF le 3" in form and "Vous corrigez l'entrée" in form
    # An entry the member may not correct does not open the form.
    assert "Vous corrigez" not in _text(client.get(f"{show}?corrects={private}"))
    answer = post_form(client, show + "/entries", {
        "kind": "call", "visibility": "members", "content": "Rendez-vous CAF le 4",
        "person_present": "", "corrects_id": str(wrong)}, token_from=show)
    assert answer.status_code == 302
    from app.core.db import db
    from app.referents.models import ParcoursEntry

    with app.app_context():
        fix = db.session.scalars(sa.select(ParcoursEntry).where(
            ParcoursEntry.corrects_id == wrong)).one()
        assert fix.content == "Rendez-vous CAF le 4" and fix.author_id == team.member.id
    page = _text(client.get(show))
    assert f'href="#entry-{wrong}"' in page and f'href="#entry-{fix.id}"' in page
    assert "Rendez-vous CAF le 3" in page  # the original stays
    # A forged target is refused with a message, and writes nothing.
    refused = post_form(client, show + "/entries", {
        "kind": "call", "visibility": "members", "content": "x", "person_present": "",
        "corrects_id": str(private)}, token_from=show)
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ParcoursEntry)) == 3


def test_the_handover_form_offers_and_accepts_only_referents_of_the_territory(app, client, build):
    """Review finding 13: the form listed every référent and partner of every territory."""
    team = _team(build)
    colleague = build.user("referent_parcours", site=str(build.site(territory="Valence").id))
    elsewhere = build.user("referent_parcours", site=str(build.site(territory="Diois").id))
    login(client, build.user("coordinateur", territory="Valence"))
    show = f"/parcours/{team.parcours.id}"
    page = client.get(show).get_data(as_text=True)
    form = page.split('id="handover-title"')[1].split("</form>")[0]
    assert f'value="{colleague.id}"' in form
    assert f'value="{elsewhere.id}"' not in form and f'value="{team.member.id}"' not in form
    refused = post_form(client, show + "/handover", {"referent_id": str(elsewhere.id),
                                                     "reason": "Réorganisation"},
                        token_from=show)
    assert refused.status_code == 302
    after = _text(client.get(show))
    assert "ne se confie qu'à un référent de parcours de son territoire" in after
    from app.core.db import db
    from app.referents.models import Parcours

    with app.app_context():
        assert db.session.get(Parcours, team.parcours.id).referent_id == team.referent.id
    done = post_form(client, show + "/handover", {"referent_id": str(colleague.id),
                                                  "reason": "Réorganisation",
                                                  "confirmed": "1"}, token_from=show)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Parcours, team.parcours.id).referent_id == colleague.id


def test_a_member_is_removed_after_a_confirmation(app, client, build):
    """Issue 24, item 15: a member can be removed; 'add a member' preselects no one."""
    from app.core.db import db
    from app.referents.models import Parcours

    team = _team(build)
    login(client, team.referent)
    show = f"/parcours/{team.parcours.id}"
    page = client.get(show).get_data(as_text=True)
    adding = page.split('id="user_id"')[1].split("</select>")[0]
    assert "selected" not in adding and '<option value="">' in adding
    with app.app_context():
        [member] = db.session.get(Parcours, team.parcours.id).members
        member_id = member.id
    path = f"{show}/members/{member_id}/remove"
    assert path in page
    asked = post_form(client, path, token_from=show)
    assert asked.status_code == 200 and "n'aura plus accès au parcours" in _text(asked)
    with app.app_context():
        assert db.session.get(Parcours, team.parcours.id).members[0].removed_at is None
    done = post_form(client, path, {"confirmed": "1"}, token_from=show)
    assert done.status_code == 302
    assert "Le membre a été retiré du parcours." in _text(client.get(show))
    with app.app_context():
        assert db.session.get(Parcours, team.parcours.id).members[0].removed_at is not None
    assert post_form(client, path, {"confirmed": "1"}, token_from=show).status_code == 404
    other = app.test_client()
    login(other, team.member)
    assert other.get(show).status_code == 404  # the former member no longer reads it
