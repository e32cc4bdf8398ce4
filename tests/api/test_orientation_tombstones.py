"""Access follows the state of the orientation (review finding 2): a structure whose orientation
was cancelled, refused or redirected away keeps a tombstone (status, dates), nothing of the
person, through every face; its contact links die with it. A closed orientation stays readable
by the structure that took the person in charge."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login

NAME, SURNAME, PHONE = "Bérénice", "Introuvable", "0611223344"
MOTIVE = "Violences au domicile, mise à l'abri"
REASON = "Envoyée par erreur à cette structure pour Bérénice"
SECRETS = (NAME, SURNAME, PHONE, MOTIVE, REASON, "Hébergement d'urgence", "Expulsion")


@pytest.fixture
def world(client, build):
    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    other = build.structure(domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name=NAME, last_name=SURNAME, phone=PHONE)
    visit = build.visit(person, needs=[{"domain": "logement", "urgency": "urgent",
                                        "note": "Expulsion"}])
    orientation = build.orientation(person, structure, visit_id=str(visit.id), motive=MOTIVE,
                                    consent={"given": True, "purpose": "Hébergement d'urgence",
                                             "shared_fields": ["first_name", "last_name", "phone",
                                                               "needs"]})
    return type("World", (), dict(
        agent=agent, structure=structure, other=other, partner=partner, person=person,
        orientation=orientation, h={"agent": bearer(api_token(client, agent)),
                                    "partner": bearer(api_token(client, partner))}))


def _no_secret(text: str) -> None:
    text = html.unescape(text)
    for secret in SECRETS:
        assert secret not in text, secret


def _end(client, world, how: str) -> None:
    oid = world.orientation.id
    if how == "cancel":
        answer = client.post(f"/api/v1/orientations/{oid}/cancel", headers=world.h["agent"],
                             json={"reason": REASON})
    elif how == "refuse":
        answer = client.post(f"/api/v1/orientations/{oid}/refuse", headers=world.h["partner"],
                             json={"reason": REASON, "reason_code": "not_competent"})
    else:
        answer = client.post(f"/api/v1/orientations/{oid}/redirect", headers=world.h["partner"],
                             json={"structure_id": str(world.other.id), "reason": REASON})
    assert answer.status_code in (200, 201), answer.get_json()


def test_before_the_end_the_partner_sees_what_was_shared(client, world):
    """The baseline the tombstone tests take away."""
    seen = client.get(f"/api/v1/orientations/{world.orientation.id}",
                      headers=world.h["partner"]).get_json()
    assert seen["person"]["first_name"] == NAME and seen["motive"] == MOTIVE
    assert seen["tombstone"] is False and seen["ended_at"] is None
    assert client.get(f"/api/v1/persons/{world.person.id}",
                      headers=world.h["partner"]).status_code == 200


@pytest.mark.parametrize("how,status", [("cancel", "cancelled"), ("refuse", "refused"),
                                        ("redirect", "redirected")])
def test_an_ended_orientation_leaves_its_structure_a_tombstone(client, world, how, status):
    _end(client, world, how)
    answer = client.get(f"/api/v1/orientations/{world.orientation.id}",
                        headers=world.h["partner"])
    assert answer.status_code == 200
    _no_secret(answer.get_data(as_text=True))
    seen = answer.get_json()
    assert seen["person"] is None and seen["person_id"] is None and seen["needs"] == []
    assert seen["motive"] is None and seen["consent"]["shared_fields"] == []
    assert seen["consent"]["purpose"] is None and seen["visit_id"] is None
    assert seen["events"] and all(e["reason"] is None for e in seen["events"])
    assert seen["status"] == status and seen["tombstone"] is True and seen["ended_at"]
    # Every other face: the list, the person's file (API and page), the orientation's page.
    listed = client.get("/api/v1/orientations", headers=world.h["partner"])
    [row] = listed.get_json()
    assert row["tombstone"] is True and row["person"] is None
    _no_secret(listed.get_data(as_text=True))
    assert client.get(f"/api/v1/persons/{world.person.id}",
                      headers=world.h["partner"]).status_code == 404
    login(client, world.partner)
    page = client.get(f"/orientations/{world.orientation.id}")
    assert page.status_code == 200
    label = {"cancelled": "Annulée le", "refused": "Refusée le", "redirected": "Réorientée le"}
    assert label[status] in html.unescape(page.get_data(as_text=True))
    _no_secret(page.get_data(as_text=True))
    inbox = client.get("/inbox")
    assert inbox.status_code == 200
    _no_secret(inbox.get_data(as_text=True))
    assert client.get(f"/persons/{world.person.id}").status_code == 404


def test_the_sender_still_sees_everything(client, world):
    _end(client, world, "cancel")
    seen = client.get(f"/api/v1/orientations/{world.orientation.id}",
                      headers=world.h["agent"]).get_json()
    assert seen["tombstone"] is False and seen["person"]["first_name"] == NAME
    assert seen["motive"] == MOTIVE and seen["events"][-1]["reason"] == REASON


def test_a_tombstone_hides_only_its_own_sharing(client, world, build):
    """A live orientation of the same person to the same structure still shares its fields,
    and only its fields."""
    build.orientation(world.person, world.structure, consent={
        "given": True, "shared_fields": ["first_name"], "purpose": "Autre demande"})
    _end(client, world, "cancel")
    person = client.get(f"/api/v1/persons/{world.person.id}", headers=world.h["partner"])
    assert person.status_code == 200
    seen = person.get_json()
    assert seen["first_name"] == NAME
    assert "last_name" not in seen and "phone" not in seen


def test_a_closed_orientation_stays_readable_by_the_structure_that_took_charge(client, world):
    oid = world.orientation.id
    for action, body in (("acknowledge", None), ("take-charge", {}),
                         ("close", {"outcome": "Relogée"})):
        answer = client.post(f"/api/v1/orientations/{oid}/{action}", headers=world.h["partner"],
                             json=body)
        assert answer.status_code == 200, answer.get_json()
    seen = client.get(f"/api/v1/orientations/{oid}", headers=world.h["partner"]).get_json()
    assert seen["status"] == "closed" and seen["tombstone"] is False and seen["ended_at"]
    assert seen["person"]["first_name"] == NAME and seen["motive"] == MOTIVE
    assert client.get(f"/api/v1/persons/{world.person.id}",
                      headers=world.h["partner"]).status_code == 200


# -- the person's faces: a tombstone is not linked to the person (review of 2026-12, row 2) ------
ORIENTATION_LINK = re.compile(r"/orientations/([0-9a-f]{8}-[0-9a-f-]{27})")
BUDGET_MOTIVE = "Dettes de jeu cachées au conjoint"


def _person_faces(client, person_id, headers) -> dict[str, list[str]]:
    """The ids of the orientations each face of the person lists (the page's session must be
    the same user's as ``headers``)."""
    listed = client.get(f"/api/v1/orientations?person_id={person_id}", headers=headers)
    assert listed.status_code == 200
    person = client.get(f"/api/v1/persons/{person_id}", headers=headers)
    page = client.get(f"/persons/{person_id}")
    return {"api list": [o["id"] for o in listed.get_json()],
            "api person": ([o["id"] for o in person.get_json()["orientations"]]
                           if person.status_code == 200 else None),
            "file panel": (ORIENTATION_LINK.findall(page.get_data(as_text=True))
                           if page.status_code == 200 else None),
            "total": listed.headers["X-Total-Count"],
            "texts": listed.get_data(as_text=True) + person.get_data(as_text=True)
            + html.unescape(page.get_data(as_text=True))}


def test_a_redirect_without_consent_is_not_linked_to_the_person(client, build):
    """The reported attack: B has a live orientation of the person; another one (budget), sent to
    A without accepting a redirect, is redirected by A to B. B's faces of the person listed it
    ("Structure B — Budget — Transmise"): that the person was oriented for their budget, which
    the person never agreed B would know."""
    agent = build.user("accueil")
    a, b = build.structure(), build.structure()
    partner_a = build.user("partenaire", structure=str(a.id))
    partner_b = build.user("partenaire", structure=str(b.id))
    person = build.person(agent, first_name=NAME, last_name=SURNAME)
    live = build.orientation(person, b, agent)
    budget = build.orientation(person, a, agent, domain="budget", motive=BUDGET_MOTIVE, consent={
        "given": True, "shared_fields": ["first_name"], "accepts_redirect": False})
    moved = client.post(f"/api/v1/orientations/{budget.id}/redirect",
                        headers=bearer(api_token(client, partner_a)),
                        json={"structure_id": str(b.id), "reason": "Pas notre domaine"})
    assert moved.status_code == 201, moved.get_json()
    redirected = moved.get_json()["id"]
    headers = bearer(api_token(client, partner_b))
    login(client, partner_b)
    faces = _person_faces(client, person.id, headers)
    for face in ("api list", "api person", "file panel"):
        assert faces[face] and set(faces[face]) == {str(live.id)}, (face, faces[face])
    assert faces["total"] == "1"
    assert BUDGET_MOTIVE not in faces["texts"] and "Budget" not in faces["texts"]
    # B still has it in its work, without the person, until the sender confirms the consent.
    inbox = client.get("/api/v1/orientations", headers=headers).get_json()
    [row] = [o for o in inbox if o["id"] == redirected]
    assert row["person"] is None and row["person_id"] is None
    assert client.get(f"/api/v1/orientations/{redirected}", headers=headers).status_code == 200
    # Once the sender confirms the consent, it is the person's again on B's faces.
    confirmed = client.post(f"/api/v1/orientations/{redirected}/consent",
                            headers=bearer(api_token(client, agent)),
                            json={"given": True, "shared_fields": ["first_name"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    faces = _person_faces(client, person.id, headers)
    for face in ("api list", "api person", "file panel"):
        assert set(faces[face]) == {str(live.id), redirected}, (face, faces[face])


@pytest.mark.parametrize("how", ["cancel", "refuse", "redirect"])
def test_a_structure_that_lost_access_lists_nothing_by_person(client, world, how):
    """``?person_id=`` gave the tombstones tied to the person back to the structure that lost
    access (the person's file answering 404): now an empty list, as for an unknown person."""
    _end(client, world, how)
    listed = client.get(f"/api/v1/orientations?person_id={world.person.id}",
                        headers=world.h["partner"])
    assert listed.status_code == 200
    assert listed.get_json() == [] and listed.headers["X-Total-Count"] == "0"
    # The tombstone itself stays in the structure's list and opens, without the person.
    [row] = client.get("/api/v1/orientations", headers=world.h["partner"]).get_json()
    assert row["id"] == str(world.orientation.id) and row["person_id"] is None
    # The sender still lists it by person.
    sender = client.get(f"/api/v1/orientations?person_id={world.person.id}",
                        headers=world.h["agent"]).get_json()
    assert str(world.orientation.id) in [o["id"] for o in sender]


# -- contact links ------------------------------------------------------------------------------
def _messages(app, kind: str) -> list[str]:
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [m.body for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.created_at))]


@pytest.fixture
def by_link(app, client, build):
    """An orientation to a structure without accounts, answered through a contact link."""
    agent = build.user("accueil")
    structure = build.structure(name="Association sans compte", contact_email="asso@x.test",
                                domains=["logement"])
    other = build.structure(name="Autre association", domains=["logement"])
    person = build.person(agent, first_name=NAME, last_name=SURNAME, phone=PHONE)
    orientation = build.orientation(person, structure, motive=MOTIVE, consent={
        "given": True, "shared_fields": ["first_name", "phone"], "purpose": "Hébergement"})
    [body] = _messages(app, "orientation.contact_link")
    token = re.search(r"/contact/([A-Za-z0-9_\-]+)", body).group(1)
    return agent, orientation, token, other


def _open_with_code(app, client, token: str) -> None:
    client.post(f"/contact/{token}/code",
                data={"csrf_token": csrf_token(client, f"/contact/{token}")})
    code = re.search(r"Votre code : (\d{6})", _messages(app, "orientation.contact_code")[-1])
    client.post(f"/contact/{token}", data={"csrf_token": csrf_token(client, f"/contact/{token}"),
                                           "code": code.group(1)})
    client.post(f"/contact/{token}/charter",
                data={"csrf_token": csrf_token(client, f"/contact/{token}/orientation")})


def test_cancelling_ends_the_contact_link(app, client, by_link):
    agent, orientation, token, _other = by_link
    assert client.get(f"/contact/{token}").status_code == 200
    answer = client.post(f"/api/v1/orientations/{orientation.id}/cancel",
                         headers=bearer(api_token(client, agent)), json={"reason": REASON})
    assert answer.status_code == 200
    page = client.get(f"/contact/{token}")
    assert page.status_code == 404
    _no_secret(page.get_data(as_text=True))
    # No code can be asked for any more.
    before = len(_messages(app, "orientation.contact_code"))
    asked = client.post(f"/contact/{token}/code", data={"csrf_token": csrf_token(client, "/login")})
    assert asked.status_code == 404
    assert len(_messages(app, "orientation.contact_code")) == before
    from app.core.audit import AuditEntry
    from app.core.db import db
    from app.orientation.models import ContactLink

    with app.app_context():
        assert db.session.scalars(sa.select(ContactLink.revoked_at)).one() is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "orientation.contact_link_revoked")) == 1


