"""The reminder run: an orientation a referent changes while the run reaches it is skipped,
and the others still get their reminders."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.core.db import db, utcnow
from app.orientation import reminders
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation, OrientationEvent


def test_an_orientation_changed_during_the_run_does_not_stop_it(app, build, monkeypatch):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    raced = build.orientation(build.person(agent), structure)
    other = build.orientation(build.person(agent), structure)
    today = local_date(utcnow())
    with app.app_context():
        for orientation_id, days in ((raced.id, 10), (other.id, 5)):  # raced comes first
            db.session.execute(sa.update(Orientation).where(Orientation.id == orientation_id)
                               .values(acknowledge_due=today - timedelta(days=days)))
        db.session.commit()

    read_stalls = reminders.stalls

    def stalls_then_partner_acknowledges(*args, **kwargs):
        found = read_stalls(*args, **kwargs)
        with db.engine.begin() as conn:  # another request, committed while the run goes on
            conn.execute(sa.update(Orientation).where(Orientation.id == raced.id).values(
                status="acknowledged", acknowledged_on=today, version=Orientation.version + 1))
        return found

    monkeypatch.setattr(reminders, "stalls", stalls_then_partner_acknowledges)
    with app.app_context():
        report = reminders.remind()
        kinds = dict(db.session.execute(
            sa.select(OrientationEvent.orientation_id, sa.func.count())
            .where(OrientationEvent.kind == "reminder").group_by(OrientationEvent.orientation_id)
        ).all())
        raced_status = db.session.get(Orientation, raced.id).status
    assert report.reminders == 1
    assert kinds == {other.id: 1}
    assert raced_status == "acknowledged"
