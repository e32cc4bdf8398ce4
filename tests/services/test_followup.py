"""The person follows their request: code on the slip, public status page, updates by e-mail and
SMS (a local HTTP server speaks the provider's API) only with consent, withdrawal."""

from __future__ import annotations

import html
import json
import re
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login

NAME = "Evariste"


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


class Provider(BaseHTTPRequestHandler):
    received: list[dict] = []
    fail = False

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Provider.fail or self.headers.get("Authorization") != "Bearer sms-secret":
            self.send_response(503)
            self.end_headers()
            return
        Provider.received.append(body)
        self.send_response(202)
        self.end_headers()
        self.wfile.write(b'{"id": "1"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def provider(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = HTTPServer(("127.0.0.1", port), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Provider.received, Provider.fail = [], False
    app.config.update(PASSERELLE_SMS_URL=f"http://127.0.0.1:{port}/send",
                      PASSERELLE_SMS_TOKEN="sms-secret")
    yield Provider
    server.shutdown()
    app.config.update(PASSERELLE_SMS_URL=None, PASSERELLE_SMS_TOKEN=None)


@pytest.fixture
def oriented(client, build):
    agent = build.user("accueil")
    structure = build.structure(name="CAF Suivi")
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name=NAME, last_name="Galois")
    orientation = build.orientation(person, structure)
    return agent, partner, person, orientation


def _setup(client, agent, orientation, **body):
    h = bearer(api_token(client, agent))
    answer = client.post(f"/api/v1/orientations/{orientation.id}/followup", headers=h, json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["code"]


def _look(client, code):
    return client.post("/suivi", data={"csrf_token": csrf_token(client, "/suivi"), "code": code})


def test_code_shows_the_status_without_any_name(app, client, oriented):
    agent, partner, _person, orientation = oriented
    code = _setup(client, agent, orientation)
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code)
    assert not set(code.replace("-", "")) & set("01ILOSZB258")
    first = _text(_look(client, code))
    assert "CAF Suivi" in first and "Demande envoyée" in first
    assert "doit confirmer avant le" in first
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                headers=bearer(api_token(client, partner)))
    page = _look(app.test_client(), code.lower().replace("-", " "))
    text = _text(page)
    assert "Demande reçue" in text and "CAF Suivi a reçu votre demande le" in text
    assert NAME not in text and "Galois" not in text and "Menace" not in text
    from app.core.db import db
    from app.followup.models import FollowUp

    with app.app_context():
        stored = db.session.scalars(sa.select(FollowUp.code_hash)).one()
        assert code.replace("-", "") not in stored


def test_wrong_and_expired_codes_get_a_neutral_message_and_guessing_is_throttled(app, client,
                                                                                oriented):
    agent, partner, _person, orientation = oriented
    code = _setup(client, agent, orientation)
    wrong = _look(client, "AAAAA-AAAAA")
    assert wrong.status_code == 404 and "Nous ne trouvons pas" in _text(wrong)
    from app.core.db import db, utcnow
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.execute(sa.update(Orientation).values(
            status="closed", closed_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    expired = _look(client, code)
    assert expired.status_code == 404 and "Où en est votre demande" not in _text(expired)
    with app.app_context():
        db.session.execute(sa.update(Orientation).values(closed_at=utcnow()))
        db.session.commit()
    guesser = app.test_client()
    for i in range(10):
        _look(guesser, f"CCCCC-CCCC{i}")
    assert _look(guesser, code).status_code == 404  # even the right code, once throttled


def test_email_updates_with_consent_and_withdrawal(app, client, oriented):
    agent, partner, _person, orientation = oriented
    _setup(client, agent, orientation, updates_channel="email",
           updates_contact="evariste@example.org")
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                headers=bearer(api_token(client, partner)))
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        [message] = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "followup.update")).all()
        assert message.recipient == "evariste@example.org" and message.channel == "email"
        assert "CAF Suivi a reçu votre demande le" in message.body and NAME not in message.body
        stop = re.search(r"/suivi/stop/(\S+)", message.body).group(1)
    page = client.get(f"/suivi/stop/{stop}")
    assert page.status_code == 200
    client.post(f"/suivi/stop/{stop}", data={"csrf_token": csrf_token(client, f"/suivi/stop/{stop}")})
    client.post(f"/api/v1/orientations/{orientation.id}/take-charge",
                headers=bearer(api_token(client, partner)),
                json={"first_appointment_on": "2099-01-02"})
    with app.app_context():  # the update not yet sent is dropped, and nothing new is queued
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "followup.update")) == 0
        from app.core.audit import AuditEntry

        assert "followup.withdraw" in set(db.session.scalars(sa.select(AuditEntry.action)))


