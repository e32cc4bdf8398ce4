"""An orientation's events are its history: appended, never changed or deleted (the same guard
as the parcours journal, app/core/append_only.py); retention may still erase their reasons."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.append_only import AppendOnlyViolation
from app.core.db import db


@pytest.fixture
def refused(app, build):
    from app.auth.models import User
    from app.orientation import services
    from app.orientation.models import Orientation

    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    orientation = build.orientation(build.person(agent), structure)
    with app.app_context():
        services.refuse(db.session.get(Orientation, orientation.id),
                        db.session.get(User, partner.id), "Hors de notre secteur")
        db.session.commit()
    return orientation


def _events(orientation_id):
    from app.orientation.models import OrientationEvent

    return db.session.scalars(sa.select(OrientationEvent).where(
        OrientationEvent.orientation_id == orientation_id).order_by(OrientationEvent.seq)).all()


@pytest.mark.parametrize("change", [
    lambda e: setattr(e, "to_status", "in_charge"),
    lambda e: setattr(e, "reason", "Autre motif"),
    lambda e: db.session.delete(e),
], ids=["status", "reason", "delete"])
def test_events_cannot_be_changed_or_deleted(app, refused, change):
    with app.app_context():
        change(_events(refused.id)[-1])
        with pytest.raises(AppendOnlyViolation):
            db.session.flush()
        db.session.rollback()
        assert _events(refused.id)[-1].reason == "Hors de notre secteur"


def test_events_cannot_be_changed_in_bulk_but_reasons_can_be_erased(app, refused):
    from app.orientation.models import OrientationEvent

    with app.app_context():
        for statement in (sa.update(OrientationEvent).values(kind="comment"),
                          sa.delete(OrientationEvent)):
            with pytest.raises(AppendOnlyViolation):
                db.session.execute(statement)
            db.session.rollback()
        db.session.execute(sa.update(OrientationEvent).values(reason_ct=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        db.session.expire_all()
        assert [e.reason for e in _events(refused.id)] == [None, None]
