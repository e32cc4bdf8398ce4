"""Appointments (issue 20): recorded by the partner, first_appointment_on derived, attendance,
two missed appointments, reminders to the person (idempotent; none after withdrawal, closing
or cancellation), the person's "Je ne peux pas venir", the stalled list."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login

ADDRESS = "12 rue des Alpes, 26000 Valence"


@pytest.fixture
def oriented(client, build):
    agent = build.user("accueil")
    structure = build.structure(name="CAF Rendez-vous", address=ADDRESS)
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Sophie", last_name="Germain")
    orientation = build.orientation(person, structure)
    hp = bearer(api_token(client, partner))
    ha = bearer(api_token(client, agent))
    assert client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                       headers=hp).status_code == 200
    return agent, partner, orientation, ha, hp


def _today():
    from app.core.db import utcnow
    from app.orientation.deadlines import local_date

    return local_date(utcnow())


def _record(client, orientation, headers, **body):
    body = {"scheduled_on": (_today() + timedelta(days=10)).isoformat(),
            "scheduled_time": "14:30", "place_kind": "address", "with_whom": "Mme Curie",
            **body}
    return client.post(f"/api/v1/orientations/{orientation.id}/appointments", headers=headers,
                       json=body)


def _consent(client, orientation, ha, channel="email", contact="sophie@example.org"):
    answer = client.post(f"/api/v1/orientations/{orientation.id}/followup", headers=ha,
                         json={"updates_channel": channel, "updates_contact": contact})
    assert answer.status_code == 201, answer.get_json()


def _reminders(app):
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.channel, m.recipient, m.body, m.status) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "appointment.reminder")
            .order_by(OutboxMessage.created_at))]


def _remind(app, when: datetime):
    from app.appointments import services

    with app.app_context():
        return services.remind(when)


def _paris(day: date, hour: int = 7) -> datetime:
    from app.orientation.deadlines import PARIS

    return datetime.combine(day, time(hour, 0), tzinfo=PARIS)


def test_partner_records_an_appointment_and_first_appointment_on_is_derived(app, client,
                                                                              oriented):
    agent, partner, orientation, ha, hp = oriented
    later = _record(client, orientation, hp)
    assert later.status_code == 201, later.get_json()
    body = later.get_json()
    assert body["place"] == ADDRESS and body["scheduled_time"] == "14:30"
    assert body["status"] == "scheduled" and body["with_whom"] == "Mme Curie"
    sooner = _record(client, orientation, hp, scheduled_on=(_today() + timedelta(days=3))
                     .isoformat(), place_kind="phone", scheduled_time=None)
    assert sooner.status_code == 201
    read = client.get(f"/api/v1/orientations/{orientation.id}", headers=hp).get_json()
    assert read["first_appointment_on"] == (_today() + timedelta(days=3)).isoformat()
    # the sender reads them too; the list is in date order
    rows = client.get(f"/api/v1/orientations/{orientation.id}/appointments", headers=ha)
    assert rows.status_code == 200
    assert [r["place_kind"] for r in rows.get_json()] == ["phone", "address"]
    # cancelled by the person: the first appointment is the other one
    client.post(f"/api/v1/appointments/{sooner.get_json()['id']}/attendance", headers=hp,
                json={"attendance": "cancelled_by_person"})
    read = client.get(f"/api/v1/orientations/{orientation.id}", headers=hp).get_json()
    assert read["first_appointment_on"] == (_today() + timedelta(days=10)).isoformat()
    # the free text is encrypted at rest
    from app.core.db import db

    with app.app_context():
        raw = db.session.execute(sa.text("SELECT with_whom, place_text FROM appointments")).all()
        assert raw and all("Curie" not in (w or "") and "Alpes" not in (p or "") for w, p in raw)


def test_taking_charge_with_a_date_creates_the_appointment(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    on = (_today() + timedelta(days=5)).isoformat()
    answer = client.post(f"/api/v1/orientations/{orientation.id}/take-charge", headers=hp,
                         json={"first_appointment_on": on})
    assert answer.status_code == 200 and answer.get_json()["first_appointment_on"] == on
    rows = client.get(f"/api/v1/orientations/{orientation.id}/appointments", headers=hp).get_json()
    assert [r["scheduled_on"] for r in rows] == [on]


def test_past_date_accepted_with_its_outcome_date_before_sending_refused(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.execute(sa.update(Orientation).values(sent_on=_today() - timedelta(days=20)))
        db.session.commit()
    past = _record(client, orientation, hp, scheduled_on=(_today() - timedelta(days=2))
                   .isoformat(), attendance="came")
    assert past.status_code == 201 and past.get_json()["status"] == "came"
    before = _record(client, orientation, hp, scheduled_on=(_today() - timedelta(days=30))
                     .isoformat())
    assert before.status_code == 422
    assert "précéder l'envoi" in before.get_json()["error"]["fields"]["scheduled_on"][0]
    future_came = _record(client, orientation, hp, attendance="came")
    assert future_came.status_code == 422


@pytest.mark.parametrize("body", [
    {"scheduled_on": "demain", "place_kind": "phone"},
    {"scheduled_on": "2026-02-30", "place_kind": "phone"},
    {"scheduled_on": "2099-01-01", "place_kind": "phone"},
    {"place_kind": "phone"},
    {"scheduled_on": "2030-01-01", "place_kind": "moon"},
    {"scheduled_on": "2030-01-01", "place_kind": "other"},
    {"scheduled_on": "2030-01-01", "place_kind": "address", "place": "ailleurs"},
    {"scheduled_on": "2030-01-01", "place_kind": "phone", "scheduled_time": "25:99"},
    {"scheduled_on": "2030-01-01", "place_kind": "phone", "attendance": "maybe"},
    {"scheduled_on": "2030-01-01", "place_kind": "phone", "with_whom": "x" * 500},
])
def test_bad_input_is_422_never_500(client, oriented, body):
    agent, partner, orientation, ha, hp = oriented
    answer = client.post(f"/api/v1/orientations/{orientation.id}/appointments", headers=hp,
                         json=body)
    assert answer.status_code == 422, (body, answer.status_code, answer.get_json())
    assert answer.get_json()["error"]["code"] == "validation_error"


def test_wrong_types_are_400(client, oriented):
    agent, partner, orientation, ha, hp = oriented
    answer = client.post(f"/api/v1/orientations/{orientation.id}/appointments", headers=hp,
                         json={"scheduled_on": 12, "place_kind": ["phone"]})
    assert answer.status_code == 400
    answer = client.post(f"/api/v1/orientations/{orientation.id}/appointments", headers=hp,
                         data="nope", content_type="text/plain")
    assert answer.status_code == 400


def test_only_the_partner_records_and_sent_orientations_wait(app, client, build, oriented):
    agent, partner, orientation, ha, hp = oriented
    assert _record(client, orientation, ha).status_code == 403
    other = build.user("partenaire")
    assert _record(client, orientation, bearer(api_token(client, other))).status_code == 404
    fresh = build.orientation(build.person(agent), build.structure())
    structure_partner = build.user("partenaire", structure=str(fresh.structure_id))
    answer = _record(client, fresh, bearer(api_token(client, structure_partner)),
                     place_kind="phone")
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "invalid_transition"


def test_attendance_rescheduled_and_two_missed_hand_back_to_the_sender(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    from app.core.db import db
    from app.notifications.models import OutboxMessage
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.execute(sa.update(Orientation).values(sent_on=_today() - timedelta(days=20)))
        db.session.commit()
    first = _record(client, orientation, hp, scheduled_on=(_today() - timedelta(days=5))
                    .isoformat()).get_json()
    moved = client.post(f"/api/v1/appointments/{first['id']}/attendance", headers=hp, json={
        "attendance": "rescheduled",
        "new_appointment": {"scheduled_on": (_today() - timedelta(days=2)).isoformat(),
                            "place_kind": "other", "place": "Mairie annexe"}})
    assert moved.status_code == 200, moved.get_json()
    new_id = moved.get_json()["rescheduled_to_id"]
    assert new_id and moved.get_json()["status"] == "rescheduled"
    again = client.post(f"/api/v1/appointments/{first['id']}/attendance", headers=hp,
                        json={"attendance": "came"})
    assert again.status_code == 409
    too_soon = client.post(f"/api/v1/orientations/{orientation.id}/after-missed-appointments",
                           headers=hp, json={"decision": "hand_back"})
    assert too_soon.status_code == 409
    assert client.post(f"/api/v1/appointments/{new_id}/attendance", headers=hp,
                       json={"attendance": "no_show"}).status_code == 200
    third = _record(client, orientation, hp, scheduled_on=(_today() - timedelta(days=1))
                    .isoformat(), attendance="no_show")
    assert third.status_code == 201
    back = client.post(f"/api/v1/orientations/{orientation.id}/after-missed-appointments",
                       headers=hp, json={"decision": "hand_back", "comment": "Injoignable"})
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["status"] == "refused"
    assert back.get_json()["refusal_code"] == "missed_appointments"
    with app.app_context():
        told = db.session.scalars(sa.select(OutboxMessage.subject).where(
            OutboxMessage.kind == "orientation.refused")).all()
        assert told and "rendue" in told[0]
    # the structure keeps a tombstone: no appointment visible any more
    assert client.get(f"/api/v1/orientations/{orientation.id}/appointments",
                      headers=hp).status_code == 404


def test_two_missed_close(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.execute(sa.update(Orientation).values(sent_on=_today() - timedelta(days=20)))
        db.session.commit()
    for days in (3, 1):
        assert _record(client, orientation, hp, place_kind="phone", attendance="no_show",
                       scheduled_on=(_today() - timedelta(days=days)).isoformat()
                       ).status_code == 201
    closed = client.post(f"/api/v1/orientations/{orientation.id}/after-missed-appointments",
                         headers=hp, json={"decision": "close"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert "deux rendez-vous" in closed.get_json()["outcome"]


def test_reminders_before_and_on_the_day_once_each(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    _consent(client, orientation, ha)
    from app.orientation.deadlines import add_working_days

    day = add_working_days(_today(), 6)
    _record(client, orientation, hp, scheduled_on=day.isoformat(), scheduled_time="10:00")
    two_before = _today()
    while add_working_days(two_before, 2) < day:
        two_before += timedelta(days=1)
    assert _remind(app, _paris(two_before - timedelta(days=1))).queued == 0
    assert _remind(app, _paris(two_before)).queued == 1
    assert _remind(app, _paris(two_before)).queued == 0  # idempotent
    assert _remind(app, _paris(two_before + timedelta(days=1))).queued == 0
    assert _remind(app, _paris(day, 7)).queued == 1
    assert _remind(app, _paris(day, 8)).queued == 0
    sent = _reminders(app)
    assert len(sent) == 2 and all(r[1] == "sophie@example.org" for r in sent)
    body = sent[0][2]
    assert "CAF Rendez-vous" in body and ADDRESS in body and "10 h 00" in body
    assert "/suivi/rendez-vous/" in body and "/suivi/stop/" in body
    assert "Germain" not in body and "Sophie" not in body


def test_no_reminder_without_consent_or_after_the_day_time(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    _record(client, orientation, hp, scheduled_on=_today().isoformat(), scheduled_time="09:00",
            place_kind="phone")
    report = _remind(app, _paris(_today(), 7))
    assert report.queued == 0 and report.skipped == 1
    _consent(client, orientation, ha)
    assert _remind(app, _paris(_today(), 10)).queued == 0  # past its time


def _queue_one(app, client, orientation, ha, hp):
    _consent(client, orientation, ha)
    appointment = _record(client, orientation, hp, scheduled_on=(_today() + timedelta(days=1))
                          .isoformat()).get_json()
    assert _remind(app, _paris(_today())).queued == 1
    assert [r[3] for r in _reminders(app)] == ["pending"]
    return appointment


def test_withdrawal_drops_the_reminder_and_stops_the_next(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    _queue_one(app, client, orientation, ha, hp)
    from app.core.db import db
    from app.followup import services as followup
    from app.orientation.models import Orientation

    with app.app_context():
        followup.withdraw(followup.followup_of(db.session.get(Orientation, orientation.id)))
        db.session.commit()
    assert _reminders(app) == []
    assert _remind(app, _paris(_today() + timedelta(days=1))).queued == 0


def test_closing_drops_the_reminder(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    client.post(f"/api/v1/orientations/{orientation.id}/take-charge", headers=hp, json={})
    _queue_one(app, client, orientation, ha, hp)
    assert client.post(f"/api/v1/orientations/{orientation.id}/close", headers=hp,
                       json={"outcome": "Situation réglée"}).status_code == 200
    assert _reminders(app) == []
    assert _remind(app, _paris(_today() + timedelta(days=1))).queued == 0


def test_cancellation_drops_the_reminder(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    appointment = _queue_one(app, client, orientation, ha, hp)
    assert client.post(f"/api/v1/appointments/{appointment['id']}/attendance", headers=hp,
                       json={"attendance": "cancelled_by_person"}).status_code == 200
    assert _reminders(app) == []
    assert _remind(app, _paris(_today() + timedelta(days=1))).queued == 0


def test_sms_reminder_and_the_persons_cannot_come(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    app.config["PASSERELLE_SMS_URL"] = "http://127.0.0.1:9/none"
    try:
        _consent(client, orientation, ha, channel="sms", contact="06 12 34 56 78")
    finally:
        app.config["PASSERELLE_SMS_URL"] = None
    _record(client, orientation, hp, scheduled_on=(_today() + timedelta(days=1)).isoformat())
    assert _remind(app, _paris(_today())).queued == 1
    [(channel, recipient, body, _status)] = _reminders(app)
    assert channel == "sms" and recipient == "06 12 34 56 78"
    link = re.search(r"(/suivi/rendez-vous/[A-Za-z0-9_-]+)", body).group(1)
    person = app.test_client()
    page = person.get(link)
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "CAF Rendez-vous" in text and "Je ne peux pas venir" in text and "Germain" not in text
    said = person.post(link, data={"csrf_token": csrf_token(person, link)})
    assert "est prévenue" in html.unescape(said.get_data(as_text=True))
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        told = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "appointment.cannot_come")).all()
        assert [m.recipient for m in told] == [partner.email]
    assert _reminders(app) == []  # the queued reminder was dropped
    rows = client.get(f"/api/v1/orientations/{orientation.id}/appointments", headers=hp).get_json()
    assert rows[0]["person_cannot_come_at"]
    assert person.get("/suivi/rendez-vous/nope").status_code == 404


def test_pages_record_and_show_the_appointments(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    login(client, partner)
    page = client.get(f"/orientations/{orientation.id}")
    assert "Fixer un rendez-vous" in html.unescape(page.get_data(as_text=True))
    token = csrf_token(client, f"/orientations/{orientation.id}")
    on = (_today() + timedelta(days=4)).isoformat()
    answer = client.post(f"/orientations/{orientation.id}/appointments", data={
        "csrf_token": token, "scheduled_on": on, "scheduled_time": "09:15",
        "place_choice": f"address:{ADDRESS}", "with_whom": "M. Fourier"})
    assert answer.status_code == 302
    text = html.unescape(client.get(f"/orientations/{orientation.id}").get_data(as_text=True))
    assert "Rendez-vous enregistré" in text and "M. Fourier" in text and "09:15" in text
    refused = client.post(f"/orientations/{orientation.id}/appointments", data={
        "csrf_token": token, "scheduled_on": "1999-01-01", "place_choice": "phone"},
        follow_redirects=True)
    assert "précéder l'envoi" in html.unescape(refused.get_data(as_text=True))


def test_stalled_list_shows_appointments_passed_without_outcome(app, client, build, oriented):
    agent, partner, orientation, ha, hp = oriented
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.execute(sa.update(Orientation).values(sent_on=_today() - timedelta(days=30),
                                                         territory="Valence"))
        db.session.commit()
    _record(client, orientation, hp, scheduled_on=(_today() - timedelta(days=10)).isoformat())
    coordinator = build.user("coordinateur", territory="Valence")
    login(client, coordinator)
    text = html.unescape(client.get("/pilotage/stalled").get_data(as_text=True))
    assert "Rendez-vous passés sans suite" in text and "CAF Rendez-vous" in text


def test_indicators_count_kept_and_missed_and_the_days_to_the_first_kept(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    from app.core.db import db
    from app.orientation.models import Orientation
    from app.pilotage import indicators

    sent_on = _today() - timedelta(days=20)
    with app.app_context():
        db.session.execute(sa.update(Orientation).values(sent_on=sent_on, territory="Valence"))
        db.session.commit()
    for days, attendance in ((15, "no_show"), (10, "came"), (5, "came")):
        assert _record(client, orientation, hp, place_kind="phone", attendance=attendance,
                       scheduled_on=(_today() - timedelta(days=days)).isoformat()
                       ).status_code == 201
    with app.app_context():
        query = indicators.Query(sent_on - timedelta(days=3), _today(), "Valence", "structure")
        report = indicators.compute(query)
        totals = report.totals
        assert totals["appointments_kept"] == 2 and totals["appointments_missed"] == 1
        assert totals["orientations_with_kept_appointment"] == 1
        assert totals["median_days_to_first_kept_appointment"] == 10.0
        [group] = report.groups
        assert group["appointments_kept"] == 2 and group["label"] == "CAF Rendez-vous"
        published = indicators.publish(query)  # small counts masked, and the median with them
        assert indicators.is_masked(published.totals["appointments_kept"])
        assert indicators.is_masked(published.totals["median_days_to_first_kept_appointment"])


# -- the person is told of an appointment recorded or moved ------------------------------------
def _notices(app):
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.channel, m.recipient, m.subject, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "appointment.notice")
            .order_by(OutboxMessage.created_at))]


def test_the_person_is_told_when_an_appointment_is_recorded_then_moved(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    _consent(client, orientation, ha)
    day = _today() + timedelta(days=10)
    answer = _record(client, orientation, hp, scheduled_on=day.isoformat())
    assert answer.status_code == 201
    [(channel, recipient, subject, body)] = _notices(app)
    assert channel == "email" and recipient == "sophie@example.org"
    assert "CAF Rendez-vous vous donne rendez-vous" in body and "à 14 h 30" in body
    assert f"Lieu : {ADDRESS}." in body and "Mme Curie" in body
    assert "/suivi/rendez-vous/" in body and "/suivi/stop/" in body
    assert "Sophie" not in body and "Germain" not in body
    from app.core.db import db, utcnow
    from app.notifications.models import OutboxMessage

    with app.app_context():  # delivered
        db.session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.kind == "appointment.notice").values(status="sent", sent_at=utcnow()))
        db.session.commit()
    # moved: a message saying so, with the new date; the first one is not queued again
    later = _today() + timedelta(days=14)
    moved = client.post(f"/api/v1/appointments/{answer.get_json()['id']}/attendance",
                        headers=hp, json={"attendance": "rescheduled",
                                          "new_appointment": {"scheduled_on": later.isoformat(),
                                                              "place_kind": "phone"}})
    assert moved.status_code == 200, moved.get_json()
    notices = _notices(app)
    assert len(notices) == 2
    _c, _r, subject, body = notices[1]
    assert subject == "Votre rendez-vous a changé" and "est déplacé" in body
    assert "par téléphone" in body
    # an appointment already held, recorded afterwards, tells nothing
    assert _record(client, orientation, hp, scheduled_on=_today().isoformat(),
                   scheduled_time="08:00", attendance="came").status_code == 201
    assert len(_notices(app)) == 2
    from app.core.audit import AuditEntry

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "appointment.notice")) == 2


def test_no_message_without_consent_or_after_withdrawal_and_sms_is_short(app, client, oriented):
    agent, partner, orientation, ha, hp = oriented
    assert _record(client, orientation, hp).status_code == 201
    assert _notices(app) == []  # the person did not ask for news
    app.config["PASSERELLE_SMS_URL"] = "http://127.0.0.1:9/none"
    try:
        _consent(client, orientation, ha, channel="sms", contact="06 12 34 56 78")
    finally:
        app.config["PASSERELLE_SMS_URL"] = None
    assert _record(client, orientation, hp, place_kind="phone").status_code == 201
    [(channel, _recipient, _subject, body)] = _notices(app)
    assert channel == "sms" and "Rendez-vous avec CAF Rendez-vous" in body
    assert "Dites-le ici" in body and len(body) < 400
    from app.auth.models import User
    from app.core.db import db
    from app.followup.services import followup_of, withdraw
    from app.notifications.models import OutboxMessage
    from app.orientation.models import Orientation

    with app.app_context():
        withdraw(followup_of(db.session.get(Orientation, orientation.id)),
                 db.session.get(User, agent.id))
        db.session.commit()
        # the notice still waiting in the outbox is dropped with the withdrawal
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "appointment.notice")) == 0
    assert _record(client, orientation, hp).status_code == 201
    assert _notices(app) == []


def test_the_api_lists_the_appointments_passed_without_outcome(app, client, build, oriented):
    """``GET /api/v1/appointments/stalled``: the coordinators' list of the stalled page, for
    their territory only, without the free texts; 404 to the other roles (as the stalled
    orientations)."""
    agent, partner, orientation, ha, hp = oriented
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.execute(sa.update(Orientation).values(sent_on=_today() - timedelta(days=30),
                                                         territory="Valence"))
        db.session.commit()
    passed = _record(client, orientation, hp, place_kind="other", place="Salle 4",
                     scheduled_on=(_today() - timedelta(days=10)).isoformat()).get_json()
    assert _record(client, orientation, hp,  # too recent, or already with an outcome
                   scheduled_on=_today().isoformat()).status_code == 201
    assert _record(client, orientation, hp, attendance="came",
                   scheduled_on=(_today() - timedelta(days=12)).isoformat()).status_code == 201
    coordinator = bearer(api_token(client, build.user("coordinateur", territory="Valence")))
    answer = client.get("/api/v1/appointments/stalled", headers=coordinator)
    assert answer.status_code == 200 and answer.headers["X-Total-Count"] == "1"
    [row] = answer.get_json()
    assert row["id"] == passed["id"] and row["orientation_id"] == str(orientation.id)
    assert row["scheduled_on"] == (_today() - timedelta(days=10)).isoformat()
    assert row["scheduled_time"] == "14:30" and row["working_days_since"] >= 6
    assert row["orientation_status"] == "acknowledged"
    assert row["structure"]["name"] == "CAF Rendez-vous"
    assert row["person"]["initials"] == "SG" and row["person"]["reception_number"]
    assert "Salle 4" not in answer.get_data(as_text=True)
    assert "Mme Curie" not in answer.get_data(as_text=True)
    assert client.get("/api/v1/appointments/stalled?per_page=1&page=2",
                      headers=coordinator).get_json() == []
    assert client.get("/api/v1/appointments/stalled?territory=Diois",
                      headers=coordinator).status_code == 403
    assert client.get("/api/v1/appointments/stalled?per_page=1000",
                      headers=coordinator).status_code == 422
    elsewhere = bearer(api_token(client, build.user("coordinateur", territory="Diois")))
    assert client.get("/api/v1/appointments/stalled", headers=elsewhere).get_json() == []
    for headers in (hp, ha):
        assert client.get("/api/v1/appointments/stalled", headers=headers).status_code == 404
