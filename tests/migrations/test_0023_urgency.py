"""0023 marks urgent the existing orientations whose visit's need of the same domain was urgent
(their due dates stay), and adds break-the-glass accesses' review date (none reviewed yet)."""

from __future__ import annotations

import sqlalchemy as sa

BEFORE, AFTER = "0022_documents", "0023_urgency"


def test_existing_orientations_from_an_urgent_need_become_urgent(app, build):
    from flask_migrate import downgrade, upgrade

    from app.core.db import db

    agent = build.user("accueil")
    structure = build.structure(domains=["logement", "budget"])
    person = build.person(agent)
    visit = build.visit(person, needs=[{"domain": "logement", "urgency": "urgent"},
                                       {"domain": "budget", "urgency": "standard"}])
    urgent = build.orientation(person, structure, visit_id=str(visit.id))
    standard = build.orientation(person, structure, visit_id=str(visit.id), domain="budget")
    alone = build.orientation(person, structure)
    orientations = sa.table("orientations", sa.column("id", sa.Uuid()),
                            sa.column("urgent", sa.Boolean()),
                            sa.column("acknowledge_due", sa.Date()))
    with app.app_context():
        with db.engine.connect() as conn:
            dues = {r.id: r.acknowledge_due for r in conn.execute(
                sa.select(orientations.c.id, orientations.c.acknowledge_due))}
        try:
            downgrade(revision=BEFORE)
            upgrade(revision=AFTER)
            with db.engine.connect() as conn:
                rows = {r.id: r for r in conn.execute(sa.select(orientations))}
                reviewed = conn.execute(sa.text(
                    "SELECT count(*) FROM break_glass_accesses WHERE reviewed_at IS NOT NULL"
                )).scalar_one()
            assert rows[urgent.id].urgent is True
            assert rows[standard.id].urgent is False and rows[alone.id].urgent is False
            assert {i: r.acknowledge_due for i, r in rows.items()} == dues
            assert reviewed == 0
        finally:
            db.session.remove()
            upgrade()