def test_no_consent_no_message(app, client, oriented):
    agent, partner, _person, orientation = oriented
    _setup(client, agent, orientation)
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                headers=bearer(api_token(client, partner)))
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        kinds = set(db.session.scalars(sa.select(OutboxMessage.kind)))
        assert "followup.update" not in kinds


def test_sms_through_the_provider_down_then_up(app, client, oriented, provider):
    agent, partner, _person, orientation = oriented
    _setup(client, agent, orientation, updates_channel="sms", updates_contact="06 11 22 33 44")
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                headers=bearer(api_token(client, partner)))
    from app.core.db import utcnow
    from app.notifications import services as outbox

    provider.fail = True
    with app.app_context():
        report = outbox.deliver()
        assert report.failed == 1 and provider.received == []
    provider.fail = False
    with app.app_context():
        report = outbox.deliver(now=utcnow() + timedelta(hours=1))
    assert [m["to"] for m in provider.received] == ["06 11 22 33 44"]
    assert "CAF Suivi" in provider.received[0]["text"] and NAME not in provider.received[0]["text"]


def test_sms_is_refused_when_not_configured(client, oriented):
    agent, _partner, _person, orientation = oriented
    h = bearer(api_token(client, agent))
    answer = client.post(f"/api/v1/orientations/{orientation.id}/followup", headers=h,
                         json={"updates_channel": "sms", "updates_contact": "0611223344"})
    assert answer.status_code == 422 and "updates_channel" in answer.get_json()["error"]["fields"]


def test_the_slip_offers_the_code(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    visit = build.visit(person)
    orientation = build.orientation(person, structure, visit_id=str(visit.id))
    login(client, agent)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert "Créer le code de suivi" in slip
    token = csrf_token(client, f"/visits/{visit.id}/slip")
    answer = client.post(f"/orientations/{orientation.id}/followup",
                         data={"csrf_token": token, "updates_channel": ""})
    assert answer.status_code == 302
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    assert re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", slip) and "/suivi" in slip


def test_indicators_count_requests_messages_and_failures(app, client, oriented):
    agent, partner, _person, orientation = oriented
    _setup(client, agent, orientation, updates_channel="email", updates_contact="e@example.org")
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                headers=bearer(api_token(client, partner)))
    from datetime import date

    from app.core.db import db
    from app.notifications.models import OutboxMessage
    from app.pilotage import indicators

    with app.app_context():
        db.session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.kind == "followup.update").values(status="failed", attempts=1))
        db.session.commit()
        totals = indicators.compute(indicators.Query(date.today() - timedelta(days=30),
                                                     date.today())).totals
    assert totals["updates_requested_share"] == 100.0
    assert totals["updates_failed"] == 1 and totals["updates_sent"] == 0


def _updates(app):
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.status, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "followup.update")
            .order_by(OutboxMessage.created_at))]


def test_the_stop_link_of_every_message_works(app, client, oriented):
    agent, partner, _person, orientation = oriented
    _setup(client, agent, orientation, updates_channel="email", updates_contact="e@example.org")
    h = bearer(api_token(client, partner))
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge", headers=h)
    client.post(f"/api/v1/orientations/{orientation.id}/take-charge", headers=h,
                json={"first_appointment_on": "2099-01-02"})
    stops = [re.search(r"/suivi/stop/(\S+)", body).group(1) for _s, body in _updates(app)]
    assert len(stops) == 2
    first = _text(app.test_client().get(f"/suivi/stop/{stops[0]}"))
    assert "Ce lien ne peut pas être utilisé" not in first
    reader = app.test_client()
    reader.post(f"/suivi/stop/{stops[0]}",
                data={"csrf_token": csrf_token(reader, f"/suivi/stop/{stops[0]}")})
    assert "C'est fait" in _text(app.test_client().get(f"/suivi/stop/{stops[1]}"))


