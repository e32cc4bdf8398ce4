"""Urgency drives the work (issue 24, item 0): an orientation made from an urgent need is urgent,
runs on the urgent clock (same working day to acknowledge, 2 working days to take in charge by
default, a setting per domain), comes first in the lists, is reminded and escalated on that
clock, and the slip says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.core.db import db, utcnow
from app.orientation import reminders, urgency
from app.orientation.deadlines import add_working_days, local_date
from app.orientation.models import Orientation, OrientationEvent
from tests.helpers import api_token, bearer, login

URGENT = [{"domain": "logement", "urgency": "urgent"}, {"domain": "budget", "urgency": "standard"}]


# -- the clock -----------------------------------------------------------------------------------
def test_the_default_clock_and_a_domain_entry():
    assert urgency.clock("logement", raw="") == (0, 2, 1)
    raw = '{"logement": {"take_charge": 1}, "default": {"escalation": 0}}'
    assert urgency.clock("logement", raw=raw) == (0, 1, 0)
    assert urgency.clock("budget", raw=raw) == (0, 2, 0)


@pytest.mark.parametrize("raw", ["not json", "[]", '{"atlantide": {"acknowledge": 0}}',
                                 '{"default": {"acknowledge": -1}}',
                                 '{"default": {"soon": 1}}', '{"default": {"acknowledge": true}}'])
def test_a_malformed_setting_stops_the_start(raw, monkeypatch):
    from config import ConfigError, from_environment

    monkeypatch.setenv("PASSERELLE_URGENT_DEADLINES", raw)
    with pytest.raises(ConfigError, match="PASSERELLE_URGENT_DEADLINES"):
        from_environment("test")


@pytest.mark.parametrize("sent_on, days, expected", [
    (date(2026, 11, 23), 0, date(2026, 11, 23)),   # Monday: the same day
    (date(2026, 11, 28), 0, date(2026, 11, 30)),   # Saturday: the next working day
    (date(2026, 12, 25), 0, date(2026, 12, 28)),   # Christmas (Friday): Monday
    (date(2026, 11, 27), 2, date(2026, 12, 1)),    # Friday + 2 working days
])
def test_urgent_due_dates_are_working_days(sent_on, days, expected):
    assert urgency.due(sent_on, days) == expected


# -- sending -------------------------------------------------------------------------------------
def test_an_orientation_from_an_urgent_need_is_urgent(app, build):
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    visit = build.visit(person, needs=URGENT, outcome="oriented")
    urgent = build.orientation(person, structure, visit_id=str(visit.id))
    standard = build.orientation(person, structure, visit_id=str(visit.id), domain="budget")
    without_visit = build.orientation(person, structure)
    with app.app_context():
        today = local_date(utcnow())
        o = db.session.get(Orientation, urgent.id)
        assert o.urgent is True
        assert o.acknowledge_due == urgency.due(today, 0)
        assert o.take_charge_due == add_working_days(today, 2)
        s = db.session.get(Orientation, standard.id)
        assert s.urgent is False and s.acknowledge_due == add_working_days(today, 2)
        assert db.session.get(Orientation, without_visit.id).urgent is False


def test_the_setting_of_a_domain_applies(app, build):
    app.config["PASSERELLE_URGENT_DEADLINES"] = '{"logement": {"acknowledge": 1, "take_charge": 3}}'
    try:
        agent = build.user("accueil")
        person = build.person(agent)
        visit = build.visit(person, needs=URGENT)
        sent = build.orientation(person, build.structure(), visit_id=str(visit.id))
        with app.app_context():
            o = db.session.get(Orientation, sent.id)
            today = local_date(utcnow())
            assert (o.acknowledge_due, o.take_charge_due) == (add_working_days(today, 1),
                                                              add_working_days(today, 3))
    finally:
        app.config["PASSERELLE_URGENT_DEADLINES"] = None


def test_the_api_says_urgent_and_accepts_it(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    headers = bearer(api_token(client, agent))
    body = {"person_id": str(person.id), "structure_id": str(structure.id), "domain": "budget",
            "motive": "Dettes", "consent": {"given": True, "shared_fields": []}}
    plain = client.post("/api/v1/orientations", json=body, headers=headers)
    assert plain.status_code == 201 and plain.get_json()["urgent"] is False
    said = client.post("/api/v1/orientations", json={**body, "urgent": True}, headers=headers)
    assert said.status_code == 201 and said.get_json()["urgent"] is True
    assert said.get_json()["acknowledge_due"] == urgency.due(
        local_date(utcnow()), 0).isoformat()
    wrong = client.post("/api/v1/orientations", json={**body, "urgent": "peut-être"}, headers=headers)
    assert wrong.status_code in (400, 422)
    listed = client.get("/api/v1/orientations", headers=headers).get_json()
    assert {o["urgent"] for o in listed} == {True, False}


def test_a_redirect_stays_urgent(app, client, build):
    agent = build.user("accueil")
    structure, other = build.structure(), build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent)
    visit = build.visit(person, needs=URGENT)
    sent = build.orientation(person, structure, visit_id=str(visit.id))
    answer = client.post(f"/api/v1/orientations/{sent.id}/redirect",
                         headers=bearer(api_token(client, partner)),
                         json={"structure_id": str(other.id), "reason": "Pas notre secteur"})
    assert answer.status_code == 201
    assert answer.get_json()["urgent"] is True


# -- lists, reminders ------------------------------------------------------------------------------
def test_urgent_first_in_the_inbox_and_the_stalled_list(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent)
    plain_visit = build.visit(person, needs=[{"domain": "logement", "urgency": "standard"}])
    urgent_visit = build.visit(person, needs=URGENT)
    plain = build.orientation(person, structure, visit_id=str(plain_visit.id))
    urgent = build.orientation(person, structure, visit_id=str(urgent_visit.id))
    login(client, partner)
    page = client.get("/inbox").get_data(as_text=True)
    assert page.index(f"/orientations/{urgent.id}") < page.index(f"/orientations/{plain.id}")
    assert "badge-urgent" in page and ">Urgent<" in page
    today = local_date(utcnow())
    with app.app_context():
        # the plain one is far more overdue; the urgent one still comes first
        db.session.execute(sa.update(Orientation).where(Orientation.id == plain.id)
                           .values(acknowledge_due=today - timedelta(days=20)))
        db.session.execute(sa.update(Orientation).where(Orientation.id == urgent.id)
                           .values(acknowledge_due=today - timedelta(days=1)))
        db.session.commit()
        found, total = reminders.stalls_page(sa.select(Orientation), today=today)
        assert total == 2 and [s.orientation.id for s in found] == [urgent.id, plain.id]
        assert [s.orientation.id for s in reminders.stalls(today=today)] == [urgent.id, plain.id]


def test_an_urgent_orientation_is_escalated_on_its_clock(app, build):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    build.user("coordinateur", territory="Valence")
    person = build.person(agent)
    urgent = build.orientation(person, structure, visit_id=str(build.visit(person).id))
    plain = build.orientation(person, structure)
    today = local_date(utcnow())
    due = today
    for _ in range(3):  # three working days late: past the urgent escalation (1), not the usual (2)
        due = due - timedelta(days=1)
        while due.weekday() >= 5:
            due -= timedelta(days=1)
    with app.app_context():
        db.session.execute(sa.update(Orientation).where(Orientation.id.in_([urgent.id, plain.id]))
                           .values(acknowledge_due=due))
        db.session.commit()
        app.config["ESCALATION_DELAY"] = 5
        try:
            report = reminders.remind(today=today)
        finally:
            app.config["ESCALATION_DELAY"] = 2
        escalated = set(db.session.scalars(sa.select(OrientationEvent.orientation_id).where(
            OrientationEvent.kind == "escalation")))
    assert report.reminders == 2
    assert escalated == {urgent.id}


def test_the_slip_says_the_structure_answers_today(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    visit = build.visit(person, needs=URGENT, outcome="oriented")
    build.orientation(person, structure, visit_id=str(visit.id))
    login(client, agent)
    slip = client.get(f"/visits/{visit.id}/slip").get_data(as_text=True)
    today = local_date(utcnow())
    if urgency.due(today, 0) == today:
        assert "Cette demande est urgente : la structure doit vous répondre aujourd'hui." in slip
    else:
        assert "Cette demande est urgente : la structure doit vous répondre au plus tard le" in slip


def test_the_sender_is_told_the_urgent_deadlines_and_the_file_shows_the_badge(app, client, build):
    from tests.helpers import csrf_token

    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    person = build.person(agent)
    visit = build.visit(person, needs=URGENT, outcome="oriented")
    login(client, agent)
    path = f"/persons/{person.id}/orientations/new?visit_id={visit.id}"
    sent = client.post(path, data={
        "csrf_token": csrf_token(client, path), "domain": "logement",
        "structure_id": str(structure.id), "motive": "Plus de logement ce soir",
        "visit_id": str(visit.id), "consent_given": "y", "shared_fields": ["first_name"]},
        follow_redirects=True)
    assert "Orientation urgente envoyée." in sent.get_data(as_text=True)
    file = client.get(f"/persons/{person.id}").get_data(as_text=True)
    section = file[file.index('id="orientations-title"'):]
    assert 'class="badge badge-urgent">Urgent<' in section
