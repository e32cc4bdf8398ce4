"""Accueil API: persons, search, visits, scope rules, break the glass, access log, export, and
every bad input of the issue (nothing written)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer


@pytest.fixture
def agent(build):
    return build.user("accueil")


@pytest.fixture
def h(client, agent):
    return bearer(api_token(client, agent))


def _count(app, model_name: str) -> int:
    from app.accueil import models
    from app.core.db import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(getattr(models, model_name)))


def test_create_and_read_a_person(client, h):
    answer = client.post("/api/v1/persons", headers=h, json={
        "first_name": "Marie", "last_name": "Lefèvre", "birth_date": "1980-02-03",
        "phone": "06 12 34 56 78", "email": "marie@example.org", "address": "1 rue de la Paix"})
    assert answer.status_code == 201, answer.get_json()
    person = answer.get_json()
    assert person["reception_number"].startswith("A-") and person["first_name"] == "Marie"
    again = client.get(f"/api/v1/persons/{person['id']}", headers=h).get_json()
    assert again["last_name"] == "Lefèvre" and again["birth_date"] == "1980-02-03"
    assert again["visits"] == [] and again["orientations"] == []


def test_a_persons_orientations_are_those_the_caller_may_see(client, build, agent, h):
    person = build.person(agent, first_name="Inès", last_name="Garnier", phone="0611223344",
                          birth_date="1985-04-05")
    ours, theirs = build.structure(name="CCAS Ours"), build.structure(name="CAF Theirs")
    to_ours = build.orientation(person, ours)
    to_theirs = build.orientation(person, theirs)
    url = f"/api/v1/persons/{person.id}"
    # The sender side sees every orientation of the file, as the orientation API shows them.
    sent = client.get(url, headers=h).get_json()["orientations"]
    assert {o["id"] for o in sent} == {str(to_ours.id), str(to_theirs.id)}
    first = next(o for o in sent if o["id"] == str(to_ours.id))
    assert first["structure"]["name"] == "CCAS Ours" and first["status"] == "sent"
    assert first["motive"].startswith("Menace") and first["acknowledge_due"][4] == "-"
    assert "events" not in first
    # A partner sees the orientations addressed to their structure only, and only what was shared.
    partner = bearer(api_token(client, build.user("partenaire", structure=str(ours.id))))
    seen = client.get(url, headers=partner).get_json()
    assert [o["id"] for o in seen["orientations"]] == [str(to_ours.id)]
    assert "birth_date" not in seen["orientations"][0]["person"]
    assert "birth_date" not in seen and seen["phone"] == "0611223344"
    # A partner of another structure does not reach the person at all.
    stranger = bearer(api_token(client, build.user("partenaire")))
    assert client.get(url, headers=stranger).status_code == 404


def test_a_partners_read_of_an_orientation_is_in_the_persons_access_log(client, build, agent, h):
    person = build.person(agent)
    structure = build.structure()
    orientation = build.orientation(person, structure)
    partner = build.user("partenaire", structure=str(structure.id))
    token = bearer(api_token(client, partner))
    assert client.get(f"/api/v1/orientations/{orientation.id}", headers=token).status_code == 200
    log = client.get(f"/api/v1/persons/{person.id}/access-log", headers=h).get_json()
    reads = [row for row in log if row["action"] == "orientation.read"]
    assert reads and reads[0]["user"] == partner.display_name
    assert "orientation.send" in [row["action"] for row in log]


def test_search_hits_outside_the_callers_scope_hide_number_and_pseudonym(client, build, h):
    elsewhere = build.user("accueil")
    build.person(elsewhere, first_name="Léa", last_name="Moreau", birth_date="1999-09-09")
    build.person(elsewhere, anonymous=True, pseudonym="Moreau")
    ours = client.post("/api/v1/persons", headers=h,
                       json={"anonymous": True, "pseudonym": "Moreau"}).get_json()
    hits = client.get("/api/v1/persons?q=moreau", headers=h).get_json()
    hidden = [x for x in hits if not x["accessible"]]
    assert len(hidden) == 2
    assert all(x["reception_number"] is None and x["pseudonym"] is None for x in hidden)
    mine = next(x for x in hits if x["id"] == ours["id"])
    assert mine["reception_number"] == ours["reception_number"] and mine["pseudonym"] == "Moreau"


def test_search_keeps_the_exact_match_beyond_the_cap_and_says_it_was_cut(
        client, build, agent, h, monkeypatch):
    from app.accueil import search

    monkeypatch.setattr(search, "MAX_CANDIDATES", 5)
    for _ in range(7):  # sound like "Lefèvre", created first
        build.person(agent, first_name="Marie", last_name="Lefebvre")
    exact = build.person(agent, first_name="Marie", last_name="Lefèvre")
    answer = client.get("/api/v1/persons?q=lefevre&per_page=100", headers=h)
    hits = answer.get_json()
    assert hits[0]["id"] == str(exact.id) and hits[0]["match"] == "exact"
    assert len(hits) == 5 and answer.headers["X-Search-Truncated"] == "true"
    few = client.get("/api/v1/persons?q=marie+lefevre&birth_date=1980-01-01", headers=h)
    assert few.headers["X-Search-Truncated"] == "false"


def test_reception_numbers_are_sequential_per_year(client, h):
    numbers = [client.post("/api/v1/persons", headers=h, json={"anonymous": True}).get_json()
               ["reception_number"] for _ in range(3)]
    year = numbers[0].split("-")[1]
    assert numbers == [f"A-{year}-{i:06d}" for i in (1, 2, 3)]


def test_misspelled_name_finds_the_person_marked_approximate(client, h):
    client.post("/api/v1/persons", headers=h, json={"first_name": "Marie", "last_name": "LEFEBVRE"})
    client.post("/api/v1/persons", headers=h, json={"first_name": "Marie", "last_name": "Lefèvre"})
    client.post("/api/v1/persons", headers=h, json={"first_name": "Paul", "last_name": "Martin"})
    hits = client.get("/api/v1/persons?q=lefevre marie", headers=h).get_json()
    assert [(x["last_name"], x["match"]) for x in hits] == [("Lefèvre", "exact"),
                                                            ("LEFEBVRE", "approximate")]
    assert client.get("/api/v1/persons?q=Katherine", headers=h).get_json() == []


def test_search_by_birth_date_narrows(client, h):
    for birth in ("1980-02-03", "1990-05-06"):
        client.post("/api/v1/persons", headers=h,
                    json={"first_name": "Jean", "last_name": "Dupont", "birth_date": birth})
    hits = client.get("/api/v1/persons?q=dupond&birth_date=1990-05-06", headers=h).get_json()
    assert [x["birth_date"] for x in hits] == ["1990-05-06"]


def test_search_is_paginated(client, h):
    for _ in range(5):
        client.post("/api/v1/persons", headers=h, json={"first_name": "Ana", "last_name": "Silva"})
    page = client.get("/api/v1/persons?q=silva&per_page=2&page=3", headers=h)
    assert page.headers["X-Total-Count"] == "5" and len(page.get_json()) == 1


def test_anonymous_person_found_by_reception_number(client, h):
    person = client.post("/api/v1/persons", headers=h,
                         json={"anonymous": True, "pseudonym": "Jo"}).get_json()
    assert person["anonymous"] is True and person["first_name"] is None
    number = person["reception_number"]
    for query in (number, number.lower(), number.replace("-", "")):
        hits = client.get(f"/api/v1/persons?q={query}", headers=h).get_json()
        assert [x["id"] for x in hits] == [person["id"]], query


def test_duplicates_are_reported(client, h):
    first = client.post("/api/v1/persons", headers=h, json={
        "first_name": "Mohamed", "last_name": "Nguyen", "birth_date": "1975-01-01"}).get_json()
    second = client.post("/api/v1/persons", headers=h, json={
        "first_name": "Mouhamed", "last_name": "N'Guyen", "birth_date": "1975-01-01"}).get_json()
    assert [d["id"] for d in second["possible_duplicates"]] == [first["id"]]
    third = client.post("/api/v1/persons", headers=h, json={
        "first_name": "Mohamed", "last_name": "Nguyen", "birth_date": "1975-01-02"}).get_json()
    assert third["possible_duplicates"] == []


def test_visit_with_two_needs(app, client, h, agent):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "A", "last_name": "B"}).get_json()
    answer = client.post(f"/api/v1/persons/{person['id']}/visits", headers=h, json={
        "site_id": str(agent.site_id), "channel": "in_person", "summary": "Dettes de loyer",
        "needs": [{"domain": "logement", "urgency": "urgent"},
                  {"domain": "budget", "urgency": "standard", "note": "EDF"}],
        "outcome": "oriented"})
    assert answer.status_code == 201, answer.get_json()
    visit = answer.get_json()
    assert [n["domain"] for n in visit["needs"]] == ["logement", "budget"]
    assert visit["site_id"] == str(agent.site_id) and visit["agent_id"] == str(agent.id)
    file = client.get(f"/api/v1/persons/{person['id']}", headers=h).get_json()
    assert file["visits"][0]["summary"] == "Dettes de loyer"


def test_patch_keeps_history(app, client, h):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "Jean", "last_name": "Dupond"}).get_json()
    answer = client.patch(f"/api/v1/persons/{person['id']}", headers=h,
                          json={"last_name": "Dupont", "phone": "0102030405"})
    assert answer.status_code == 200 and answer.get_json()["last_name"] == "Dupont"
    export = client.get(f"/api/v1/persons/{person['id']}/export", headers=h).get_json()
    assert export["identity_history"][0]["previous"] == {"last_name": "Dupond", "phone": None}
    actions = [row["action"] for row in
               client.get(f"/api/v1/persons/{person['id']}/access-log", headers=h).get_json()]
    assert "person.update" in actions and "person.export" in actions
    assert client.get("/api/v1/persons?q=dupont", headers=h).get_json()[0]["match"] == "exact"


# -- scope ------------------------------------------------------------------------------------
def test_agent_of_another_site_gets_404_until_breaking_the_glass(client, build, h):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "Léa", "last_name": "Moreau",
                               "birth_date": "1999-09-09"}).get_json()
    other = bearer(api_token(client, build.user("accueil")))
    url = f"/api/v1/persons/{person['id']}"
    for path in (url, url + "/access-log", url + "/export"):
        assert client.get(path, headers=other).status_code == 404
    assert client.patch(url, headers=other, json={"phone": "0102030405"}).status_code == 404
    assert client.post(url + "/visits", headers=other, json={
        "channel": "phone", "outcome": "pending", "needs": []}).status_code == 404
    hit = client.get("/api/v1/persons?q=moreau lea", headers=other).get_json()[0]
    assert hit["accessible"] is False and hit["birth_date"] is None and hit["birth_year"] == 1999
    short = client.post(url + "/break-glass", headers=other, json={"reason": "because"})
    assert short.status_code == 422
    grant = client.post(url + "/break-glass", headers=other,
                        json={"reason": "La personne est au guichet, son dossier est à Romans"})
    assert grant.status_code == 201
    assert client.get(url, headers=other).status_code == 200
    # Breaking the glass does not make the agent one of the person's sites: no access log.
    assert client.get(url + "/access-log", headers=other).status_code == 404
    log = client.get(url + "/access-log", headers=h).get_json()
    assert "person.break_glass" in [row["action"] for row in log]


def test_a_visit_at_a_site_opens_the_file_to_its_agents(client, build, h, agent):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "A", "last_name": "B"}).get_json()
    colleague = bearer(api_token(client, build.user("accueil", site=str(agent.site_id))))
    assert client.get(f"/api/v1/persons/{person['id']}", headers=colleague).status_code == 200


@pytest.mark.parametrize("role", ["partenaire", "referent_parcours", "admin", "coordinateur"])
def test_other_roles_do_not_reach_persons(client, build, h, role):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "A", "last_name": "B"}).get_json()
    token = bearer(api_token(client, build.user(role)))
    status = client.get(f"/api/v1/persons/{person['id']}", headers=token).status_code
    assert status == (403 if role == "admin" else 404)
    assert client.post("/api/v1/persons", headers=token,
                       json={"first_name": "A", "last_name": "B"}).status_code == 403
    search = client.get("/api/v1/persons?q=b", headers=token)
    # the référent searches only their scope (issue 24, item 11): this person is not in it
    assert search.status_code == (200 if role in ("coordinateur", "referent_parcours") else 403)
    if role == "referent_parcours":
        assert search.get_json() == [] and search.headers["X-Total-Count"] == "0"


def test_charter_gate(client, build):
    token = bearer(api_token(client, build.user("accueil", charter=False)))
    answer = client.post("/api/v1/persons", headers=token, json={"anonymous": True})
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "charter_not_accepted"
    assert client.get("/api/v1/persons?q=x", headers=token).status_code == 403
    assert client.get("/api/v1/me", headers=token).status_code == 200
    charter = client.get("/api/v1/charter", headers=token).get_json()
    assert charter["accepted"] is False and charter["version"] == 1
    accepted = client.post("/api/v1/charter/accept", headers=token, json={"version": 1})
    assert accepted.status_code == 200 and accepted.get_json()["accepted_at"]
    assert client.post("/api/v1/persons", headers=token, json={"anonymous": True}).status_code == 201


def test_a_new_charter_version_asks_again(app, client, build):
    from app.charter.services import publish
    from app.core.db import db

    token = bearer(api_token(client, build.user("accueil")))
    assert client.post("/api/v1/persons", headers=token, json={"anonymous": True}).status_code == 201
    with app.app_context():
        publish("# Charte v2\n\nNouvelle règle.")
        db.session.commit()
    answer = client.post("/api/v1/persons", headers=token, json={"anonymous": True})
    assert answer.get_json()["error"]["code"] == "charter_not_accepted"
    assert client.post("/api/v1/charter/accept", headers=token, json={"version": 1}).status_code == 409
    assert client.post("/api/v1/charter/accept", headers=token, json={"version": 2}).status_code == 200


# -- bad input, nothing written ---------------------------------------------------------------
@pytest.mark.parametrize("body, field", [
    ({"first_name": "", "last_name": "B"}, "first_name"),
    ({"first_name": "A"}, "last_name"),
    ({"first_name": "A", "last_name": "B", "birth_date": "2999-01-01"}, "birth_date"),
    ({"first_name": "A", "last_name": "B", "birth_date": "1899-12-31"}, "birth_date"),
    ({"first_name": "A", "last_name": "B", "birth_date": "1980-02-31"}, "birth_date"),
    ({"first_name": "A\x00", "last_name": "B"}, "first_name"),
    ({"first_name": "A", "last_name": "B\x1b[31m"}, "last_name"),
    ({"first_name": "A", "last_name": "B" * 101}, "last_name"),
    ({"first_name": "A", "last_name": "B", "email": "not-an-address"}, "email"),
    ({"first_name": "A", "last_name": "B", "phone": "call me maybe"}, "phone"),
])
def test_bad_person_input_is_422_and_writes_nothing(app, client, h, body, field):
    answer = client.post("/api/v1/persons", headers=h, json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]
    assert _count(app, "Person") == 0


@pytest.mark.parametrize("change, field, status", [
    ({"needs": [{"domain": "astrologie", "urgency": "urgent"}]}, "needs.0.domain", 422),
    ({"channel": "pigeon"}, "channel", 422),
    ({"needs": [{"domain": "logement", "urgency": "apocalyptic"}]}, "needs.0.urgency", 422),
    ({"outcome": "oriented", "needs": []}, "needs", 422),
    ({"outcome": "maybe"}, "outcome", 422),
    ({"summary": "x" * 100_000}, "summary", 422),
    ({"summary": "bell\x07"}, "summary", 422),
    ({"site_id": "00000000-0000-4000-8000-000000000000"}, "site_id", 422),
    ({"site_id": "not-a-uuid"}, "site_id", 422),
    ({"needs": "logement"}, "needs", 400),
    ({"channel": 3}, "channel", 400),
    ({"needs": [{"domain": "logement"}, {"domain": "logement"}]}, "needs.1.domain", 422),
])
def test_bad_visit_input_writes_nothing(app, client, build, h, change, field, status):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "A", "last_name": "B"}).get_json()
    body = {"channel": "phone", "outcome": "pending",
            "needs": [{"domain": "logement", "urgency": "urgent"}], **change}
    answer = client.post(f"/api/v1/persons/{person['id']}/visits", headers=h, json=body)
    assert answer.status_code == status, answer.get_json()
    assert field in answer.get_json()["error"]["fields"], answer.get_json()
    assert _count(app, "Visit") == 0 and _count(app, "Need") == 0


def test_visit_on_another_sites_behalf_is_refused(app, client, build, h):
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "A", "last_name": "B"}).get_json()
    elsewhere = build.site()
    answer = client.post(f"/api/v1/persons/{person['id']}/visits", headers=h, json={
        "site_id": str(elsewhere.id), "channel": "phone", "outcome": "pending", "needs": []})
    assert answer.status_code == 422 and "site_id" in answer.get_json()["error"]["fields"]
    assert _count(app, "Visit") == 0


def test_unknown_person_is_404(client, h):
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/api/v1/persons/{missing}", headers=h).status_code == 404
    assert client.get("/api/v1/persons/not-a-uuid", headers=h).status_code == 404


def test_search_needs_a_query(client, h):
    assert client.get("/api/v1/persons", headers=h).status_code == 422
    assert client.get("/api/v1/persons?q=x&birth_date=yesterday", headers=h).status_code == 422


def test_visit_outcome_per_need_and_the_visit_outcome_derived(client, h, agent):
    """Issue 24: each need has its outcome; the visit's (API.md) is derived from them, and a
    client sending only the visit's outcome still gets it back, each need taking it."""
    person = client.post("/api/v1/persons", headers=h,
                         json={"first_name": "C", "last_name": "D"}).get_json()
    url = f"/api/v1/persons/{person['id']}/visits"
    answer = client.post(url, headers=h, json={
        "channel": "in_person", "answered_actions": ["information"],
        "needs": [{"domain": "sante", "outcome": "answered"},
                  {"domain": "logement", "urgency": "urgent", "outcome": "to_orient"}]})
    assert answer.status_code == 201, answer.get_json()
    visit = answer.get_json()
    assert visit["outcome"] == "oriented" and visit["answered_actions"] == ["information"]
    assert [(n["domain"], n["outcome"]) for n in visit["needs"]] == [
        ("sante", "answered"), ("logement", "to_orient")]
    legacy = client.post(url, headers=h, json={
        "channel": "phone", "outcome": "pending", "needs": [{"domain": "budget"}]}).get_json()
    assert legacy["outcome"] == "pending" and legacy["needs"][0]["outcome"] == "pending"
    # An outcome for some needs only, or an unknown one: 422, field by field.
    half = client.post(url, headers=h, json={
        "channel": "phone", "outcome": "answered",
        "needs": [{"domain": "budget", "outcome": "answered"}, {"domain": "sante"}]})
    assert half.status_code == 422 and "needs" in half.get_json()["error"]["fields"]
    unknown = client.post(url, headers=h, json={
        "channel": "phone", "needs": [{"domain": "budget", "outcome": "later"}]})
    assert unknown.status_code == 422
    assert "needs.0.outcome" in unknown.get_json()["error"]["fields"]
    # Without a visit outcome nor one per need, the visit's outcome is still required.
    missing = client.post(url, headers=h, json={"channel": "phone", "needs": []})
    assert missing.status_code == 422 and "outcome" in missing.get_json()["error"]["fields"]