def test_withdrawal_drops_the_updates_not_yet_sent(app, client, build):
    agent = build.user("accueil")
    structures = [build.structure(name=f"Asso {n}") for n in ("Une", "Deux")]
    partners = [bearer(api_token(client, build.user("partenaire", structure=str(s.id))))
                for s in structures]
    first = build.orientation(build.person(agent), structures[0])
    _setup(client, agent, first, updates_channel="email", updates_contact="e@example.org")
    client.post(f"/api/v1/orientations/{first.id}/acknowledge", headers=partners[0])
    from app.core.db import db
    from app.notifications import services as outbox
    from app.notifications.models import OutboxMessage

    with app.app_context():
        outbox.deliver(transport=type("Ok", (), {"send": lambda self, m: None})())
    second = client.post(f"/api/v1/orientations/{first.id}/redirect", headers=partners[0],
                         json={"structure_id": str(structures[1].id), "reason": "Plus proche"}
                         ).get_json()["id"]
    with app.app_context():  # the redirection's update failed and waits for a retry
        db.session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.kind == "followup.update",
            OutboxMessage.status == "pending").values(status="failed", attempts=1))
        db.session.commit()
    client.post(f"/api/v1/orientations/{second}/refuse", headers=partners[1],
                json={"reason": "Plus de places"})
    assert [s for s, _b in _updates(app)] == ["sent", "failed", "pending"]
    stop = re.search(r"/suivi/stop/(\S+)", _updates(app)[0][1]).group(1)
    client.post(f"/suivi/stop/{stop}", data={"csrf_token": csrf_token(client, f"/suivi/stop/{stop}")})
    assert [s for s, _b in _updates(app)] == ["sent"]


def test_withdrawal_at_the_desk_drops_a_queued_update(app, client, oriented):
    agent, partner, _person, orientation = oriented
    _setup(client, agent, orientation, updates_channel="email", updates_contact="e@example.org")
    client.post(f"/api/v1/orientations/{orientation.id}/acknowledge",
                headers=bearer(api_token(client, partner)))
    assert [s for s, _b in _updates(app)] == ["pending"]
    login(client, agent)
    client.post(f"/orientations/{orientation.id}/followup/withdraw",
                data={"csrf_token": csrf_token(client, f"/orientations/{orientation.id}")})
    assert _updates(app) == []


def test_refusal_and_redirection_messages_carry_the_date(app, client, build):
    from app.orientation.deadlines import local_date

    agent = build.user("accueil")
    structures = [build.structure(name=f"Asso {n}") for n in ("Une", "Deux")]
    partners = [build.user("partenaire", structure=str(s.id)) for s in structures]
    person = build.person(agent)
    first = build.orientation(person, structures[0])
    _setup(client, agent, first, updates_channel="email", updates_contact="e@example.org")
    redirected = client.post(f"/api/v1/orientations/{first.id}/redirect",
                             headers=bearer(api_token(client, partners[0])),
                             json={"structure_id": str(structures[1].id),
                                   "reason": "Plus proche du domicile"}).get_json()
    client.post(f"/api/v1/orientations/{redirected['id']}/refuse",
                headers=bearer(api_token(client, partners[1])),
                json={"reason": "Plus de places"})
    from app.core.db import utcnow

    today = f"{local_date(utcnow()):%d/%m/%Y}"
    bodies = [b for _s, b in _updates(app)]
    assert len(bodies) == 2
    assert "transmise par Asso Une" in bodies[0] and today in bodies[0]
    assert "Asso Deux" in bodies[1] and "ne pas pouvoir donner suite" in bodies[1]
    assert today in bodies[1]


