"""A redirect carries the person's data only where they agreed (review finding 17): the consent
records whether the person accepts a redirect to another structure (default: no). Without it,
the new structure receives the orientation without anything of the person until the sender
asks them again and confirms; with it, the new structure sees what was agreed."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, login, post_form

NAME, PHONE, MOTIVE = "Philomène", "0677889900", "Menace d'expulsion"


@pytest.fixture
def world(client, build):
    agent = build.user("accueil")
    first = build.structure(domains=["logement"])
    second = build.structure(name="Structure B", domains=["logement"])
    partner_a = build.user("partenaire", structure=str(first.id))
    partner_b = build.user("partenaire", structure=str(second.id))
    person = build.person(agent, first_name=NAME, last_name="Secrète", phone=PHONE)
    visit = build.visit(person, needs=[{"domain": "logement", "urgency": "urgent",
                                        "note": "Loyers impayés"}])
    return type("World", (), dict(
        agent=agent, first=first, second=second, partner_b=partner_b, person=person,
        visit=visit, h={"agent": bearer(api_token(client, agent)),
                        "a": bearer(api_token(client, partner_a)),
                        "b": bearer(api_token(client, partner_b))}))


def _send_and_redirect(client, world, **consent) -> tuple[str, str]:
    sent = client.post("/api/v1/orientations", headers=world.h["agent"], json={
        "person_id": str(world.person.id), "structure_id": str(world.first.id),
        "domain": "logement", "motive": MOTIVE, "visit_id": str(world.visit.id),
        "consent": {"given": True, "shared_fields": ["first_name", "phone", "needs"],
                    "purpose": "Relogement", **consent}})
    assert sent.status_code == 201, sent.get_json()
    old = sent.get_json()["id"]
    new = client.post(f"/api/v1/orientations/{old}/redirect", headers=world.h["a"],
                      json={"structure_id": str(world.second.id), "reason": "Mieux placée"})
    assert new.status_code == 201, new.get_json()
    return old, new.get_json()["id"]


def _messages(app, kind: str) -> list[tuple[str, str]]:
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.recipient, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind))]


def test_without_the_persons_agreement_the_new_structure_sees_nothing_of_them(app, client,
                                                                              world):
    _old, new = _send_and_redirect(client, world)
    answer = client.get(f"/api/v1/orientations/{new}", headers=world.h["b"])
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert NAME not in text and PHONE not in text and MOTIVE not in text
    seen = answer.get_json()
    assert seen["person"] is None and seen["motive"] is None and seen["needs"] == []
    assert seen["consent"]["given"] is False and seen["tombstone"] is False
    assert seen["status"] == "sent" and seen["domain"] == "logement"
    assert client.get(f"/api/v1/persons/{world.person.id}", headers=world.h["b"]).status_code == 404
    login(client, world.partner_b)
    page = html.unescape(client.get(f"/orientations/{new}").get_data(as_text=True))
    assert NAME not in page and MOTIVE not in page
    assert "n'a pas encore accepté" in page
    # The sender is asked to collect the consent again; the message names no one.
    [(recipient, body)] = _messages(app, "orientation.consent_needed")
    assert recipient == world.agent.email and NAME not in body and f"/orientations/{new}" in body


def test_the_sender_confirms_and_the_new_structure_sees_what_was_agreed(client, world):
    _old, new = _send_and_redirect(client, world)
    refused = client.post(f"/api/v1/orientations/{new}/consent", headers=world.h["b"],
                          json={"given": True, "shared_fields": ["first_name"]})
    assert refused.status_code == 403
    not_given = client.post(f"/api/v1/orientations/{new}/consent", headers=world.h["agent"],
                            json={"given": False, "shared_fields": ["first_name"]})
    assert not_given.status_code == 422
    confirmed = client.post(f"/api/v1/orientations/{new}/consent", headers=world.h["agent"],
                            json={"given": True, "shared_fields": ["first_name"],
                                  "purpose": "Relogement"})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["consent"]["given"] is True
    seen = client.get(f"/api/v1/orientations/{new}", headers=world.h["b"]).get_json()
    assert seen["person"]["first_name"] == NAME and "phone" not in seen["person"]
    assert seen["motive"] == MOTIVE and seen["needs"] == []
    again = client.post(f"/api/v1/orientations/{new}/consent", headers=world.h["agent"],
                        json={"given": True, "shared_fields": ["phone"]})
    assert again.status_code == 409
    events = client.get(f"/api/v1/orientations/{new}", headers=world.h["agent"]).get_json()
    assert events["events"][-1]["kind"] == "consent"


def test_an_accepted_redirect_carries_what_was_agreed(client, world):
    _old, new = _send_and_redirect(client, world, accepts_redirect=True)
    seen = client.get(f"/api/v1/orientations/{new}", headers=world.h["b"]).get_json()
    assert seen["consent"]["given"] is True and seen["consent"]["accepts_redirect"] is True
    assert seen["person"]["first_name"] == NAME and seen["person"]["phone"] == PHONE
    assert "last_name" not in seen["person"]
    assert [n["domain"] for n in seen["needs"]] == ["logement"]
    assert client.post(f"/api/v1/orientations/{new}/consent", headers=world.h["agent"],
                       json={"given": True}).status_code == 409


def test_a_coordinators_redirect_follows_the_same_rule(client, world, build):
    sent = client.post("/api/v1/orientations", headers=world.h["agent"], json={
        "person_id": str(world.person.id), "structure_id": str(world.first.id),
        "domain": "logement", "motive": MOTIVE,
        "consent": {"given": True, "shared_fields": ["first_name"]}})
    coordinator = build.user("coordinateur", territory="Valence")
    new = client.post(f"/api/v1/orientations/{sent.get_json()['id']}/redirect",
                      headers=bearer(api_token(client, coordinator)),
                      json={"structure_id": str(world.second.id), "reason": "Mieux placée"})
    assert new.status_code in (200, 201), new.get_json()
    new_id = new.get_json()["id"]
    seen = client.get(f"/api/v1/orientations/{new_id}", headers=world.h["b"]).get_json()
    assert seen["person"] is None and NAME not in str(seen)


def test_the_sender_confirms_from_the_page(client, world):
    _old, new = _send_and_redirect(client, world)
    login(client, world.agent)
    page = html.unescape(client.get(f"/orientations/{new}").get_data(as_text=True))
    assert "Confirmer l'accord de la personne" in page
    answer = post_form(client, f"/orientations/{new}/consent",
                       {"consent_given": "y", "shared_fields": ["first_name", "phone"],
                        "shared_needs": ["logement"]}, token_from=f"/orientations/{new}")
    assert answer.status_code == 302
    page = html.unescape(client.get(f"/orientations/{new}").get_data(as_text=True))
    assert "Confirmer l'accord de la personne" not in page
    seen = client.get(f"/api/v1/orientations/{new}", headers=world.h["b"]).get_json()
    assert seen["person"]["phone"] == PHONE
    assert [n["domain"] for n in seen["needs"]] == ["logement"]


def test_the_send_page_records_whether_a_redirect_is_accepted(client, world):
    login(client, world.agent)
    path = f"/persons/{world.person.id}/orientations/new?visit_id={world.visit.id}"
    page = html.unescape(client.get(path).get_data(as_text=True))
    assert 'name="accepts_redirect"' in page
    assert post_form(client, path, {
        "domain": "logement", "structure_id": str(world.first.id), "motive": MOTIVE,
        "visit_id": str(world.visit.id), "consent_given": "y", "shared_fields": ["first_name"],
        "accepts_redirect": "y"}, token_from=path).status_code == 302
    [row] = client.get("/api/v1/orientations", headers=world.h["agent"]).get_json()
    assert row["consent"]["accepts_redirect"] is True
