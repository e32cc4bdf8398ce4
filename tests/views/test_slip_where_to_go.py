"""The slip says where to go (issue 20, item 6) and the partner acts without searching, with one
vocabulary of the statuses on every page, the slip and the follow-up page (issue 24, item 7)."""

from __future__ import annotations

import html
import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from app.orientation import next_appointment as appointments
from app.orientation.status import STATUS_LABELS, OrientationStatus
from tests.helpers import api_token, bearer, csrf_token, login, post_form

HOURS = "Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00; PH off"
SAID = ("du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h ; le samedi de 9 h à 12 h ; "
        "fermé les jours fériés")


def _text(answer) -> str:
    text = html.unescape(answer.get_data(as_text=True)).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


@pytest.fixture
def oriented(build):
    site = build.site(name="CMS Les Baumes", address="3 place de la Liberté, 26000 Valence",
                      phone="04 75 00 00 01", opening_hours="Mo-Th 08:30-17:00; Fr 08:30-12:00")
    agent = build.user("accueil", site=str(site.id), display_name="Awa Diallo")
    structure = build.structure(name="CAF Drôme", address="10 rue Championnet, 26000 Valence",
                                phone="32 30", opening_hours=HOURS)
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Léa", last_name="Roux")
    visit = build.visit(person, outcome="oriented",
                        needs=[{"domain": "logement", "urgency": "standard",
                                "note": "Dette de loyer de 4 000 euros"}])
    orientation = build.orientation(person, structure, visit_id=str(visit.id))
    return agent, partner, visit, orientation


def test_the_slip_says_where_and_when_and_nothing_of_the_situation(client, oriented):
    agent, partner, visit, orientation = oriented
    login(client, agent)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    # the partner: address, phone, opening hours in plain French
    assert "CAF Drôme" in slip and "10 rue Championnet, 26000 Valence" in slip
    assert "Téléphone : 32 30" in slip and f"Horaires : {SAID}" in slip
    # the reception site: address, phone, its hours
    assert "3 place de la Liberté, 26000 Valence" in slip and "Téléphone : 04 75 00 00 01" in slip
    assert ("Horaires : du lundi au jeudi de 8 h 30 à 17 h ; le vendredi de 8 h 30 à 12 h"
            in slip)
    # the status in the vocabulary of every page
    assert "État de votre demande : Demande envoyée" in slip
    assert "doit confirmer avant le" in slip and "prise en compte" not in slip
    # nothing of the person's situation
    assert "Dette de loyer" not in slip and "Menace d'expulsion" not in slip


def test_hours_not_understood_are_printed_as_written(client, build, oriented):
    from app.core.db import db
    from app.directory.models import Structure

    agent, _partner, visit, orientation = oriented
    with client.application.app_context():
        db.session.get(Structure, orientation.structure_id).opening_hours = \
            'Mo-Fr 08:00-12:00 "sur rendez-vous l\'après-midi"'
        db.session.commit()
    login(client, agent)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert 'Horaires : Mo-Fr 08:00-12:00 "sur rendez-vous l\'après-midi"' in slip


def test_the_appointment_once_known_is_on_the_slip_and_the_follow_up_page(app, client, oriented):
    agent, partner, visit, orientation = oriented
    code = client.post(f"/api/v1/orientations/{orientation.id}/followup",
                       headers=bearer(api_token(client, agent)), json={}).get_json()["code"]
    day = date.today() + timedelta(days=3)
    h = bearer(api_token(client, partner))
    assert client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                       headers=h).status_code == 200
    assert client.post(f"/api/v1/orientations/{orientation.id}/take-charge", headers=h,
                       json={"first_appointment_on": day.isoformat()}).status_code == 200
    with app.test_request_context():
        from app.core.i18n import fdate

        said_day = fdate(day)
    login(client, agent)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert "État de votre demande : Accompagnement commencé" in slip
    assert "CAF Drôme a reçu votre demande le" in slip
    assert f"Votre rendez-vous : le {said_day}." in slip

    public = app.test_client()
    page = _text(public.post("/suivi", data={"csrf_token": csrf_token(public, "/suivi"),
                                             "code": code}))
    assert "État de votre demande : Accompagnement commencé" in page
    assert f"Votre rendez-vous : le {said_day}." in page
    assert f"Horaires : {SAID}" in page and "Léa" not in page

    # appointments with a time and a place (app/appointments registers its finder)
    def finder(o):
        return appointments.NextAppointment(on=day, at=time(9, 30),
                                            place="10 rue Championnet, bureau 4")

    appointments.register_finder(finder)
    try:
        slip = _text(client.get(f"/visits/{visit.id}/slip"))
        assert f"Votre rendez-vous : le {said_day} à 9 h 30." in slip
        assert "Lieu : 10 rue Championnet, bureau 4" in slip
        page = _text(public.post("/suivi", data={"csrf_token": csrf_token(public, "/suivi"),
                                                 "code": code}))
        assert f"Votre rendez-vous : le {said_day} à 9 h 30." in page
    finally:
        appointments._FINDERS.remove(finder)


def test_an_appointment_by_phone_says_so(app, oriented):
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        row = db.session.get(Orientation, oriented[3].id)
        assert appointments.next_appointment(row) is None

        def finder(o):
            return appointments.NextAppointment(on=date(2027, 1, 5), by_phone=True)

        appointments.register_finder(finder)
        try:
            assert appointments.next_appointment(row).by_phone
        finally:
            appointments._FINDERS.remove(finder)


