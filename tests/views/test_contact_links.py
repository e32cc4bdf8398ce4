"""Partners without an account answer through a secure, time-limited link and a code."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token

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
                "charter.accept", "orientation.read", "orientation.acknowledge"} <= kinds


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
