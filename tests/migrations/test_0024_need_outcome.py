"""0024 gives each need an outcome from its visit's: answered and pending as they are; a need of
an oriented visit is oriented when an orientation of the visit was sent for its domain, else to
orient (it then waits in the site's queue)."""

from __future__ import annotations

import sqlalchemy as sa

BEFORE, AFTER = "0023_urgency", "0024_need_outcome"


def test_needs_take_their_visit_outcome(app, build):
    from flask_migrate import downgrade, upgrade

    from app.core.db import db

    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    person = build.person(agent)
    answered = build.visit(person, outcome="answered",
                           needs=[{"domain": "sante", "urgency": "standard"}])
    pending = build.visit(person, outcome="pending",
                          needs=[{"domain": "budget", "urgency": "standard"}])
    oriented = build.visit(person, outcome="oriented",
                           needs=[{"domain": "logement", "urgency": "urgent"},
                                  {"domain": "mobilite", "urgency": "standard"}])
    build.orientation(person, structure, visit_id=str(oriented.id), domain="logement")
    needs = sa.table("needs", sa.column("visit_id", sa.Uuid()), sa.column("domain", sa.String()),
                     sa.column("outcome", sa.String()))
    with app.app_context():
        try:
            downgrade(revision=BEFORE)
            upgrade(revision=AFTER)
            with db.engine.connect() as conn:
                found = {(r.visit_id, r.domain): r.outcome
                         for r in conn.execute(sa.select(needs))}
            assert found == {(answered.id, "sante"): "answered",
                             (pending.id, "budget"): "pending",
                             (oriented.id, "logement"): "oriented",
                             (oriented.id, "mobilite"): "to_orient"}
            with db.engine.connect() as conn:  # the check constraint came with the column
                try:
                    conn.execute(sa.update(needs).values(outcome="later"))
                except sa.exc.IntegrityError:
                    conn.rollback()
                else:
                    raise AssertionError("needs.outcome accepted an unknown value")
        finally:
            db.session.remove()
            upgrade()
