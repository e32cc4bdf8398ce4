"""``retention purge``: a dry run by default; --apply anonymises old files and purges old
technical rows, keeps what is still in progress, and leaves the indicators unchanged."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.core.db import db, utcnow


def _age(app, person_id, years: float):
    """Move a person's whole history back in time."""
    from app.accueil.models import Person, Visit
    from app.orientation.models import Orientation

    then = utcnow() - timedelta(days=int(365 * years))
    with app.app_context():
        db.session.execute(sa.update(Person).where(Person.id == person_id).values(created_at=then))
        db.session.execute(sa.update(Visit).where(Visit.person_id == person_id)
                           .values(occurred_at=then, occurred_on=then.date()))
        db.session.execute(sa.update(Orientation).where(Orientation.person_id == person_id)
                           .values(updated_at=then, sent_on=then.date()))
        db.session.commit()


def test_dry_run_then_apply(app, build):
    from app.accueil.models import Person
    from app.orientation.models import Orientation
    from app.pilotage import indicators

    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    old = build.person(agent, first_name="Ancienne", last_name="Dossier", phone="0102030405")
    build.visit(old, summary="Ancien résumé", needs=[{"domain": "budget", "urgency": "urgent",
                                                      "note": "Vieille note"}])
    closed = build.orientation(old, structure, motive="Ancien motif")
    with app.app_context():
        from app.auth.models import User
        from app.orientation.services import refuse

        refuse(db.session.get(Orientation, closed.id), db.session.get(User, partner.id),
               "Ancien refus")
        db.session.commit()
    _age(app, old.id, 4)
    still_open = build.person(agent, first_name="Encore", last_name="Suivie")
    build.orientation(still_open, structure)
    _age(app, still_open.id, 4)
    recent = build.person(agent, first_name="Recente", last_name="Personne")
    build.visit(recent)

    query = indicators.Query(date.today() - timedelta(days=365 * 6), date.today())
    with app.app_context():
        before = indicators.compute(query)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention", "purge"])
    assert dry.exit_code == 0 and f"person {old.reception_number}: to anonymise" in dry.output
    assert "persons to anonymise: 1" in dry.output and "dry run" in dry.output
    with app.app_context():
        assert db.session.get(Person, old.id).first_name == "Ancienne"
    applied = runner.invoke(args=["retention", "purge", "--apply"])
    assert applied.exit_code == 0 and "persons anonymised: 1" in applied.output
    with app.app_context():
        person = db.session.get(Person, old.id)
        assert person.anonymised_at is not None
        assert (person.first_name, person.last_name, person.phone) == (None, None, None)
        from app.accueil.models import Need, Visit
        from app.orientation.models import OrientationEvent

        visit = db.session.scalars(sa.select(Visit).where(Visit.person_id == old.id)).one()
        assert visit.summary is None and visit.outcome  # the codes stay
        assert all(n.note is None for n in db.session.scalars(sa.select(Need)))
        orientation = db.session.get(Orientation, closed.id)
        assert orientation.motive is None and orientation.status == "refused"
        assert all(e.reason is None for e in db.session.scalars(sa.select(OrientationEvent).where(
            OrientationEvent.orientation_id == closed.id)))
        assert db.session.get(Person, still_open.id).first_name == "Encore"
        assert db.session.get(Person, recent.id).first_name == "Recente"
        after = indicators.compute(query)
        from app.core.audit import verify_chain

        verify_chain(db.session)
    assert after.totals == before.totals and after.months == before.months
    assert after.domains == before.domains
    again = runner.invoke(args=["retention", "purge", "--apply"])
    assert "persons anonymised: 0" in again.output


def test_anonymised_persons_are_not_found(app, client, build):
    from tests.helpers import api_token, bearer

    agent = build.user("accueil")
    old = build.person(agent, first_name="Introuvable", last_name="Bientot")
    _age(app, old.id, 5)
    app.test_cli_runner().invoke(args=["retention", "purge", "--apply"])
    h = bearer(api_token(client, agent))
    assert client.get("/api/v1/persons?q=introuvable", headers=h).get_json() == []


def test_old_technical_rows_are_purged(app, build):
    from app.auth.models import LoginAttempt

    user = build.user("accueil")
    with app.app_context():
        from app.auth import throttle

        throttle.record_attempt(user.email, "127.0.0.1", throttle.FAILURE)
        throttle.record_attempt(user.email, "127.0.0.1", throttle.FAILURE)
        db.session.flush()
        row = db.session.scalars(sa.select(LoginAttempt)).first()
        row.at = utcnow() - timedelta(days=400)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--apply"])
    assert "login attempts deleted: 1" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1


