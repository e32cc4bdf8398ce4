"""Parcours: opening with consent and members, journal visibility, handover, withdrawal,
immutability, silent detection, bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer


@pytest.fixture
def team(client, build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    caf, ccas = build.structure(name="CAF P"), build.structure(name="CCAS P")
    members = [build.user("partenaire", structure=str(caf.id)),
               build.user("partenaire", structure=str(caf.id)),
               build.user("partenaire", structure=str(ccas.id))]
    outsider = build.user("partenaire", structure=str(ccas.id))
    person = build.person(agent)
    build.orientation(person, caf)
    build.orientation(person, ccas)
    tokens = {name: bearer(api_token(client, user)) for name, user in
              {"agent": agent, "referent": referent, "m0": members[0], "m1": members[1],
               "m2": members[2], "outsider": outsider}.items()}
    return type("Team", (), dict(agent=agent, referent=referent, members=members, person=person,
                                 outsider=outsider, h=tokens, caf=caf, ccas=ccas))


def _open(client, team, **change):
    body = {"referent_id": str(team.referent.id),
            "member_ids": [str(m.id) for m in team.members],
            "goals": "Retrouver un logement", "consent": {"given": True}, **change}
    return client.post(f"/api/v1/persons/{team.person.id}/parcours", headers=team.h["referent"],
                       json=body)


def test_open_with_three_members_of_two_structures(client, team):
    answer = _open(client, team)
    assert answer.status_code == 201, answer.get_json()
    parcours = answer.get_json()
    assert parcours["referent"]["id"] == str(team.referent.id) and parcours["status"] == "open"
    assert sorted(m["user_id"] for m in parcours["members"]) == sorted(str(m.id) for m in team.members)
    assert {m["structure"] for m in parcours["members"]} == {"CAF P", "CCAS P"}
    seen = client.get(f"/api/v1/parcours/{parcours['id']}", headers=team.h["m2"])
    assert seen.status_code == 200


def test_journal_visibility(client, team):
    pid = _open(client, team).get_json()["id"]
    meeting = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
        "kind": "meeting", "content": "Synthèse avec la CAF et le CCAS", "visibility": "members",
        "person_present": True})
    note = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
        "kind": "note", "content": "Signaux de violences à surveiller", "visibility": "referent"})
    assert meeting.status_code == 201 and note.status_code == 201, note.get_json()
    for member in ("m0", "m2"):
        entries = client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h[member]).get_json()
        assert [e["content"] for e in entries] == ["Synthèse avec la CAF et le CCAS"]
    everything = client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"]).get_json()
    assert len(everything) == 2
    for path in (f"/api/v1/parcours/{pid}", f"/api/v1/parcours/{pid}/entries"):
        assert client.get(path, headers=team.h["outsider"]).status_code == 404
    attendance = client.get(f"/api/v1/parcours/{pid}", headers=team.h["m0"]).get_json()["attendance"]
    assert attendance == {"meetings": 1, "present": 1, "represented": 0, "share": 100}


def test_members_write_members_entries_only(client, team):
    pid = _open(client, team).get_json()["id"]
    ok = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["m1"],
                     json={"kind": "call", "content": "Appel", "visibility": "members"})
    assert ok.status_code == 201
    refused = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["m1"],
                          json={"kind": "note", "content": "Secret", "visibility": "referent"})
    assert refused.status_code == 422 and "visibility" in refused.get_json()["error"]["fields"]
    outsider = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["outsider"],
                           json={"kind": "call", "content": "x", "visibility": "members"})
    assert outsider.status_code == 404


def test_entries_are_immutable_and_corrections_point_back(app, client, team):
    pid = _open(client, team).get_json()["id"]
    first = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
        "kind": "decision", "content": "Dossier FSL déposé le 3", "visibility": "members"}).get_json()
    fix = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
        "kind": "decision", "content": "Dossier FSL déposé le 4", "visibility": "members",
        "corrects_id": first["id"]}).get_json()
    assert fix["corrects_id"] == first["id"]
    entries = client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["m0"]).get_json()
    assert [e["content"] for e in entries] == ["Dossier FSL déposé le 4", "Dossier FSL déposé le 3"]
    routes = {(r.rule, m) for r in app.url_map.iter_rules() for m in r.methods
              if "/parcours/" in r.rule and "entries" in r.rule}
    assert not {m for _r, m in routes} & {"PUT", "PATCH", "DELETE"}


def test_handover_moves_everything_to_the_new_referent(app, client, build, team):
    pid = _open(client, team).get_json()["id"]
    client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"],
                json={"kind": "note", "content": "Note du premier référent", "visibility": "referent"})
    successor = build.user("referent_parcours")
    h_new = bearer(api_token(client, successor))
    assert client.get(f"/api/v1/parcours/{pid}", headers=h_new).status_code == 404
    answer = client.post(f"/api/v1/parcours/{pid}/handover", headers=team.h["referent"],
                         json={"referent_id": str(successor.id), "reason": "Départ en congé"})
    assert answer.status_code == 200 and answer.get_json()["referent"]["id"] == str(successor.id)
    entries = client.get(f"/api/v1/parcours/{pid}/entries", headers=h_new).get_json()
    assert [e["content"] for e in entries] == ["Note du premier référent"]
    assert client.get(f"/api/v1/persons/{team.person.id}", headers=h_new).status_code == 200
    # The former référent reads, no longer writes, and loses access after the transition.
    assert client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"]).status_code == 200
    assert client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
        "kind": "note", "content": "x", "visibility": "referent"}).status_code == 403
    from app.core.db import db, utcnow
    from app.notifications.models import OutboxMessage
    from app.referents.models import ReferentChange

    with app.app_context():
        # The new référent's own message (the opening sent others to the first team).
        notices = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "parcours.notice",
            OutboxMessage.dedupe_key.like("parcours.handover:%"))).all()
        assert [m.recipient for m in notices] == [successor.email]
        assert str(notices[0].related_id) == pid
        assert notices[0].dedupe_key.endswith(f":{pid}:{successor.id}")
        change = db.session.scalars(sa.select(ReferentChange).where(
            ReferentChange.from_user_id == team.referent.id)).one()
        assert (change.former_access_until - change.at).days == 30
        change.former_access_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"]).status_code == 404


def test_withdrawal_cuts_members_off(app, client, team):
    opened = _open(client, team).get_json()
    pid = opened["id"]
    assert opened["consent"]["given"] is True and opened["consent"]["withdrawn_at"] is None
    answer = client.post(f"/api/v1/parcours/{pid}/withdraw", headers=team.h["referent"])
    assert answer.status_code == 200 and answer.get_json()["status"] == "withdrawn"
    consent = answer.get_json()["consent"]
    assert consent["given"] is False and consent["withdrawn_at"] is not None and consent["at"]
    read = client.get(f"/api/v1/parcours/{pid}", headers=team.h["referent"]).get_json()
    assert read["consent"]["given"] is False
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        audited = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "parcours.withdraw")).all()
        assert [(a.object_id, a.actor_id, str(a.person_id)) for a in audited] == [
            (pid, team.referent.id, str(team.person.id))]
    for member in ("m0", "m1", "m2"):
        assert client.get(f"/api/v1/parcours/{pid}", headers=team.h[member]).status_code == 404
    assert client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"]).status_code == 200
    assert client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
        "kind": "note", "content": "x", "visibility": "referent"}).status_code == 409


def test_close_with_outcome_then_nothing_more(client, team):
    pid = _open(client, team).get_json()["id"]
    bad = client.post(f"/api/v1/parcours/{pid}/close", headers=team.h["referent"],
                      json={"outcome": "magic"})
    assert bad.status_code == 422
    assert client.post(f"/api/v1/parcours/{pid}/close", headers=team.h["m0"],
                       json={"outcome": "resolved"}).status_code == 403
    closed = client.post(f"/api/v1/parcours/{pid}/close", headers=team.h["referent"],
                         json={"outcome": "resolved"})
    assert closed.get_json()["outcome"] == "resolved" and closed.get_json()["status"] == "closed"
    entry = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"],
                        json={"kind": "note", "content": "x", "visibility": "referent"})
    assert entry.status_code == 409
    again = _open(client, team)
    assert again.status_code == 201  # a new parcours may be opened once the first is closed


@pytest.mark.parametrize("change, field, status", [
    ({"consent": {"given": False}}, "consent.given", 422),
    ({"member_ids": ["00000000-0000-4000-8000-000000000000"]}, "member_ids", 422),
    ({"referent_id": "not-a-uuid"}, "referent_id", 422),
])
def test_bad_opening_writes_nothing(app, client, team, change, field, status):
    answer = _open(client, team, **change)
    assert answer.status_code == status and field in answer.get_json()["error"]["fields"]
    from app.core.db import db
    from app.referents.models import Parcours

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Parcours)) == 0


def test_members_must_be_professionals_of_oriented_structures_or_justified(client, build, team):
    coordinator = build.user("coordinateur")
    answer = _open(client, team, member_ids=[str(coordinator.id)])
    assert answer.status_code == 422
    stranger = build.user("partenaire")
    unjustified = _open(client, team, member_ids=[str(stranger.id)])
    assert unjustified.status_code == 422 and "member_ids" in unjustified.get_json()["error"]["fields"]
    justified = _open(client, team, member_ids=[str(stranger.id)],
                      members_reason="Suit déjà la personne pour sa santé")
    assert justified.status_code == 201


def test_one_open_parcours_per_person(client, team):
    assert _open(client, team).status_code == 201
    second = _open(client, team)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "conflict"


def test_concurrent_opening_answers_conflict(app, client, team, monkeypatch):
    """The other request's parcours is not yet visible to the check: the unique index refuses
    ours, and the answer is 409, not a 201 for a parcours never saved."""
    assert _open(client, team).status_code == 201
    monkeypatch.setattr("app.referents.services.open_parcours_of", lambda person_id: None)
    second = _open(client, team)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "conflict"
    from app.core.db import db
    from app.referents.models import Parcours

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Parcours)) == 1


def test_concurrent_entries_answer_conflict(client, team, monkeypatch):
    pid = _open(client, team).get_json()["id"]
    entry = {"kind": "call", "content": "Appel", "visibility": "members"}
    assert client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["m0"],
                       json=entry).status_code == 201
    monkeypatch.setattr("app.referents.services._next_seq", lambda parcours_id: 1)
    clash = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["m1"], json=entry)
    assert clash.status_code == 409 and clash.get_json()["error"]["code"] == "conflict"
    assert len(client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["m0"]).get_json()) == 1


def test_members_do_not_count_the_referents_own_meetings(client, team):
    pid = _open(client, team).get_json()["id"]
    for visibility, presence in (("members", "present"), ("referent", "absent")):
        assert client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json={
            "kind": "meeting", "content": "Réunion", "visibility": visibility,
            "person_present": presence}).status_code == 201
    member = client.get(f"/api/v1/parcours/{pid}", headers=team.h["m0"]).get_json()
    referent = client.get(f"/api/v1/parcours/{pid}", headers=team.h["referent"]).get_json()
    assert member["attendance"] == {"meetings": 1, "present": 1, "represented": 0, "share": 100}
    assert referent["attendance"]["meetings"] == 2
    listed = client.get("/api/v1/parcours", headers=team.h["m0"]).get_json()
    assert [p["attendance"]["meetings"] for p in listed] == [1]


@pytest.mark.parametrize("entry, field", [
    ({"kind": "party", "content": "x", "visibility": "members"}, "kind"),
    ({"kind": "note", "content": "x", "visibility": "everyone"}, "visibility"),
    ({"kind": "meeting", "content": "x", "visibility": "members",
      "happened_on": (date.today() + timedelta(days=2)).isoformat()}, "happened_on"),
    ({"kind": "note", "content": "", "visibility": "members"}, "content"),
    ({"kind": "note", "content": "x", "visibility": "members", "person_present": True},
     "person_present"),
])
def test_bad_entries_write_nothing(app, client, team, entry, field):
    pid = _open(client, team).get_json()["id"]
    answer = client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"], json=entry)
    assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"]).get_json() == []


def test_silent_parcours(app, client, team):
    pid = _open(client, team).get_json()["id"]
    assert client.get(f"/api/v1/parcours/{pid}", headers=team.h["referent"]).get_json()["silent"] is False
    from app.core.db import db, utcnow
    from app.referents.models import Parcours

    with app.app_context():
        row = db.session.get(Parcours, __import__("uuid").UUID(pid))
        row.opened_at = utcnow() - timedelta(days=61)
        db.session.commit()
    mine = client.get("/api/v1/parcours", headers=team.h["referent"]).get_json()
    assert [p["silent"] for p in mine] == [True]
    client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"],
                json={"kind": "call", "content": "Nouvelles", "visibility": "members"})
    assert client.get(f"/api/v1/parcours/{pid}", headers=team.h["referent"]).get_json()["silent"] is False


def test_referent_sees_the_access_log(client, team):
    _open(client, team)
    log = client.get(f"/api/v1/persons/{team.person.id}/access-log", headers=team.h["referent"])
    assert log.status_code == 200
    assert client.get(f"/api/v1/persons/{team.person.id}/access-log",
                      headers=team.h["m0"]).status_code == 404


def test_timestamps_inside_objects_are_iso_8601(client, team):
    from datetime import datetime

    parcours = _open(client, team).get_json()
    stamps = [parcours["consent"]["at"], parcours["referent_history"][0]["at"],
              *(m["added_at"] for m in parcours["members"])]
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).tzinfo is not None, stamp


# -- handover only within the parcours' territory (review finding 13) ----------------------------
def _designate(app, structure, user):
    from app.auth.models import User
    from app.core.db import db
    from app.directory.models import Structure
    from app.orientation.designated import designate_referent

    with app.app_context():
        designate_referent(db.session.get(Structure, structure.id),
                           db.session.get(User, user.id), None, actor=None)
        db.session.commit()


def test_a_coordinator_hands_over_only_to_a_referent_of_the_territory(app, client, build, team):
    pid = _open(client, team).get_json()["id"]
    client.post(f"/api/v1/parcours/{pid}/entries", headers=team.h["referent"],
                json={"kind": "note", "content": "Note réservée au référent",
                      "visibility": "referent"})
    coordinator = bearer(api_token(client, build.user("coordinateur", territory="Valence")))
    elsewhere = build.user("referent_parcours", site=str(build.site(territory="Diois").id))
    far_structure = build.structure(name="Association du Diois", territories=["Diois"])
    far_partner = build.user("partenaire", structure=str(far_structure.id))
    _designate(app, far_structure, far_partner)
    undesignated = team.outsider          # a partner of a member structure, not its referent
    for user in (elsewhere, far_partner, undesignated, team.agent):
        refused = client.post(f"/api/v1/parcours/{pid}/handover", headers=coordinator,
                              json={"referent_id": str(user.id), "reason": "Réorganisation"})
        assert refused.status_code == 422, user.role
        assert "referent_id" in refused.get_json()["error"]["fields"]
        token = bearer(api_token(client, user))
        assert client.get(f"/api/v1/parcours/{pid}/entries", headers=token).status_code == 404
    assert client.get(f"/api/v1/parcours/{pid}", headers=team.h["referent"]).get_json()[
        "referent"]["id"] == str(team.referent.id)

    _designate(app, team.caf, team.members[0])  # CAF P is a member structure serving Valence
    answer = client.post(f"/api/v1/parcours/{pid}/handover", headers=coordinator,
                         json={"referent_id": str(team.members[0].id), "reason": "Suivi CAF"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["referent"]["id"] == str(team.members[0].id)
    from app.core.audit import AuditEntry
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        told = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("parcours.handed_away:%"))).all()
        assert [m.recipient for m in told] == [team.referent.email]  # the current référent
        entry = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "parcours.handover")).one()
        assert str(team.referent.id) in entry.details and str(team.members[0].id) in entry.details


def test_a_referent_of_the_territory_may_receive_it(client, build, team):
    pid = _open(client, team).get_json()["id"]
    colleague = build.user("referent_parcours", site=str(build.site(territory="Valence").id))
    answer = client.post(f"/api/v1/parcours/{pid}/handover", headers=team.h["referent"],
                         json={"referent_id": str(colleague.id), "reason": "Départ en congé"})
    assert answer.status_code == 200, answer.get_json()
