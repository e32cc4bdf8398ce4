"""The values the database derives for the indicators (migration 0015's triggers): a person's
first visit follows every insert, move, change and deletion of visits; a need carries its
visit's site and day. On SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.accueil import merge
from app.accueil.models import Need, Person, Visit
from app.auth.models import User
from app.core.db import db


def _first_visit(person_id) -> date | None:
    db.session.expire_all()
    return db.session.execute(sa.select(Person.first_visit_on)
                              .where(Person.id == person_id)).scalar_one()


def _set_day(visit_id, day: date) -> None:
    db.session.execute(sa.update(Visit).where(Visit.id == visit_id).values(occurred_on=day))
    db.session.commit()


def test_first_visit_follows_inserts_and_changes(ctx, build):
    agent = build.user("accueil")
    person = build.person(agent)
    assert _first_visit(person.id) is None
    first = build.visit(person)
    today = db.session.get(Visit, first.id).occurred_on
    assert _first_visit(person.id) == today
    second = build.visit(person)
    _set_day(second.id, date(2024, 5, 5))
    assert _first_visit(person.id) == date(2024, 5, 5)
    _set_day(second.id, date(2099, 1, 1))  # no longer the earliest: the other one is
    assert _first_visit(person.id) == today
    db.session.execute(sa.delete(Need).where(Need.visit_id == first.id))
    db.session.execute(sa.delete(Visit).where(Visit.id == first.id))
    db.session.commit()
    assert _first_visit(person.id) == date(2099, 1, 1)


def test_first_visit_moves_with_a_merge_and_back(ctx, build):
    agent = build.user("accueil")
    kept, gone = build.person(agent), build.person(agent)
    build.visit(kept)
    old = build.visit(gone)
    _set_day(old.id, date(2023, 3, 3))
    coordinator = build.user("coordinateur")
    record = merge.merge_persons(db.session.get(Person, kept.id), db.session.get(Person, gone.id),
                                 db.session.get(User, coordinator.id))
    db.session.commit()
    assert _first_visit(kept.id) == date(2023, 3, 3)  # the merged file's history came along
    assert _first_visit(gone.id) is None
    merge.revert_merge(db.session.get(type(record), record.id), db.session.get(User,
                                                                                coordinator.id))
    db.session.commit()
    assert _first_visit(gone.id) == date(2023, 3, 3)
    assert _first_visit(kept.id) > date(2023, 3, 3)


def test_needs_carry_their_visits_site_and_day(ctx, build):
    agent = build.user("accueil")
    person = build.person(agent)
    visit = build.visit(person, needs=[{"domain": "logement", "urgency": "urgent"},
                                       {"domain": "budget", "urgency": "standard"}])
    db.session.expire_all()
    row = db.session.get(Visit, visit.id)
    needs = db.session.execute(sa.select(Need.site_id, Need.occurred_on)
                               .where(Need.visit_id == visit.id)).all()
    assert len(needs) == 2 and set(needs) == {(row.site_id, row.occurred_on)}
    _set_day(visit.id, date(2025, 6, 1))
    assert set(db.session.scalars(sa.select(Need.occurred_on)
                                  .where(Need.visit_id == visit.id))) == {date(2025, 6, 1)}


def test_first_visit_survives_a_concurrent_insert_and_delete(app, build):
    """PostgreSQL: a visit recorded while another visit of the person is deleted. Each trigger
    locks the person first, so the recomputation that waits sees the other's visit."""
    import threading
    import uuid

    import pytest

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite takes one writer at a time")
    agent = build.user("accueil")
    person = build.person(agent)
    january, march = build.visit(person), build.visit(person)
    with app.app_context():
        _set_day(january.id, date(2026, 1, 5))
        _set_day(march.id, date(2026, 3, 5))
        engine = db.engine
    copy = sa.text(
        "INSERT INTO visits (id, person_id, site_id, agent_id, channel, occurred_at, occurred_on,"
        " outcome, answered_actions, created_at) SELECT :new, person_id, site_id, agent_id,"
        " channel, occurred_at, :day, outcome, answered_actions, created_at FROM visits"
        " WHERE id = :source")

    def delete_january():
        with engine.begin() as deleting:
            deleting.execute(sa.text("DELETE FROM visits WHERE id = :id"), {"id": january.id})

    deleter = threading.Thread(target=delete_january)
    inserting = engine.connect()
    try:
        inserting.begin()
        inserting.execute(copy, {"new": uuid.uuid4(), "day": date(2026, 2, 5),
                                 "source": march.id})
        deleter.start()
        deleter.join(timeout=1)
        assert deleter.is_alive()  # waiting for the person's row, locked by the insert
        inserting.commit()
    finally:
        inserting.close()  # a failed run rolls back: the clean-up must not wait for it
        if deleter.is_alive() or deleter.ident:
            deleter.join(timeout=10)
    with app.app_context():
        assert _first_visit(person.id) == date(2026, 2, 5)  # not March: February was seen
