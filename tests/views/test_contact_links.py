"""Partners without an account answer through a secure, time-limited link and a code."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token
from tests.services.test_notifications import smtp  # noqa: F401  (the local SMTP server)

SECRET_NAME = "Bérénice"


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


@pytest.fixture
def sent(app, build):
    """An orientation to a small association with no account, only a contact address."""
    agent = build.user("accueil")
    structure = build.structure(name="Association du village", contact_email="asso@village.test",
                                domains=["logement"])
    person = build.person(agent, first_name=SECRET_NAME, last_name="Confidentielle",
                          phone="0699887766")
    orientation = build.orientation(person, structure, consent={
        "given": True, "shared_fields": ["first_name", "phone"], "purpose": "Hébergement"})
    return agent, structure, person, orientation


def _messages(app, kind: str):
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.recipient, m.subject, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.created_at))]


def _link(app) -> str:
    [(recipient, _subject, body)] = _messages(app, "orientation.contact_link")
    assert recipient == "asso@village.test"
    assert SECRET_NAME not in body and "Confidentielle" not in body
    return re.search(r"/contact/([A-Za-z0-9_\-]+)", body).group(1)


def _code(app) -> str:
    *_rest, (_recipient, _subject, body) = _messages(app, "orientation.contact_code")
    return re.search(r"Votre code : (\d{6})", body).group(1)


def test_answered_end_to_end_from_the_email(app, client, sent):
    agent, structure, person, orientation = sent
    token = _link(app)
    from app.core.db import db
    from app.orientation.models import ContactLink

    with app.app_context():
        stored = db.session.scalars(sa.select(ContactLink.token_hash)).one()
        assert token not in stored
    page = client.get(f"/contact/{token}")
    assert page.status_code == 200 and SECRET_NAME not in _text(page)
    # Without the code, the orientation does not show.
    assert client.get(f"/contact/{token}/orientation").status_code == 302
    client.post(f"/contact/{token}/code", data={"csrf_token": csrf_token(client, f"/contact/{token}")})
    code = _code(app)
    answer = client.post(f"/contact/{token}", data={"csrf_token": csrf_token(client, f"/contact/{token}"),
                                                    "code": code})
    assert answer.status_code == 302
    charter = client.get(f"/contact/{token}/orientation")
    assert "Charte" in _text(charter) and SECRET_NAME not in _text(charter)
    client.post(f"/contact/{token}/charter",
                data={"csrf_token": csrf_token(client, f"/contact/{token}/orientation")})
    shown = _text(client.get(f"/contact/{token}/orientation"))
    assert SECRET_NAME in shown and "0699887766" in shown and "Confidentielle" not in shown
    client.post(f"/contact/{token}/act/acknowledge",
                data={"csrf_token": csrf_token(client, f"/contact/{token}/orientation")})
    h = bearer(api_token(client, agent))
    seen = client.get(f"/api/v1/orientations/{orientation.id}", headers=h).get_json()
    assert seen["status"] == "acknowledged"
    assert seen["events"][-1]["actor"] == "contact de la structure Association du village (asso@village.test)"
    assert seen["referent"]["display_name"].startswith("contact de la structure")
    from app.core.audit import AuditEntry

    with app.app_context():
        kinds = set(db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.actor_kind == "contact")))
        assert {"orientation.contact_link_opened", "orientation.contact_code_ok",
                "charter.accept", "orientation.read", "orientation.acknowledge",
                "orientation.contact_link_used"} <= kinds
        used = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "orientation.contact_link_used")).one()
        assert '"action":"acknowledge"' in used.details and '"link":' in used.details


def test_a_forwarded_link_alone_opens_nothing(app, client, sent):
    token = _link(app)
    client.post(f"/contact/{token}/code", data={"csrf_token": csrf_token(client, f"/contact/{token}")})
    stranger = app.test_client()
    assert stranger.get(f"/contact/{token}/orientation").status_code == 302
    for path in ("/act/acknowledge", "/charter"):
        stranger.post(f"/contact/{token}{path}",
                      data={"csrf_token": csrf_token(stranger, f"/contact/{token}")})
    h_agent = bearer(api_token(app.test_client(), sent[0]))
    status = app.test_client().get(f"/api/v1/orientations/{sent[3].id}", headers=h_agent)
    assert status.get_json()["status"] == "sent"


def test_code_brute_force_is_stopped(app, client, sent):
    token = _link(app)
    client.post(f"/contact/{token}/code", data={"csrf_token": csrf_token(client, f"/contact/{token}")})
    code = _code(app)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = client.post(f"/contact/{token}", data={
            "csrf_token": csrf_token(client, f"/contact/{token}"), "code": wrong})
        assert answer.status_code == 401
    late = client.post(f"/contact/{token}", data={
        "csrf_token": csrf_token(client, f"/contact/{token}"), "code": code})
    assert late.status_code == 401  # the right code no longer works after five tries


def test_expired_revoked_and_unknown_links_look_the_same(app, client, sent):
    token = _link(app)
    from app.core.db import db, utcnow
    from app.orientation.models import ContactLink

    unknown = client.get("/contact/not-a-real-token")
    with app.app_context():
        db.session.execute(sa.update(ContactLink).values(expires_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    expired = client.get(f"/contact/{token}")
    assert expired.status_code == unknown.status_code == 404
    main = lambda answer: _text(answer).split("<main", 1)[1].split("</main>", 1)[0]  # noqa: E731
    assert main(expired) == main(unknown)


def test_sender_reissues_and_the_old_link_dies(app, client, sent):
    agent, _structure, _person, orientation = sent
    old = _link(app)
    from tests.helpers import login, post_form

    login(client, agent)
    post_form(client, f"/orientations/{orientation.id}/contact-link",
              token_from=f"/orientations/{orientation.id}")
    links = [re.search(r"/contact/([A-Za-z0-9_\-]+)", body).group(1)
             for _r, _s, body in _messages(app, "orientation.contact_link")]
    assert len(links) == 2 and links[0] == old
    fresh = app.test_client()
    assert fresh.get(f"/contact/{old}").status_code == 404
    assert fresh.get(f"/contact/{links[1]}").status_code == 200
    post_form(client, f"/orientations/{orientation.id}/contact-link/revoke",
              token_from=f"/orientations/{orientation.id}")
    assert fresh.get(f"/contact/{links[1]}").status_code == 404


def test_guessing_tokens_is_throttled(app, client, sent):
    for i in range(30):
        client.get(f"/contact/guess-{i}")
    token = _link(app)
    assert client.get(f"/contact/{token}").status_code == 429


def test_a_structure_with_accounts_gets_no_link(app, build):
    agent = build.user("accueil")
    structure = build.structure(contact_email="accueil@caf.test")
    build.user("partenaire", structure=str(structure.id))
    build.orientation(build.person(agent), structure)
    assert _messages(app, "orientation.contact_link") == []


def _send_code(client, token):
    return client.post(f"/contact/{token}/code",
                       data={"csrf_token": csrf_token(client, f"/contact/{token}")})


def _try_code(client, token, code):
    return client.post(f"/contact/{token}", data={
        "csrf_token": csrf_token(client, f"/contact/{token}"), "code": code})


def _audit(app, action):
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return [e.details_dict() for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


def test_codes_asked_for_one_link_are_limited(app, client, sent):
    token = _link(app)
    for _ in range(5):
        _send_code(client, token)
    sixth = _send_code(client, token)
    assert sixth.status_code == 302
    assert len(_messages(app, "orientation.contact_code")) == 5
    page = _text(client.get(f"/contact/{token}"))
    assert "Plusieurs codes ont déjà été envoyés" in page
    assert len(_audit(app, "orientation.contact_code_throttled")) == 1


def test_fifteen_wrong_codes_revoke_the_link(app, client, sent):
    token = _link(app)
    wrong = None
    for round_ in range(3):
        _send_code(client, token)
        code = _code(app)
        wrong = "000000" if code != "000000" else "111111"
        for attempt in range(5):
            answer = _try_code(client, token, wrong)
            last = round_ == 2 and attempt == 4
            assert answer.status_code == (404 if last else 401)
    # Revoked: the page is the neutral one, and no new code can be asked for.
    assert "Ce lien ne peut pas être utilisé" in _text(answer)
    assert app.test_client().get(f"/contact/{token}").status_code == 404
    assert _send_code(app.test_client(), token).status_code == 404
    assert len(_messages(app, "orientation.contact_code")) == 3
    from app.core.db import db
    from app.orientation.models import ContactLink

    with app.app_context():
        link = db.session.scalars(sa.select(ContactLink)).one()
        assert link.revoked_at is not None
    [revoked] = _audit(app, "orientation.contact_link_revoked")
    assert revoked == {"link": str(link.id), "reason": "too_many_codes"}


def test_the_sender_can_issue_a_new_link_after_a_revocation(app, client, sent):
    agent, _structure, _person, orientation = sent
    test_fifteen_wrong_codes_revoke_the_link(app, app.test_client(), sent)
    from tests.helpers import login, post_form

    login(client, agent)
    post_form(client, f"/orientations/{orientation.id}/contact-link",
              token_from=f"/orientations/{orientation.id}")
    fresh = re.search(r"/contact/([A-Za-z0-9_\-]+)",
                      _messages(app, "orientation.contact_link")[-1][2]).group(1)
    assert app.test_client().get(f"/contact/{fresh}").status_code == 200


def test_wrong_codes_count_against_the_address(app, client, sent):
    token = _link(app)
    for i in range(25):
        client.get(f"/contact/guess-{i}")
    _send_code(client, token)
    code = _code(app)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert _try_code(client, token, wrong).status_code == 401
    assert client.get(f"/contact/{token}").status_code == 429


def test_opening_the_link_is_audited_without_the_token(app, client, sent):
    token = _link(app)
    assert client.get(f"/contact/{token}").status_code == 200
    from app.core.audit import AuditEntry
    from app.core.db import db
    from app.orientation.models import ContactLink

    with app.app_context():
        link_id = str(db.session.scalars(sa.select(ContactLink.id)).one())
        [entry] = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "orientation.contact_link_opened")).all()
        assert entry.actor_kind == "contact" and entry.object_id == str(sent[3].id)
        assert entry.details_dict() == {"link": link_id}
        assert token not in entry.details and token[:16] not in (entry.object_id or "")
    _send_code(client, token)
    assert len(_audit(app, "orientation.contact_link_opened")) == 2  # the GET for the form
    assert [d["link"] for d in _audit(app, "orientation.contact_code_sent")] == [link_id]


def _stall(app, orientation_id, days_late: int = 1):
    from datetime import date

    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        row = db.session.get(Orientation, orientation_id)
        row.acknowledge_due = date.today() - timedelta(days=days_late)
        db.session.commit()


def test_reminder_to_a_structure_without_accounts_carries_a_working_link(app, client, sent):
    _agent, _structure, _person, orientation = sent
    first = _link(app)
    _stall(app, orientation.id)
    runner = app.test_cli_runner()
    assert "reminders: 1" in runner.invoke(args=["orientations", "remind"]).output
    assert "reminders: 0" in runner.invoke(args=["orientations", "remind"]).output
    [(recipient, subject, body)] = _messages(app, "orientation.reminder")
    assert recipient == "asso@village.test" and "Relance" in subject
    assert "/orientations/" not in body and SECRET_NAME not in body
    token = re.search(r"/contact/([A-Za-z0-9_\-]+)", body).group(1)
    assert token != first
    assert client.get(f"/contact/{token}").status_code == 200
    assert app.test_client().get(f"/contact/{first}").status_code == 404
    # The second run issued nothing: the reminder's link is still the live one.
    from app.core.db import db
    from app.orientation.models import ContactLink

    with app.app_context():
        live = db.session.scalars(sa.select(ContactLink).where(
            ContactLink.revoked_at.is_(None))).all()
        assert len(live) == 1
    reasons = [d.get("reason") for d in _audit(app, "orientation.contact_link_issued")]
    assert reasons == [None, "reminder"]


def test_escalation_tells_the_head_of_a_structure_without_accounts_where_the_link_went(
        app, build):
    agent = build.user("accueil")
    build.user("coordinateur", territory="Valence")
    structure = build.structure(name="Petite asso", contact_email="contact@asso.test",
                                head_contact_email="direction@asso.test")
    orientation = build.orientation(build.person(agent), structure)
    _stall(app, orientation.id, days_late=10)
    app.test_cli_runner().invoke(args=["orientations", "remind"])
    bodies = {r: b for r, _s, b in _messages(app, "orientation.escalation")}
    assert "n'a pas de compte" in bodies["direction@asso.test"]
    assert "/orientations/" not in bodies["direction@asso.test"]
    coordinator = next(b for r, b in bodies.items() if r != "direction@asso.test")
    assert f"/orientations/{orientation.id}" in coordinator


def test_a_structure_with_accounts_is_reminded_with_the_login_link(app, build):
    agent = build.user("accueil")
    structure = build.structure(contact_email="accueil@caf.test")
    build.user("partenaire", structure=str(structure.id))
    orientation = build.orientation(build.person(agent), structure)
    _stall(app, orientation.id)
    app.test_cli_runner().invoke(args=["orientations", "remind"])
    [(_r, _s, body)] = _messages(app, "orientation.reminder")
    assert f"/orientations/{orientation.id}" in body and "/contact/" not in body


def test_answered_from_the_message_received_by_smtp(app, client, sent, smtp):  # noqa: F811
    """The link and the code come out of a real SMTP server, as the structure receives them."""
    _agent, _structure, _person, orientation = sent
    from app.core.db import db
    from app.notifications import services as outbox

    def received(subject_part: str) -> str:
        with app.app_context():
            assert outbox.deliver().failed == 0
        found = [m for m in smtp.inbox.messages
                 if subject_part in str(make_header(decode_header(m["Subject"])))]
        assert found and found[-1]["To"] == "asso@village.test"
        return found[-1].get_payload(decode=True).decode("utf-8")

    body = received("Une orientation attend votre réponse")
    assert SECRET_NAME not in body
    url = re.search(r"http://passerelle\.test(/contact/[A-Za-z0-9_\-]+)", body).group(1)
    assert client.get(url).status_code == 200
    client.post(f"{url}/code", data={"csrf_token": csrf_token(client, url)})
    code = re.search(r"Votre code : (\d{6})", received("Votre code")).group(1)
    answer = client.post(url, data={"csrf_token": csrf_token(client, url), "code": code})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"{url}/orientation")
    client.post(f"{url}/charter", data={"csrf_token": csrf_token(client, f"{url}/orientation")})
    assert SECRET_NAME in _text(client.get(f"{url}/orientation"))
    client.post(f"{url}/act/acknowledge",
                data={"csrf_token": csrf_token(client, f"{url}/orientation")})
    from app.orientation.models import Orientation

    with app.app_context():
        assert db.session.get(Orientation, orientation.id).status == "acknowledged"


def test_a_coordinators_reminder_to_a_structure_without_accounts_carries_a_link(app, client,
                                                                               build, sent):
    _agent, _structure, _person, orientation = sent
    coordinator = build.user("coordinateur")
    from app.auth.models import User
    from app.core.db import db
    from app.orientation import reminders
    from app.orientation.models import Orientation

    with app.app_context():
        count = reminders.remind_now(db.session.get(Orientation, orientation.id),
                                     db.session.get(User, coordinator.id))
        db.session.commit()
    assert count == 1
    [(recipient, _subject, body)] = _messages(app, "orientation.reminder")
    assert recipient == "asso@village.test"
    assert "/orientations/" not in body and SECRET_NAME not in body
    token = re.search(r"/contact/([A-Za-z0-9_\-]+)", body).group(1)
    assert client.get(f"/contact/{token}").status_code == 200