def test_the_partner_sees_who_sent_it_and_what_is_due(client, oriented):
    agent, partner, visit, orientation = oriented
    login(client, partner)
    inbox = _text(client.get("/inbox"))
    assert "Demande envoyée" in inbox and "réception à confirmer avant le" in inbox
    page = _text(client.get(f"/orientations/{orientation.id}"))
    assert "Envoyée par Awa Diallo — site CMS Les Baumes — tél. 04 75 00 00 01" in page
    path = f"/orientations/{orientation.id}"
    post_form(client, path + "/acknowledge", token_from=path)
    inbox = _text(client.get("/inbox"))
    assert "Demande reçue" in inbox and "accompagnement à commencer avant le" in inbox
    assert "Demande reçue" in _text(client.get(path))


def test_a_tombstone_does_not_name_the_sender(client, build, oriented):
    agent, partner, visit, orientation = oriented
    h = bearer(api_token(client, agent))
    assert client.post(f"/api/v1/orientations/{orientation.id}/cancel", headers=h,
                       json={"reason": "La personne a trouvé"}).status_code == 200
    login(client, partner)
    page = _text(client.get(f"/orientations/{orientation.id}"))
    assert "Annulée" in page and "Envoyée par" not in page and "CMS Les Baumes" not in page
    assert "aucune" in _text(client.get("/inbox"))


def test_one_vocabulary_and_the_api_keeps_its_values(client, oriented):
    assert {s: str(label) for s, label in STATUS_LABELS.items()} == {
        OrientationStatus.SENT: "Demande envoyée",
        OrientationStatus.ACKNOWLEDGED: "Demande reçue",
        OrientationStatus.IN_CHARGE: "Accompagnement commencé",
        OrientationStatus.REFUSED: "Demande refusée",
        OrientationStatus.REDIRECTED: "Réorientée",
        OrientationStatus.CLOSED: "Terminée",
        OrientationStatus.CANCELLED: "Annulée",
    }
    agent, _partner, _visit, orientation = oriented
    answer = client.get(f"/api/v1/orientations/{orientation.id}",
                        headers=bearer(api_token(client, agent))).get_json()
    assert answer["status"] == "sent" and "sender" not in answer


def test_the_next_recorded_appointment_gives_its_time_and_place(app, client, oriented):
    """app/appointments registers its finder: the next scheduled appointment to come, with its
    time and place, or "by phone"; one already held is not the next."""
    agent, partner, visit, orientation = oriented
    h = bearer(api_token(client, partner))
    assert client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                       headers=h).status_code == 200
    soon, later = date.today() + timedelta(days=2), date.today() + timedelta(days=9)
    for body in ({"scheduled_on": later.isoformat(), "place_kind": "phone"},
                 {"scheduled_on": soon.isoformat(), "scheduled_time": "09:30",
                  "place_kind": "other", "place": "Maison des solidarités, salle 2"},
                 {"scheduled_on": date.today().isoformat(), "scheduled_time": "08:00",
                  "place_kind": "phone", "attendance": "came"}):
        answer = client.post(f"/api/v1/orientations/{orientation.id}/appointments", headers=h,
                             json=body)
        assert answer.status_code == 201, answer.get_json()
    with app.test_request_context():
        from app.core.i18n import fdate

        said_soon, said_later = fdate(soon), fdate(later)
    login(client, agent)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert f"Votre rendez-vous : le {said_soon} à 9 h 30." in slip
    assert "Lieu : Maison des solidarités, salle 2" in slip
    assert said_later not in slip

    from app.appointments.models import Appointment
    from app.core.db import db

    with app.app_context():
        db.session.execute(sa.delete(Appointment).where(Appointment.scheduled_on == soon))
        db.session.commit()
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert f"Votre rendez-vous : le {said_later}." in slip
    assert "Par téléphone : la structure vous appellera." in slip


def test_a_known_appointment_replaces_the_date_to_be_contacted_by(app, client, oriented):
    """Issue 20: until an appointment is known the slip says by when someone will call; once
    the partner recorded one, the appointment line replaces it, on the slip and on the
    follow-up page, which gives its time and place."""
    agent, partner, visit, orientation = oriented
    code = client.post(f"/api/v1/orientations/{orientation.id}/followup",
                       headers=bearer(api_token(client, agent)), json={}).get_json()["code"]
    h = bearer(api_token(client, partner))
    assert client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                       headers=h).status_code == 200
    login(client, agent)
    public = app.test_client()

    def follow_up_page() -> str:
        return _text(public.post("/suivi", data={"csrf_token": csrf_token(public, "/suivi"),
                                                 "code": code}))

    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert "Si personne ne vous a contacté(e) avant le" in slip
    assert "doit vous contacter avant le" in follow_up_page()
    day = date.today() + timedelta(days=6)
    answer = client.post(f"/api/v1/orientations/{orientation.id}/appointments", headers=h,
                         json={"scheduled_on": day.isoformat(), "scheduled_time": "14:15",
                               "place_kind": "address"})
    assert answer.status_code == 201, answer.get_json()
    with app.test_request_context():
        from app.core.i18n import fdate

        said = fdate(day)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert f"Votre rendez-vous : le {said} à 14 h 15." in slip
    assert "Lieu : 10 rue Championnet, 26000 Valence" in slip
    assert "Si personne ne vous a contacté(e)" not in slip
    page = follow_up_page()
    assert f"Votre rendez-vous : le {said} à 14 h 15." in page
    assert "Lieu : 10 rue Championnet, 26000 Valence" in page
    assert "doit vous contacter avant le" not in page