def test_anonymising_erases_the_update_contact_and_drops_unsent_updates(app, client, build):
    from app.followup.models import FollowUp
    from app.notifications.models import OutboxMessage
    from tests.helpers import api_token, bearer

    agent = build.user("accueil")
    structure = build.structure()
    partner = bearer(api_token(client, build.user("partenaire", structure=str(structure.id))))
    person = build.person(agent, first_name="Oubliee", last_name="Bientot")
    orientation = build.orientation(person, structure)
    answer = client.post(f"/api/v1/orientations/{orientation.id}/followup",
                         headers=bearer(api_token(client, agent)),
                         json={"updates_channel": "email", "updates_contact": "oubliee@example.org"})
    assert answer.status_code == 201
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge", headers=partner)
    client.post(f"/api/v1/orientations/{orientation.id}/take-charge", headers=partner,
                json={"first_appointment_on": "2099-01-02"})
    client.post(f"/api/v1/orientations/{orientation.id}/close", headers=partner,
                json={"outcome": "Fini"})
    updates = sa.select(OutboxMessage).where(OutboxMessage.kind == "followup.update") \
        .order_by(OutboxMessage.created_at)
    with app.app_context():  # one delivered, one failed and awaiting a retry
        first, second = db.session.scalars(updates).all()
        first.status, first.sent_at = "sent", utcnow()
        second.status, second.attempts = "failed", 3
        other = build.structure()  # someone else's queued message stays
        db.session.add(OutboxMessage(kind="orientation.new", subject="x", body="x",
                                     related_type="orientation", related_id=other.id))
        db.session.commit()
    _age(app, person.id, 4)
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--apply"])
    assert result.exit_code == 0, result.exception
    with app.app_context():
        followup = db.session.scalars(sa.select(FollowUp)).one()
        assert followup.updates_contact is None and followup.updates_channel == "email"
        [kept] = db.session.scalars(updates).all()
        assert kept.status == "sent" and kept.recipient is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "orientation.new", OutboxMessage.related_id == other.id)) == 1


def test_anonymising_erases_the_appointments_places_and_messages_to_the_person(app, build):
    """Issue 20: the file's appointments lose their place, with whom and the person's link; the
    reminder delivered keeps no recipient, the one waiting is dropped; dates and attendance stay
    (the indicators do not change)."""
    from app.appointments import services as appointments
    from app.appointments.models import Appointment
    from app.auth.models import User
    from app.followup.services import record_consent
    from app.notifications.models import OutboxMessage
    from app.orientation.deadlines import local_date
    from app.orientation.models import Orientation
    from app.orientation.services import acknowledge, close, take_charge

    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Rdv", last_name="Oublie")
    orientation = build.orientation(person, structure)
    today = local_date(utcnow())
    with app.app_context():
        row = db.session.get(Orientation, orientation.id)
        actor = db.session.get(User, partner.id)
        record_consent(row, "email", "rdv@example.org", db.session.get(User, agent.id))
        acknowledge(row, actor)
        came = appointments.record_appointment(row, {
            "scheduled_on": today, "place_kind": "other", "place": "Chez sa soeur, 3 rue Haute",
            "with_whom": "Mme Lenoir", "attendance": "came"}, actor)
        later = appointments.record_appointment(row, {
            "scheduled_on": today + timedelta(days=1), "scheduled_time": "23:59",
            "place_kind": "other", "place": "Permanence du marché", "with_whom": "M. Brun"},
            actor)
        db.session.commit()
        token = appointments.person_token(later)
        came_id, ids = came.id, {came.id, later.id}
        appointments.remind(utcnow())
        reminders = sa.select(OutboxMessage).where(OutboxMessage.kind == "appointment.reminder")
        [sent] = db.session.scalars(reminders).all()
        sent.status, sent.sent_at = "sent", utcnow()
        # A second reminder still waiting (as if queued by a run that the closing did not see).
        db.session.add(OutboxMessage(kind="appointment.reminder", recipient="rdv@example.org",
                                     subject="x", body="x", related_type="orientation",
                                     related_id=orientation.id, status="failed"))
        db.session.commit()
        take_charge(db.session.get(Orientation, orientation.id), actor)
        close(db.session.get(Orientation, orientation.id), actor, "Accompagnement terminé")
        db.session.commit()
        first_on = db.session.get(Orientation, orientation.id).first_appointment_on
    _age(app, person.id, 4)
    result = app.test_cli_runner().invoke(args=["retention", "purge", "--apply"])
    assert result.exit_code == 0, result.exception
    with app.app_context():
        rows = {a.id: a for a in db.session.scalars(sa.select(Appointment))}
        assert set(rows) == ids
        for a in rows.values():
            assert a.place_text is None and a.with_whom is None and a.person_token_hash is None
        later_id = (ids - {came_id}).pop()
        assert rows[came_id].status == "came" and rows[later_id].status == "scheduled"
        assert rows[later_id].scheduled_on == today + timedelta(days=1)
        assert db.session.get(Orientation, orientation.id).first_appointment_on == first_on
        assert appointments.by_person_token(token) is None
        [kept] = db.session.scalars(reminders).all()
        assert kept.status == "sent" and kept.recipient is None
