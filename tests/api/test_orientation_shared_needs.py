"""The person chooses, need by need, what a partner sees (review finding 15): by default only
the need of the oriented domain; a housing partner never reads "Violences (Urgent)" unless the
person agreed to it."""

from __future__ import annotations

import html
import re

import pytest

from tests.helpers import api_token, bearer, csrf_token, login, post_form

HOUSING_NOTE, VIOLENCE_NOTE = "Dette de loyer", "Violences conjugales depuis mars"


@pytest.fixture
def world(client, build):
    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent)
    visit = build.visit(person, needs=[
        {"domain": "violences", "urgency": "urgent", "note": VIOLENCE_NOTE},
        {"domain": "logement", "urgency": "standard", "note": HOUSING_NOTE}])
    return type("World", (), dict(
        agent=agent, structure=structure, partner=partner, person=person, visit=visit,
        h={"agent": bearer(api_token(client, agent)),
           "partner": bearer(api_token(client, partner))}))


def _send(client, world, **consent):
    body = {"person_id": str(world.person.id), "structure_id": str(world.structure.id),
            "domain": "logement", "motive": "Accompagnement logement",
            "visit_id": str(world.visit.id),
            "consent": {"given": True, "shared_fields": ["first_name", "needs"], **consent}}
    return client.post("/api/v1/orientations", headers=world.h["agent"], json=body)


def _partner_view(client, world, oid) -> dict:
    answer = client.get(f"/api/v1/orientations/{oid}", headers=world.h["partner"])
    assert answer.status_code == 200
    return answer.get_json()


def test_by_default_only_the_need_of_the_oriented_domain_is_shared(client, world):
    sent = _send(client, world)
    assert sent.status_code == 201, sent.get_json()
    seen = _partner_view(client, world, sent.get_json()["id"])
    assert seen["needs"] == [{"domain": "logement", "urgency": "standard",
                              "note": HOUSING_NOTE}]
    assert VIOLENCE_NOTE not in str(seen) and "violences" not in str(seen["needs"])
    assert seen["consent"]["shared_needs"] == ["logement"]
    # The partner's list shows the same.
    [row] = client.get("/api/v1/orientations", headers=world.h["partner"]).get_json()
    assert [n["domain"] for n in row["needs"]] == ["logement"]
    # The sender, who holds the whole file, still sees every need.
    mine = client.get(f"/api/v1/orientations/{seen['id']}", headers=world.h["agent"]).get_json()
    assert {n["domain"] for n in mine["needs"]} == {"logement", "violences"}


def test_the_person_may_share_other_needs_one_by_one(client, world):
    sent = _send(client, world, shared_needs=["violences", "logement"])
    assert sent.status_code == 201, sent.get_json()
    seen = _partner_view(client, world, sent.get_json()["id"])
    assert [n["domain"] for n in seen["needs"]] == ["violences", "logement"]
    only_other = _send(client, world, shared_needs=["violences"])
    seen = _partner_view(client, world, only_other.get_json()["id"])
    assert [n["domain"] for n in seen["needs"]] == ["violences"]


def test_sharing_no_need_shares_none(client, world):
    sent = _send(client, world, shared_needs=[])
    seen = _partner_view(client, world, sent.get_json()["id"])
    assert seen["needs"] == [] and "needs" not in seen["consent"]["shared_fields"]
    without_flag = client.post("/api/v1/orientations", headers=world.h["agent"], json={
        "person_id": str(world.person.id), "structure_id": str(world.structure.id),
        "domain": "logement", "motive": "M", "visit_id": str(world.visit.id),
        "consent": {"given": True, "shared_fields": ["first_name"]}})
    assert _partner_view(client, world, without_flag.get_json()["id"])["needs"] == []


def test_choosing_a_need_shares_needs_even_without_the_flag(client, world):
    sent = client.post("/api/v1/orientations", headers=world.h["agent"], json={
        "person_id": str(world.person.id), "structure_id": str(world.structure.id),
        "domain": "logement", "motive": "M", "visit_id": str(world.visit.id),
        "consent": {"given": True, "shared_fields": [], "shared_needs": ["logement"]}})
    seen = _partner_view(client, world, sent.get_json()["id"])
    assert [n["domain"] for n in seen["needs"]] == ["logement"]
    assert seen["consent"]["shared_fields"] == ["needs"]


@pytest.mark.parametrize("needs, status", [(["budget"], 422), (["nonsense"], 422),
                                           ("logement", 400), ([1], 400)])
def test_a_need_the_visit_does_not_have_is_refused(app, client, world, needs, status):
    """A need the visit lacks is a wrong value (422); a value of the wrong type, a wrong
    shape (400, as everywhere in the API)."""
    answer = _send(client, world, shared_needs=needs)
    assert answer.status_code == status
    fields = answer.get_json()["error"]["fields"]
    assert any(name.startswith("consent.shared_needs") for name in fields), fields
    assert client.get("/api/v1/orientations", headers=world.h["agent"]).get_json() == []


def test_the_page_offers_each_need_and_checks_the_oriented_one(app, client, world):
    login(client, world.agent)
    path = f"/persons/{world.person.id}/orientations/new?visit_id={world.visit.id}&domain=logement"
    page = html.unescape(client.get(path).get_data(as_text=True))
    boxes = {value: tag for tag, value in re.findall(
        r'<input([^>]*name="shared_needs"[^>]*value="(\w+)"[^>]*)>', page)}
    assert set(boxes) == {"logement", "violences"}
    assert "checked" in boxes["logement"] and "checked" not in boxes["violences"]
    sent = client.post(path, data={
        "csrf_token": csrf_token(client, path), "domain": "logement",
        "structure_id": str(world.structure.id), "motive": "Accompagnement logement",
        "visit_id": str(world.visit.id), "consent_given": "y",
        "shared_fields": ["first_name"], "shared_needs": ["logement"]})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    [row] = client.get("/api/v1/orientations", headers=world.h["partner"]).get_json()
    assert [n["domain"] for n in row["needs"]] == ["logement"]
    post_form(client, "/logout")
    login(client, world.partner)
    shown = html.unescape(client.get(f"/orientations/{row['id']}").get_data(as_text=True))
    assert HOUSING_NOTE in shown and VIOLENCE_NOTE not in shown and "Violences" not in shown


def test_coordinators_are_not_told_which_needs_were_shared(client, world, build):
    sent = _send(client, world, shared_needs=["violences", "logement"])
    coordinator = build.user("coordinateur", territory="Valence")
    seen = client.get(f"/api/v1/orientations/{sent.get_json()['id']}",
                      headers=bearer(api_token(client, coordinator))).get_json()
    assert seen["needs"] == [] and seen["consent"]["shared_needs"] == []
    assert "violences" not in str(seen)
