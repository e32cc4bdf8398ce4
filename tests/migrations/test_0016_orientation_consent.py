"""0016 narrows what existing orientations share: those that shared "needs" now share the need of
their domain only (the consent step's default); it dates the ended ones from their last
transition, and no redirect was accepted before it existed."""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import api_token, bearer

BEFORE, AFTER = "0015_indicator_columns", "0016_orientation_consent_scope"


def test_existing_orientations_share_the_oriented_need_only(app, client, build):
    from flask_migrate import downgrade, upgrade

    from app.core.db import db

    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    person = build.person(agent)
    visit = build.visit(person, needs=[{"domain": "violences", "urgency": "urgent"},
                                       {"domain": "logement", "urgency": "standard"}])
    sharing = build.orientation(person, structure, visit_id=str(visit.id), consent={
        "given": True, "shared_fields": ["first_name", "needs"],
        "shared_needs": ["violences", "logement"], "accepts_redirect": True})
    silent = build.orientation(person, structure, visit_id=str(visit.id), consent={
        "given": True, "shared_fields": ["first_name"]})
    cancelled = client.post(f"/api/v1/orientations/{silent.id}/cancel",
                            headers=bearer(api_token(client, agent)), json={"reason": "Erreur"})
    assert cancelled.status_code == 200
    orientations = sa.table("orientations", sa.column("id", sa.Uuid()),
                            sa.column("shared_needs", sa.String()),
                            sa.column("accepts_redirect", sa.Boolean()),
                            sa.column("ended_at", sa.DateTime(timezone=True)))
    events = sa.table("orientation_events", sa.column("orientation_id", sa.Uuid()),
                      sa.column("to_status", sa.String()),
                      sa.column("at", sa.DateTime(timezone=True)))
    with app.app_context():
        try:
            downgrade(revision=BEFORE)
            upgrade(revision=AFTER)
            with db.engine.connect() as conn:
                rows = {r.id: r for r in conn.execute(sa.select(orientations))}
                cancelled_at = conn.execute(sa.select(events.c.at).where(
                    events.c.orientation_id == silent.id,
                    events.c.to_status == "cancelled")).scalar_one()
            assert rows[sharing.id].shared_needs == "logement"
            assert rows[silent.id].shared_needs == ""
            assert not rows[sharing.id].accepts_redirect
            assert rows[sharing.id].ended_at is None
            assert rows[silent.id].ended_at is not None
            assert rows[silent.id].ended_at.replace(tzinfo=None) == \
                cancelled_at.replace(tzinfo=None)
        finally:
            db.session.remove()
            upgrade()