def test_codes_are_stored_under_a_keyed_hash_and_old_codes_still_work(app, client, oriented):
    agent, _partner, _person, orientation = oriented
    code = _setup(client, agent, orientation).replace("-", "")
    from app.core.crypto import token_digest
    from app.core.db import db, key_ring
    from app.followup.models import FollowUp

    with app.app_context():
        row = db.session.scalars(sa.select(FollowUp)).one()
        assert row.code_hash == key_ring().blind_index("followup-code", code)
        assert row.code_hash != token_digest(f"followup:{code}")
        # A code issued before keyed hashing, stored under the plain SHA-256.
        row.code_hash = token_digest(f"followup:{code}")
        db.session.commit()
    assert "CAF Suivi" in _text(_look(client, code))


def test_the_code_is_not_in_clear_in_the_session_cookie_and_is_shown_once(app, client, build):
    """Finding 9 of issue 23: the session is a signed cookie, not an encrypted one."""
    agent = build.user("accueil")
    person = build.person(agent)
    visit = build.visit(person)
    orientation = build.orientation(person, build.structure(), visit_id=str(visit.id))
    login(client, agent)
    token = csrf_token(client, f"/visits/{visit.id}/slip")
    answer = client.post(f"/orientations/{orientation.id}/followup",
                         data={"csrf_token": token, "updates_channel": ""})
    assert answer.status_code == 302
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")).value
    stored = app.session_interface.get_signing_serializer(app).loads(cookie)
    slip = _text(client.get(f"/visits/{visit.id}/slip"))
    code = re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", slip).group(0)
    for form in (code, code.replace("-", "")):
        assert form not in json.dumps(stored)
    assert "une fois" in slip
    # Shown once: the next rendering of the slip no longer has it (the code still works).
    again = _text(client.get(f"/visits/{visit.id}/slip"))
    assert code not in again and "Un code de suivi a été créé" in again
    assert "Où en est votre demande" in _text(_look(app.test_client(), code))


def test_sms_is_offered_only_with_a_provider(app, client, build):
    """Without PASSERELLE_SMS_URL the slip offers no "Par SMS", and a POST choosing it anyway gets
    the French refusal on the slip (no code issued); with a provider, the choice is there."""
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    visit = build.visit(person)
    orientation = build.orientation(person, structure, visit_id=str(visit.id))
    login(client, agent)
    slip = client.get(f"/visits/{visit.id}/slip").get_data(as_text=True)
    assert 'value="email"' in slip and 'value="sms"' not in slip and "Par SMS" not in slip
    token = csrf_token(client, f"/visits/{visit.id}/slip")
    answer = client.post(f"/orientations/{orientation.id}/followup", follow_redirects=True,
                         data={"csrf_token": token, "updates_channel": "sms",
                               "updates_contact": "06 11 22 33 44"})
    text = _text(answer)
    assert "L'envoi de SMS n'est pas configuré" in text
    assert not re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", text)
    app.config.update(PASSERELLE_SMS_URL="http://127.0.0.1:9/send")
    try:
        slip = client.get(f"/visits/{visit.id}/slip").get_data(as_text=True)
    finally:
        app.config.update(PASSERELLE_SMS_URL=None)
    assert 'value="sms"' in slip and "Par SMS" in slip


def test_the_slip_heads_the_follow_up_for_the_person_only_above_a_code(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    visit = build.visit(person)
    orientation = build.orientation(person, structure, visit_id=str(visit.id))
    login(client, agent)
    slip = client.get(f"/visits/{visit.id}/slip").get_data(as_text=True)
    assert "Suivre votre demande" not in slip
    assert '<h2 class="no-print">Code de suivi</h2>' in slip
    assert 'data-print hidden>Imprimer le récapitulatif</button>' in slip
    assert "/static/js/print.js" in slip
    token = csrf_token(client, f"/visits/{visit.id}/slip")
    client.post(f"/orientations/{orientation.id}/followup",
                data={"csrf_token": token, "updates_channel": ""})
    slip = client.get(f"/visits/{visit.id}/slip").get_data(as_text=True)
    assert "<h2>Suivre votre demande</h2>" in slip and "Code de suivi</h2>" not in slip
