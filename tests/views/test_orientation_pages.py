"""Orientation pages: directory and CSV, sending with consent from a visit, the partner's inbox
and actions, the sender's view on the file and the slip, designated referents."""

from __future__ import annotations

import html
from datetime import date, timedelta

import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form


def _form_post(client, path, data, token_from=None):
    token = csrf_token(client, token_from or path)
    return client.post(path, data={**data, "csrf_token": token})


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_directory_page_filters_and_csv(client, build):
    build.structure(name="CCAS de Crest", domains=["alimentation"], territories=["Diois"])
    build.structure(name="Mission locale", domains=["emploi_insertion"], territories=["Valence"])
    login(client, build.user("partenaire"))
    page = _text(client.get("/directory?domain=alimentation"))
    assert "CCAS de Crest" in page and "Mission locale" not in page
    csv_answer = client.get("/directory.csv?territory=Valence")
    raw = csv_answer.get_data()
    assert csv_answer.mimetype == "text/csv" and raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Nom;Type;Domaines")
    assert "Mission locale;" in text and "CCAS de Crest" not in text


def test_directory_csv_lets_no_formula_through(client, build):
    """Review finding 5: an imported record's name or address ran as a spreadsheet formula."""
    import csv
    import io

    build.structure(name='=HYPERLINK("http://evil.test","Annuaire")', address="@SUM(A1)",
                    phone="+33 4 75 00 00 00", opening_hours="-lun. 9h-12h",
                    territories=["Valence"])
    login(client, build.user("partenaire"))
    answer = client.get("/directory.csv?territory=Valence")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig")), delimiter=";"))
    [row] = [r for r in rows[1:] if "HYPERLINK" in r[0]]
    assert row[0] == '\'=HYPERLINK("http://evil.test","Annuaire")'
    assert row[4] == "'@SUM(A1)" and row[5] == "'+33 4 75 00 00 00"
    assert row[7] == "'-lun. 9h-12h"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_send_from_a_visit_then_partner_acknowledges_and_sender_sees_it(app, client, build):
    agent = build.user("accueil")
    structure = build.structure(name="CAF Test", domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Marie", last_name="Curie", address="2 rue Secrète")
    visit = build.visit(person, needs=[{"domain": "logement", "urgency": "urgent"}])
    login(client, agent)
    path = f"/persons/{person.id}/orientations/new?visit_id={visit.id}"
    form = _text(client.get(path))
    assert "★ CAF Test" in form
    refused = _form_post(client, path, {"domain": "logement", "structure_id": str(structure.id),
                                        "motive": "Expulsion", "visit_id": str(visit.id)})
    # An error that says what to do, in five words, tied to its field.
    assert "Cochez l'accord de la personne." in _text(refused)
    assert 'aria-describedby="consent_given-error"' in _text(refused)
    sent = _form_post(client, path, {
        "domain": "logement", "structure_id": str(structure.id), "motive": "Expulsion imminente",
        "visit_id": str(visit.id), "consent_given": "y",
        "shared_fields": ["first_name", "last_name"], "consent_purpose": "Relogement"})
    assert sent.status_code == 302 and "/slip" in sent.headers["Location"]
    slip = _text(client.get(sent.headers["Location"]))
    assert "CAF Test" in slip and "Demande envoyée" in slip
    post_form(client, "/logout")

    login(client, partner)
    inbox = _text(client.get("/inbox"))
    assert "Marie CURIE" not in inbox and "Marie Curie" in inbox.replace("  ", " ")
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        oid = db.session.scalars(sa.select(Orientation.id)).one()
    detail = _text(client.get(f"/orientations/{oid}"))
    assert "Expulsion imminente" in detail and "2 rue Secrète" not in detail
    ack = post_form(client, f"/orientations/{oid}/acknowledge", token_from=f"/orientations/{oid}")
    assert ack.status_code == 302
    taken = _form_post(client, f"/orientations/{oid}/take-charge",
                       {"first_appointment_on": (date.today() + timedelta(days=2)).isoformat()},
                       token_from=f"/orientations/{oid}")
    assert taken.status_code == 302
    assert "Accompagnement commencé" in _text(client.get(f"/orientations/{oid}"))
    post_form(client, "/logout")

    login(client, agent)
    file = _text(client.get(f"/persons/{person.id}"))
    assert "CAF Test" in file and "Accompagnement commencé" in file
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert "CAF Test a reçu votre demande le" in slip and "Votre rendez-vous" in slip


def test_acknowledging_twice_shows_a_clear_message(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    orientation = build.orientation(build.person(agent), structure)
    login(client, partner)
    path = f"/orientations/{orientation.id}"
    post_form(client, path + "/acknowledge", token_from=path)
    again = post_form(client, path + "/acknowledge", token_from=path)
    assert again.status_code == 302
    assert "Action impossible" in _text(client.get(path))


def test_refusal_from_the_page_needs_a_reason(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    orientation = build.orientation(build.person(agent), structure)
    login(client, partner)
    path = f"/orientations/{orientation.id}"
    _form_post(client, path + "/refuse", {"reason_code": "not_competent", "reason": ""},
               token_from=path)
    assert "Demande envoyée" in _text(client.get(path))
    _form_post(client, path + "/refuse", {"reason_code": "not_competent",
                                          "reason": "Pas notre domaine"}, token_from=path)
    assert "Demande refusée" in _text(client.get(path))


def test_partner_of_another_structure_gets_404(client, build):
    agent = build.user("accueil")
    structure = build.structure()
    orientation = build.orientation(build.person(agent), structure)
    login(client, build.user("partenaire"))
    assert client.get(f"/orientations/{orientation.id}").status_code == 404


def test_admin_designates_referents(app, client, build):
    structure = build.structure()
    first = build.user("partenaire", structure=str(structure.id))
    build.user("partenaire", structure=str(structure.id))
    login(client, build.user("admin"))
    path = f"/admin/structures/{structure.id}/referents"
    answer = _form_post(client, path, {"user_id": str(first.id), "domain": "logement"})
    assert answer.status_code == 302
    from app.core.db import db
    from app.orientation.designated import referents

    with app.app_context():
        assert [u.id for u in referents(structure.id, "logement")] == [first.id]
        assert len(referents(structure.id, "budget")) == 2  # no designation for that domain
        db.session.remove()
    assert first.display_name in _text(client.get(path))


def test_orientation_page_hint_and_file_link_follow_the_audience(client, build):
    """The partner's hint and the sender's link to the file come from the permission rules,
    not from a role test in the template: a partner of another site's structure gets the
    hint and no file link, the sending agent the link and no hint, an agent of another site
    (who may not open this file) neither."""
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    orientation = build.orientation(build.person(agent), structure)
    stranger = build.user("accueil", site=str(build.site(name="Autre CMS").id))
    hint = "Vous ne voyez que les informations que la personne a accepté de partager"
    path = f"/orientations/{orientation.id}"

    login(client, partner)
    page = _text(client.get(path))
    assert hint in page and "Ouvrir le dossier" not in page
    post_form(client, "/logout")

    login(client, agent)
    page = _text(client.get(path))
    assert "Ouvrir le dossier" in page and hint not in page
    post_form(client, "/logout")

    login(client, stranger)
    assert client.get(path).status_code == 404


def test_the_form_asks_why_only_for_a_structure_outside_the_domain(app, client, build):
    """Issue 24, item 3: the one covering structure pre-chosen; another structure needs a
    reason, asked in five words; 'send and print' opens the slip's print dialog."""
    agent = build.user("accueil")
    covering = build.structure(name="Logis Drôme", domains=["logement"])
    other = build.structure(name="Épicerie solidaire", domains=["alimentation"])
    person = build.person(agent, first_name="Anne", last_name="Roy")
    visit = build.visit(person, needs=[{"domain": "budget", "urgency": "standard"},
                                       {"domain": "logement", "urgency": "urgent",
                                        "note": "Hébergée chez un tiers"}])
    login(client, agent)
    path = f"/persons/{person.id}/orientations/new?visit_id={visit.id}&domain=logement"
    form = _text(client.get(path))
    assert f'<option selected value="{covering.id}">' in form
    assert "Hébergée chez un tiers</textarea>" in form  # the need's note as the motive
    assert 'id="domain-filter"' not in form  # one domain field
    assert form.index("Accord de la personne") < form.index('id="structure_id"')  # consent first
    base = {"domain": "logement", "motive": "Hébergement", "visit_id": str(visit.id),
            "consent_given": "y", "shared_fields": ["first_name"]}
    refused = _form_post(client, path, {**base, "structure_id": str(other.id)})
    assert refused.status_code == 200
    assert "Expliquez pourquoi cette structure." in _text(refused)
    assert 'id="coverage_override-error"' in _text(refused)
    sent = _form_post(client, path, {**base, "structure_id": str(other.id),
                                     "coverage_override": "La seule ouverte ce soir",
                                     "then": "print"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith("print=1")
    assert "data-autoprint" in _text(client.get(sent.headers["Location"]))


def test_a_refused_orientation_is_sent_again_prefilled_and_the_list_names_the_person(
        app, client, build):
    agent = build.user("accueil")
    first = build.structure(name="Bailleur A", domains=["logement"])
    partner = build.user("partenaire", structure=str(first.id))
    second = build.structure(name="Bailleur B", domains=["logement"])
    person = build.person(agent, first_name="Yves", last_name="Martin", phone="0611223344")
    visit = build.visit(person)
    orientation = build.orientation(person, first, visit_id=str(visit.id),
                                    motive="Loyer trop cher pour ses revenus")
    build.orientation(build.person(agent, first_name="Zoé", last_name="Calme"), second)
    from app.auth.models import User
    from app.core.db import db
    from app.orientation import services
    from app.orientation.models import Orientation

    with app.app_context():
        services.refuse(db.session.get(Orientation, orientation.id),
                        db.session.get(User, partner.id), "Pas de logement adapté",
                        "no_capacity")
        db.session.commit()
    login(client, agent)
    listing = _text(client.get("/orientations?status=to_handle"))
    assert "Yves MARTIN" in listing and "Zoé" not in listing  # named; only what needs handling
    assert f"again={orientation.id}" in listing
    assert "Zoé CALME" in _text(client.get("/orientations"))
    file = _text(client.get(f"/persons/{person.id}"))
    assert "06 11 22 33 44" in file and f"again={orientation.id}" in file  # phone formatted
    # ...and on the orientation's own page, for its sender (issue 24, item 2); not the partner's.
    own = _text(client.get(f"/orientations/{orientation.id}"))
    assert f"/persons/{person.id}/orientations/new?again={orientation.id}" in own
    partner_client = app.test_client()
    login(partner_client, partner)
    assert "again=" not in _text(partner_client.get(f"/orientations/{orientation.id}"))
    path = f"/persons/{person.id}/orientations/new?again={orientation.id}"
    form = _text(client.get(path))
    assert "Réorientation : Bailleur A a refusé" in form
    assert "Loyer trop cher pour ses revenus</textarea>" in form
    sent = _form_post(client, path, {
        "domain": "logement", "structure_id": str(second.id), "again": str(orientation.id),
        "motive": "Loyer trop cher pour ses revenus", "visit_id": str(visit.id),
        "consent_given": "y", "shared_fields": ["first_name", "last_name", "phone"]})
    assert sent.status_code == 302
    with app.app_context():
        sent_again = db.session.scalars(sa.select(Orientation).where(
            Orientation.person_id == person.id, Orientation.structure_id == second.id)).one()
        assert (sent_again.domain, sent_again.visit_id) == ("logement", visit.id)
    # Another person's refused orientation, or one still open: 404.
    other = build.person(agent)
    assert client.get(f"/persons/{other.id}/orientations/new?again={orientation.id}"
                      ).status_code == 404
    assert client.get(f"/persons/{person.id}/orientations/new?again={sent_again.id}"
                      ).status_code == 404
    assert client.get(f"/persons/{person.id}/orientations/new?again=nope").status_code == 404


def test_after_a_redirect_the_old_structure_gets_no_link_that_answers_404(app, build):
    """Issue 24, item 15: 'la nouvelle orientation' is a link only for whom it opens to."""
    from tests.helpers import api_token, bearer

    agent = build.user("accueil")
    structure = build.structure(name="CAF Test", domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Marie", last_name="Curie")
    orientation = build.orientation(person, structure, agent, consent={
        "given": True, "shared_fields": ["first_name"], "accepts_redirect": True})
    other = build.structure(name="Autre structure", domains=["logement"])
    other_partner = build.user("partenaire", structure=str(other.id))
    partner_client, agent_client = app.test_client(), app.test_client()
    answer = partner_client.post(f"/api/v1/orientations/{orientation.id}/redirect",
                                 headers=bearer(api_token(partner_client, partner)),
                                 json={"structure_id": str(other.id), "reason": "Mieux placée"})
    assert answer.status_code == 201, answer.get_json()
    new_id = answer.get_json()["id"]
    login(partner_client, partner)  # the old structure: a tombstone, no link
    page = _text(partner_client.get(f"/orientations/{orientation.id}"))
    assert f"/orientations/{new_id}" not in page
    assert partner_client.get(f"/orientations/{new_id}").status_code == 404
    other_client = app.test_client()
    login(other_client, other_partner)  # the new one: no link to the old orientation
    page = _text(other_client.get(f"/orientations/{new_id}"))
    assert f"/orientations/{orientation.id}" not in page
    assert other_client.get(f"/orientations/{orientation.id}").status_code == 404
    login(agent_client, agent)  # the sender opens both
    page = _text(agent_client.get(f"/orientations/{orientation.id}"))
    assert f"/orientations/{new_id}" in page and "la nouvelle orientation" in page
    page = _text(agent_client.get(f"/orientations/{new_id}"))
    assert f"/orientations/{orientation.id}" in page
