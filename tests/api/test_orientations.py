"""Orientation API: consent, scope, every transition allowed and refused, the acknowledgment race,
redirection links, stalled list, bad input."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer

CONSENT = {"given": True, "shared_fields": ["first_name", "last_name", "phone", "needs"],
           "purpose": "Accompagnement logement"}


@pytest.fixture
def world(client, build):
    """An agent with a person and a visit, a partner structure with two referents."""
    agent = build.user("accueil")
    structure = build.structure(domains=["logement", "budget"])
    other_structure = build.structure(domains=["logement"])
    partners = [build.user("partenaire", structure=str(structure.id)) for _ in range(2)]
    outsider = build.user("partenaire", structure=str(other_structure.id))
    person = build.person(agent, first_name="Marie", last_name="Curie", birth_date="1967-11-07",
                          phone="0611223344", address="2 rue Secrète")
    visit = build.visit(person, outcome="pending",
                        needs=[{"domain": "logement", "urgency": "urgent", "note": "Expulsion"}])
    tokens = {"agent": bearer(api_token(client, agent)),
              "p1": bearer(api_token(client, partners[0])),
              "p2": bearer(api_token(client, partners[1])),
              "outsider": bearer(api_token(client, outsider))}
    return type("World", (), dict(agent=agent, structure=structure, other=other_structure,
                                  partners=partners, person=person, visit=visit, h=tokens))


def _send(client, world, **change):
    body = {"person_id": str(world.person.id), "structure_id": str(world.structure.id),
            "domain": "logement", "motive": "Dette de loyer, menace d'expulsion",
            "visit_id": str(world.visit.id), "consent": CONSENT, **change}
    return client.post("/api/v1/orientations", headers=world.h["agent"], json=body)


def test_send_then_partner_sees_only_shared_fields(client, world):
    answer = _send(client, world)
    assert answer.status_code == 201, answer.get_json()
    sent = answer.get_json()
    assert sent["status"] == "sent" and sent["acknowledge_due"] and sent["take_charge_due"]
    seen = client.get(f"/api/v1/orientations/{sent['id']}", headers=world.h["p1"]).get_json()
    assert seen["person"]["first_name"] == "Marie" and seen["person"]["phone"] == "0611223344"
    assert "birth_date" not in seen["person"] and "address" not in seen["person"]
    assert seen["needs"] == [{"domain": "logement", "urgency": "urgent", "note": "Expulsion"}]
    assert seen["events"][0]["to_status"] == "sent"
    person = client.get(f"/api/v1/persons/{world.person.id}", headers=world.h["p1"]).get_json()
    assert person["first_name"] == "Marie" and "address" not in person and person["visits"] == []


def test_sending_marks_the_visit_oriented(client, world):
    _send(client, world)
    file = client.get(f"/api/v1/persons/{world.person.id}", headers=world.h["agent"]).get_json()
    assert file["visits"][0]["outcome"] == "oriented"


def test_other_structures_see_nothing(client, world):
    sent = _send(client, world).get_json()
    for path in (f"/api/v1/orientations/{sent['id']}", f"/api/v1/persons/{world.person.id}"):
        assert client.get(path, headers=world.h["outsider"]).status_code == 404
    assert client.post(f"/api/v1/orientations/{sent['id']}/acknowledge",
                       headers=world.h["outsider"]).status_code == 404
    assert client.get("/api/v1/orientations", headers=world.h["outsider"]).get_json() == []


def test_full_lifecycle(client, world):
    oid = _send(client, world).get_json()["id"]
    ack = client.post(f"/api/v1/orientations/{oid}/acknowledge", headers=world.h["p1"])
    assert ack.status_code == 200 and ack.get_json()["status"] == "acknowledged"
    assert ack.get_json()["referent"]["id"] == str(world.partners[0].id)
    appointment = (date.today() + timedelta(days=3)).isoformat()
    taken = client.post(f"/api/v1/orientations/{oid}/take-charge", headers=world.h["p1"],
                        json={"first_appointment_on": appointment})
    assert taken.status_code == 200 and taken.get_json()["first_appointment_on"] == appointment
    closed = client.post(f"/api/v1/orientations/{oid}/close", headers=world.h["p1"],
                         json={"outcome": "Relogement obtenu"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    events = client.get(f"/api/v1/orientations/{oid}", headers=world.h["agent"]).get_json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "sent"), ("sent", "acknowledged"), ("acknowledged", "in_charge"),
        ("in_charge", "closed")]


ACTIONS = {
    "acknowledge": ("p1", None),
    "take-charge": ("p1", {}),
    "refuse": ("p1", {"reason": "Hors compétence"}),
    "close": ("p1", {"outcome": "Fin"}),
    "cancel": ("agent", {"reason": "Erreur de saisie"}),
}
ALLOWED = {
    "sent": {"acknowledge", "refuse", "cancel", "redirect"},
    "acknowledged": {"take-charge", "refuse", "redirect"},
    "in_charge": {"close"},
    "closed": set(), "refused": set(), "cancelled": set(), "redirected": set(),
}
PATHS = {"acknowledged": ["acknowledge"], "in_charge": ["acknowledge", "take-charge"],
         "closed": ["acknowledge", "take-charge", "close"], "refused": ["refuse"],
         "cancelled": ["cancel"], "sent": []}


def _walk(client, world, oid, steps):
    for step in steps:
        who, body = ACTIONS[step]
        answer = client.post(f"/api/v1/orientations/{oid}/{step}", headers=world.h[who],
                             json=body)
        assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize("state", list(PATHS))
def test_transitions_allowed_and_refused(client, world, state):
    for action, (who, body) in ACTIONS.items():
        oid = _send(client, world).get_json()["id"]
        _walk(client, world, oid, PATHS[state])
        answer = client.post(f"/api/v1/orientations/{oid}/{action}", headers=world.h[who],
                             json=body)
        if action in ALLOWED[state]:
            assert answer.status_code == 200, (state, action, answer.get_json())
        else:
            assert answer.status_code == 409, (state, action, answer.get_json())
            assert answer.get_json()["error"]["code"] == "invalid_transition"


def test_redirect_links_both_orientations(client, world):
    oid = _send(client, world).get_json()["id"]
    same = client.post(f"/api/v1/orientations/{oid}/redirect", headers=world.h["p1"],
                       json={"structure_id": str(world.structure.id), "reason": "x"})
    assert same.status_code == 422 and "structure_id" in same.get_json()["error"]["fields"]
    answer = client.post(f"/api/v1/orientations/{oid}/redirect", headers=world.h["p1"],
                         json={"structure_id": str(world.other.id), "reason": "Mieux placé"})
    assert answer.status_code == 201, answer.get_json()
    new = answer.get_json()
    assert new["redirected_from_id"] == oid and new["status"] == "sent"
    old = client.get(f"/api/v1/orientations/{oid}", headers=world.h["agent"]).get_json()
    assert old["status"] == "redirected" and old["redirected_to_id"] == new["id"]
    assert client.get(f"/api/v1/orientations/{new['id']}",
                      headers=world.h["outsider"]).get_json()["status"] == "sent"
    again = client.post(f"/api/v1/orientations/{oid}/redirect", headers=world.h["p1"],
                        json={"structure_id": str(world.other.id), "reason": "encore"})
    assert again.status_code == 409


def test_roles_that_may_not_act(client, world, build):
    oid = _send(client, world).get_json()["id"]
    assert client.post(f"/api/v1/orientations/{oid}/acknowledge",
                       headers=world.h["agent"]).status_code == 403
    assert client.post(f"/api/v1/orientations/{oid}/cancel", headers=world.h["p1"],
                       json={"reason": "x"}).status_code == 403
    admin = bearer(api_token(client, build.user("admin")))
    assert client.get(f"/api/v1/orientations/{oid}", headers=admin).status_code == 403
    other_agent = bearer(api_token(client, build.user("accueil")))
    assert client.get(f"/api/v1/orientations/{oid}", headers=other_agent).status_code == 404
    assert client.post(f"/api/v1/orientations/{oid}/cancel", headers=other_agent,
                       json={"reason": "x"}).status_code == 404


def test_list_filters(client, world):
    first = _send(client, world).get_json()["id"]
    _send(client, world, structure_id=str(world.other.id))
    client.post(f"/api/v1/orientations/{first}/acknowledge", headers=world.h["p1"])
    mine = client.get("/api/v1/orientations", headers=world.h["agent"])
    assert mine.headers["X-Total-Count"] == "2"
    acknowledged = client.get("/api/v1/orientations?status=acknowledged",
                              headers=world.h["agent"]).get_json()
    assert [o["id"] for o in acknowledged] == [first]
    by_structure = client.get(f"/api/v1/orientations?structure_id={world.other.id}",
                              headers=world.h["agent"]).get_json()
    assert len(by_structure) == 1
    inbox = client.get("/api/v1/orientations", headers=world.h["p1"]).get_json()
    assert [o["id"] for o in inbox] == [first]
    assert client.get("/api/v1/orientations?status=lost",
                      headers=world.h["agent"]).status_code == 422


@pytest.mark.parametrize("change, field", [
    ({"consent": {"given": False, "shared_fields": []}}, "consent.given"),
    ({"consent": {"given": True, "shared_fields": ["religion"]}}, "consent.shared_fields"),
    ({"motive": ""}, "motive"),
    ({"motive": "x" * 6000}, "motive"),
    ({"domain": "astrologie"}, "domain"),
    ({"structure_id": "00000000-0000-4000-8000-000000000000"}, "structure_id"),
    ({"structure_id": "nope"}, "structure_id"),
    ({"domain": "sante"}, "structure_id"),
    ({"visit_id": "00000000-0000-4000-8000-000000000000"}, "visit_id"),
    ({"person_id": "00000000-0000-4000-8000-000000000000"}, "person_id"),
])
def test_bad_orientation_input_writes_nothing(app, client, world, change, field):
    answer = _send(client, world, **change)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]
    from app.core.db import db
    from app.notifications.models import OutboxMessage
    from app.orientation.models import Orientation

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Orientation)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_missing_consent_is_422(client, world):
    body = {"person_id": str(world.person.id), "structure_id": str(world.structure.id),
            "domain": "logement", "motive": "x"}
    answer = client.post("/api/v1/orientations", headers=world.h["agent"], json=body)
    assert answer.status_code == 422 and "consent" in answer.get_json()["error"]["fields"]


def test_domain_not_covered_can_be_overridden_with_a_reason(client, world):
    answer = _send(client, world, domain="sante", coverage_override="Seul partenaire disponible")
    assert answer.status_code == 201


def test_refusal_needs_a_reason_and_take_charge_date_cannot_be_past(client, world):
    oid = _send(client, world).get_json()["id"]
    assert client.post(f"/api/v1/orientations/{oid}/refuse", headers=world.h["p1"],
                       json={"reason": ""}).status_code == 422
    assert client.post(f"/api/v1/orientations/{oid}/refuse", headers=world.h["p1"],
                       json={}).status_code == 422
    client.post(f"/api/v1/orientations/{oid}/acknowledge", headers=world.h["p1"])
    past = (date.today() - timedelta(days=1)).isoformat()
    answer = client.post(f"/api/v1/orientations/{oid}/take-charge", headers=world.h["p1"],
                         json={"first_appointment_on": past})
    assert answer.status_code == 422
    assert "first_appointment_on" in answer.get_json()["error"]["fields"]
    state = client.get(f"/api/v1/orientations/{oid}", headers=world.h["p1"]).get_json()
    assert state["status"] == "acknowledged"


def _race(app, world, threads: int) -> list[int]:
    oid = None
    with app.test_client() as client:
        oid = _send(client, world).get_json()["id"]
    referents = [world.partners[i % 2] for i in range(threads)]
    headers = []
    with app.test_client() as client:
        for partner in referents:
            headers.append(bearer(api_token(client, partner)))
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def go(h):
        with app.test_client() as client:
            barrier.wait()
            statuses.append(client.post(f"/api/v1/orientations/{oid}/acknowledge",
                                        headers=h).status_code)

    workers = [threading.Thread(target=go, args=(h,)) for h in headers]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sorted(statuses)


@pytest.mark.postgres_only
def test_sixteen_referents_racing_exactly_one_wins(app, world):
    assert _race(app, world, 16) == [200] + [409] * 15


def test_two_referents_racing_exactly_one_wins(app, world):
    assert _race(app, world, 2) == [200, 409]


def test_stalled_for_coordinators(app, client, world, build):
    oid = _send(client, world).get_json()["id"]
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        row = db.session.get(Orientation, uuid.UUID(oid))
        row.acknowledge_due = date.today() - timedelta(days=10)
        db.session.commit()
    coordinator = bearer(api_token(client, build.user("coordinateur", territory="Valence")))
    found = client.get("/api/v1/orientations/stalled", headers=coordinator).get_json()
    assert [s["id"] for s in found] == [oid]
    stall = found[0]
    assert stall["reason"] == "acknowledgment_overdue" and stall["overdue_working_days"] >= 5
    assert stall["structure"]["name"] == world.structure.name and "first_name" not in stall["person"]
    detail = client.get(f"/api/v1/orientations/{oid}", headers=coordinator).get_json()
    assert detail["motive"] is None and "first_name" not in detail["person"]
    elsewhere = bearer(api_token(client, build.user("coordinateur", territory="Diois")))
    assert client.get("/api/v1/orientations/stalled", headers=elsewhere).get_json() == []
    assert client.get("/api/v1/orientations/stalled?territory=Valence",
                      headers=elsewhere).status_code == 403
    assert client.get("/api/v1/orientations/stalled", headers=world.h["p1"]).status_code == 404
    assert client.post(f"/api/v1/orientations/{oid}/remind", headers=coordinator).status_code == 200


def test_directory_lists_referents_and_delays(client, world, build):
    structures = client.get("/api/v1/structures?domain=budget", headers=world.h["agent"]).get_json()
    mine = next(s for s in structures if s["id"] == str(world.structure.id))
    assert {r["id"] for r in mine["referents"]} == {str(p.id) for p in world.partners}
    assert mine["ack_delay"] == 2 and mine["take_charge_delay"] == 22
