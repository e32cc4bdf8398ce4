"""How many SQL statements each desk operation runs (issue 21): a cap per operation, per dialect.

The figures are those of ``make profile`` (``bench/profile.py --statements OP`` lists them) on a
small world like the bench's: a reception agent searching, opening a file, recording a visit and
sending an orientation; the partner opening it and listing their inbox; ``GET /me``. A change
that adds a statement to one of them fails here: it must then say why in BENCHMARKS.md ("The cost
of one request") and raise the cap. PostgreSQL runs more than SQLite where it takes advisory
locks (the person-search pace, the audit chain), which SQLite replaces by a process lock.

Each operation is run once before it is counted (what the first request of a token loads once).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer
from tests.views.test_query_counts import counting

# operation: (PostgreSQL, SQLite). Before issue 21 on PostgreSQL: 15 (search, here), 12, 8,
# 17, 9, 7, 1; see BENCHMARKS.md. The search here finds one person: after the exact names it
# also asks the phonetic tier (a statement); the one-letter-slip tier runs only when neither
# found anyone.
CAPS = {
    "search": (11, 10),
    "open_file": (8, 8),
    "record_visit": (6, 6),
    "send_orientation": (10, 10),
    "orientation_detail": (5, 5),
    "partner_inbox": (4, 4),
    "me": (1, 1),
}


@pytest.fixture
def desk(app, client, build):
    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Camille", last_name="Martin")
    build.visit(person)
    build.visit(person)
    orientation = build.orientation(person, structure)
    build.orientation(person, structure)
    agent_h = bearer(api_token(client, agent))
    partner_h = bearer(api_token(client, partner))
    send = {"person_id": str(person.id), "structure_id": str(structure.id), "domain": "logement",
            "motive": "Orientation de test", "coverage_override": "test",
            "consent": {"given": True, "shared_fields": ["first_name", "last_name"]}}
    visit = {"channel": "phone", "outcome": "pending", "summary": "Appel de suivi",
             "needs": [{"domain": "logement", "urgency": "standard"}]}
    return {
        "search": lambda: client.get("/api/v1/persons", query_string={"q": "Camille Martin"},
                                     headers=agent_h),
        "open_file": lambda: client.get(f"/api/v1/persons/{person.id}", headers=agent_h),
        "record_visit": lambda: client.post(f"/api/v1/persons/{person.id}/visits", json=visit,
                                            headers=agent_h),
        "send_orientation": lambda: client.post("/api/v1/orientations", json=send,
                                                headers=agent_h),
        "orientation_detail": lambda: client.get(f"/api/v1/orientations/{orientation.id}",
                                                 headers=partner_h),
        "partner_inbox": lambda: client.get("/api/v1/orientations",
                                            query_string={"status": "sent"}, headers=partner_h),
        "me": lambda: client.get("/api/v1/me", headers=agent_h),
    }


@pytest.mark.parametrize("operation", list(CAPS))
def test_each_desk_operation_keeps_to_its_statements(app, desk, operation):
    from app.core.db import db

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    run = desk[operation]
    first = run()
    assert first.status_code < 300, first.get_data(as_text=True)[:300]
    with counting(app) as statements:
        answer = run()
    assert answer.status_code < 300, answer.get_data(as_text=True)[:300]
    if operation == "search":
        assert answer.get_json(), "the search found nobody: its count would not be the desk's"
    cap = CAPS[operation][0 if postgres else 1]
    listed = "\n".join(f"{n}. {' '.join(s.split())[:160]}" for n, s in enumerate(statements, 1))
    assert len(statements) <= cap, f"{operation}: {len(statements)} statements, cap {cap}:\n{listed}"
    # Exact, so that a statement removed is seen too (and the cap lowered with it).
    assert len(statements) == cap, f"{operation}: {len(statements)} statements, now below {cap}"


def test_the_audit_append_stays_in_the_request_transaction(app, desk):
    """What the caps rest on: the audit entry of a counted request is written, chained."""
    from app.core.audit import AuditEntry, verify_chain
    from app.core.db import db

    desk["open_file"]()
    with app.app_context():
        last = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last.action == "person.read"
        verify_chain(db.session)