def test_a_contact_who_redirects_sees_nothing_more(app, client, by_link):
    _agent, orientation, token, other = by_link
    _open_with_code(app, client, token)
    assert NAME in html.unescape(client.get(f"/contact/{token}/orientation").get_data(as_text=True))
    done = client.post(f"/contact/{token}/act/redirect", data={
        "csrf_token": csrf_token(client, f"/contact/{token}/orientation"),
        "structure_id": str(other.id), "reason": "Mieux placée"})
    assert done.status_code == 200
    assert "Votre réponse est enregistrée" in html.unescape(done.get_data(as_text=True))
    _no_secret(done.get_data(as_text=True))
    again = client.get(f"/contact/{token}/orientation")
    assert again.status_code == 404
    _no_secret(again.get_data(as_text=True))


# -- no new link nor reminder for an ended orientation (review of 2026-12, row 2) ---------------
def _links_and_messages(app) -> tuple[int, int]:
    """The orientation links in all (live or not), and the messages that could carry a link."""
    from app.core.db import db
    from app.notifications.models import OutboxMessage
    from app.orientation.models import ContactLink

    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(ContactLink)),
                db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.kind.in_(("orientation.contact_link",
                                            "orientation.reminder")))))


def _end_by_link(app, client, build, by_link, how: str) -> str:
    """Ends the orientation (``cancel`` by its sender, ``redirect`` by a coordinator, ``refuse``
    by the contact through the link, ``close`` after the contact took charge); its label."""
    agent, orientation, token, other = by_link
    oid = orientation.id
    if how == "cancel":
        answer = client.post(f"/api/v1/orientations/{oid}/cancel", json={"reason": REASON},
                             headers=bearer(api_token(client, agent)))
        assert answer.status_code == 200, answer.get_json()
    elif how == "redirect":
        answer = client.post(f"/api/v1/orientations/{oid}/redirect",
                             headers=bearer(api_token(client, build.user("coordinateur"))),
                             json={"structure_id": str(other.id), "reason": REASON})
        assert answer.status_code == 201, answer.get_json()
    else:
        _open_with_code(app, client, token)
        steps = ([("refuse", {"reason": REASON, "reason_code": "not_competent"})]
                 if how == "refuse" else [("acknowledge", {}), ("take-charge", {})])
        for action, data in steps:
            client.post(f"/contact/{token}/act/{action}", data={
                "csrf_token": csrf_token(client, f"/contact/{token}/orientation"), **data})
        if how == "close":
            from app.core.db import db
            from app.orientation import services
            from app.orientation.models import Orientation

            with app.app_context():
                services.close(db.session.get(Orientation, oid), None, "Relogée")
                db.session.commit()
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        status = db.session.get(Orientation, oid).status
    labels = {"cancel": ("cancelled", "Annulée"), "redirect": ("redirected", "Réorientée"),
              "refuse": ("refused", "Demande refusée"), "close": ("closed", "Terminée")}
    assert status == labels[how][0]
    return labels[how][1]


