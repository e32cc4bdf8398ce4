"""Browser journeys of a partner (inbox, consent-limited view, acknowledge, take charge) and of a
coordinator (stalled list without names, reminder, redirection to another structure)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa
from babel.dates import format_date
from playwright.sync_api import expect

from tests.browser.conftest import login


def _main_text(page) -> str:
    return page.locator("main").inner_text()


def _flash(page):
    return page.get_by_role("status")


def test_partner_sees_only_shared_fields_acknowledges_and_takes_charge(app, page, build, checked):
    agent = build.user("accueil")
    structure = build.structure(name="Maison de l'habitat", domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Léonie", last_name="Marchand",
                          phone="06 12 34 56 78", birth_date="1984-03-17",
                          address="14 rue des Tilleuls, Valence")
    visit = build.visit(person)
    orientation = build.orientation(
        person, structure, visit_id=str(visit.id), motive="Impayés de loyer depuis trois mois",
        consent={"given": True, "shared_fields": ["first_name", "last_name", "phone"],
                 "purpose": "Accompagnement logement"})

    login(page, partner)
    checked(page)
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Orientations reçues").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    checked(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(structure.name)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Léonie Marchand"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Demande envoyée")

    row.get_by_role("link", name="Léonie Marchand").click()
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}$"))
    checked(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Orientation vers {structure.name}")
    who = page.get_by_role("region", name="Personne")
    expect(who).to_contain_text(person.reception_number)
    expect(who).to_contain_text("Léonie")
    expect(who).to_contain_text("Marchand")
    expect(who).to_contain_text("06 12 34 56 78")
    expect(page.get_by_role("region", name="Demande")).to_contain_text(
        "Impayés de loyer depuis trois mois")
    text = _main_text(page)
    # Neither the address nor the birth date was shared: not even their labels are on the page.
    born = date.fromisoformat(person.birth_date)
    for hidden in ("Tilleuls", "1984", format_date(born, "long", locale="fr"),
                   born.strftime("%d/%m/%Y"), "Date de naissance"):
        assert hidden not in text, hidden
    assert "Adresse" not in who.inner_text()
    # The refusal and redirection forms share the page: each text field keeps its own label.
    for action, label in (("refuse", "Explication"), ("redirect", "Raison de la réorientation")):
        form = page.locator(f"form[action$='/orientations/{orientation.id}/{action}']")
        expect(form.get_by_label(label)).to_have_count(1)

    page.get_by_role("button", name="Accuser réception").click()
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}$"))
    checked(page)
    expect(_flash(page)).to_contain_text(
        "Réception accusée : vous êtes le référent de cette orientation.")
    expect(page.locator(".page-head .status")).to_have_text("Demande reçue")
    expect(page.get_by_role("button", name="Accuser réception")).to_have_count(0)
    expect(page.get_by_role("region", name="Demande")).to_contain_text(partner.display_name)

    appointment = date.today() + timedelta(days=3)
    page.get_by_label("Date du premier rendez-vous (facultatif)").fill(appointment.isoformat())
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}$"))
    checked(page)
    expect(_flash(page)).to_contain_text("Prise en charge enregistrée.")
    expect(page.locator(".page-head .status")).to_have_text("Accompagnement commencé")
    expect(page.get_by_role("button", name="Prendre en charge")).to_have_count(0)
    expect(page.get_by_role("region", name="Demande")).to_contain_text(
        appointment.strftime("%d/%m/%Y"))  # JJ/MM/AAAA (issue 24, item 8)

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Orientations reçues").click()
    checked(page)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Léonie Marchand"))
    expect(row).to_contain_text("Accompagnement commencé")

    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        saved = db.session.get(Orientation, orientation.id)
        assert saved.status == "in_charge"
        assert saved.referent_id == partner.id
        assert saved.first_appointment_on == appointment
        db.session.remove()


def test_coordinator_reminds_then_redirects_a_stalled_orientation(app, page, build, checked):
    agent = build.user("accueil")
    slow = build.structure(name="Bailleur lent", domains=["logement"])
    build.user("partenaire", structure=str(slow.id))
    other = build.structure(name="Agence du logement", domains=["logement"])
    coordinator = build.user("coordinateur", territory="Valence")
    person = build.person(agent, first_name="Hortense", last_name="Discrète")
    orientation = build.orientation(person, slow)

    from app.core.db import db
    from app.notifications.models import OutboxMessage
    from app.orientation.models import Orientation, OrientationEvent

    with app.app_context():
        db.session.get(Orientation, orientation.id).acknowledge_due = (
            date.today() - timedelta(days=8))
        db.session.commit()
        reminders_before = db.session.scalar(sa.select(sa.func.count()).select_from(
            OutboxMessage).where(OutboxMessage.kind == "orientation.reminder"))
        db.session.remove()

    login(page, coordinator)
    checked(page)
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="En attente").click()
    expect(page).to_have_url(re.compile(r"/pilotage/stalled$"))
    checked(page)
    stalled = page.get_by_role("region", name="Orientations en retard")
    row = stalled.get_by_role("row").filter(has=page.get_by_role("link", name="Bailleur lent"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(person.reception_number)
    expect(row).to_contain_text("Accusé de réception en retard")
    text = _main_text(page)
    assert "Hortense" not in text and "Discrète" not in text

    row.get_by_role("button", name="Relancer", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}$"))
    checked(page)
    expect(_flash(page)).to_contain_text("Relance envoyée aux référents de la structure.")
    expect(page.get_by_role("region", name="Historique")).to_contain_text("relance")
    who = page.get_by_role("region", name="Personne")
    expect(who).to_contain_text(person.reception_number)
    assert "Hortense" not in _main_text(page) and "Discrète" not in _main_text(page)

    with app.app_context():
        kinds = db.session.scalars(sa.select(OrientationEvent.kind).where(
            OrientationEvent.orientation_id == orientation.id)).all()
        assert "reminder" in kinds
        reminders_after = db.session.scalar(sa.select(sa.func.count()).select_from(
            OutboxMessage).where(OutboxMessage.kind == "orientation.reminder"))
        assert reminders_after > reminders_before
        db.session.remove()

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="En attente").click()
    checked(page)
    row = page.get_by_role("region", name="Orientations en retard").get_by_role("row").filter(
        has=page.get_by_role("link", name="Bailleur lent"))
    expect(row.get_by_role("cell").nth(4)).to_have_text("1")  # one reminder sent (after the age)
    row.get_by_role("link", name="Réorienter").click()
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}#actions-title$"))
    checked(page)

    page.get_by_text("Réorienter vers une autre structure").click()
    page.get_by_label("Nouvelle structure").select_option(label=f"★ {other.name}")
    page.get_by_label("Raison de la réorientation").fill(
        "Sans réponse du bailleur depuis deux semaines")
    page.get_by_role("button", name="Réorienter", exact=True).click()
    checked(page)
    expect(_flash(page)).to_contain_text(
        "Orientation réorientée : la nouvelle structure est prévenue.")

    with app.app_context():
        old = db.session.get(Orientation, orientation.id)
        assert old.status == "redirected" and old.redirected_to_id is not None
        new = db.session.get(Orientation, old.redirected_to_id)
        assert new.structure_id == other.id and new.status == "sent"
        assert new.person_id == orientation.person_id
        assert new.redirected_from_id == orientation.id
        new_id = new.id
        db.session.remove()

    # The page shown is the new orientation, sent to the other structure.
    expect(page).to_have_url(re.compile(rf"/orientations/{new_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Orientation vers {other.name}")
    expect(page.locator(".page-head .status")).to_have_text("Demande envoyée")
    page.get_by_role("link", name="l'orientation précédente").click()
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}$"))
    checked(page)
    expect(page.locator(".page-head .status")).to_have_text("Réorientée")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Orientation vers {slow.name}")
    expect(page.get_by_text("Cette orientation est terminée.")).to_be_visible()

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="En attente").click()
    checked(page)
    expect(page.get_by_role("region", name="Orientations en retard").get_by_role(
        "link", name="Bailleur lent")).to_have_count(0)