@pytest.mark.parametrize("how", ["cancel", "refuse", "redirect", "close"])
def test_an_ended_orientation_gets_no_new_link_nor_reminder(app, client, build, by_link, how):
    """Before the fix, a coordinator's reminder of a cancelled orientation e-mailed its structure
    a new 8-day link (and the sender's "new link" did the same): the contact could open again
    what the end had closed. Now 409 (API) or a French refusal (page), and nothing is issued."""
    agent, orientation, _token, _other = by_link
    label = _end_by_link(app, client, build, by_link, how)
    before = _links_and_messages(app)
    coordinator = build.user("coordinateur")
    answer = client.post(f"/api/v1/orientations/{orientation.id}/remind",
                         headers=bearer(api_token(client, coordinator)))
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_transition" and f"« {label} »" in error["message"]
    # The pages: the coordinator's reminder, the sender's new link.
    for user, action in ((coordinator, "remind"), (agent, "contact-link")):
        login(client, user)
        page = client.post(f"/orientations/{orientation.id}/{action}",
                           data={"csrf_token": csrf_token(client, "/")}, follow_redirects=True)
        assert page.status_code == 200
        text = html.unescape(page.get_data(as_text=True))
        assert f"l'orientation est « {label} »" in text, action
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert _links_and_messages(app) == before
    from app.core.db import db
    from app.orientation.models import ContactLink, OrientationEvent

    with app.app_context():
        assert db.session.scalars(sa.select(ContactLink).where(
            ContactLink.revoked_at.is_(None), ContactLink.orientation_id == orientation.id)
        ).all() == [] or how == "close"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrientationEvent).where(
            OrientationEvent.orientation_id == orientation.id,
            OrientationEvent.kind == "reminder")) == 0


def test_the_link_services_issue_nothing_for_an_ended_orientation(app, client, build, by_link):
    """``contact.issue`` and ``contact.remind``, whoever calls them (the daily run's reminders, a
    later feature): nothing for an orientation that no longer awaits the structure."""
    _end_by_link(app, client, build, by_link, "cancel")
    before = _links_and_messages(app)
    from app.core.db import db
    from app.directory.models import Structure
    from app.orientation import contact
    from app.orientation.models import Orientation

    with app.app_context():
        row = db.session.get(Orientation, by_link[1].id)
        structure = db.session.get(Structure, row.structure_id)
        assert contact.issue(row, structure) is None
        assert contact.remind(row, structure, "Relance", "test:ended") == []
        db.session.commit()
    assert _links_and_messages(app) == before
