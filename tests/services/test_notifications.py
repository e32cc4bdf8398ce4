"""The outbox: delivered by real SMTP (aiosmtpd on loopback), nothing lost when the server is
down, safe to run twice; reminders and escalations sent once."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from app.core.db import db, utcnow
from app.notifications import services as outbox
from app.notifications.models import OutboxMessage


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield type("SMTP", (), {"inbox": inbox, "controller": controller, "port": port})
    try:
        controller.stop()
    except (AssertionError, RuntimeError):
        pass
    app.config.update(MAIL_SERVER=None, MAIL_PORT=25)


def _statuses() -> list[str]:
    return sorted(db.session.scalars(sa.select(OutboxMessage.status)))


def test_orientation_email_reaches_the_referents_without_personal_data(app, build, smtp):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Zoé", last_name="Secretname")
    orientation = build.orientation(person, structure, motive="Violences conjugales")
    with app.app_context():
        report = outbox.deliver()
        assert report.sent == 1 and _statuses() == ["sent"]
    [message] = smtp.inbox.messages
    assert message["To"] == partner.email
    body = message.get_payload(decode=True).decode("utf-8")
    subject = str(make_header(decode_header(message["Subject"])))
    assert f"/orientations/{orientation.id}" in body and "Nouvelle orientation" in subject
    for secret in ("Zoé", "Secretname", "Violences", person.reception_number):
        assert secret not in body and secret not in subject


def test_smtp_down_then_up_loses_nothing(app, build, smtp):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    build.orientation(build.person(agent), structure)
    smtp.controller.stop()
    with app.app_context():
        report = outbox.deliver()
        assert report.failed == 1 and report.sent == 0 and _statuses() == ["failed"]
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert row.attempts == 1 and row.next_attempt_at > utcnow()
        assert outbox.deliver().sent == 0  # not yet due again
    smtp.controller = Controller(smtp.inbox, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()
    with app.app_context():
        report = outbox.deliver(now=utcnow() + timedelta(minutes=2))
        assert report.sent == 1 and _statuses() == ["sent"]
    assert len(smtp.inbox.messages) == 1


def test_delivery_twice_sends_once(app, build, smtp):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    build.orientation(build.person(agent), structure)
    with app.app_context():
        outbox.deliver()
        outbox.deliver()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notifications", "send"])
    assert result.exit_code == 0 and "sent 0" in result.output
    assert len(smtp.inbox.messages) == 1


def test_a_claimed_message_is_not_sent_by_another_sender(app, build, smtp):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    build.orientation(build.person(agent), structure)
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert outbox._claim(row.id, utcnow())          # a first sender claims it...
        assert outbox.deliver().sent == 0                # ...a second one leaves it alone
        later = utcnow() + outbox.CLAIM_TIMEOUT + timedelta(minutes=1)
        assert outbox.deliver(now=later).sent == 1       # a dead sender's claim expires
    assert len(smtp.inbox.messages) == 1


def test_development_writes_the_outbox_folder(app, build):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    build.orientation(build.person(agent), structure)
    from pathlib import Path

    folder = Path(app.instance_path) / "outbox"
    before = set(folder.glob("*.eml"))  # other tests of the session write there too
    with app.app_context():
        assert outbox.deliver().sent == 1
    files = set(folder.glob("*.eml")) - before
    assert len(files) == 1 and b"Nouvelle orientation" in files.pop().read_bytes()


def _make_stalled(app, build, days_late: int):
    agent = build.user("accueil")
    structure = build.structure(head_contact_email=None)
    build.user("partenaire", structure=str(structure.id))
    coordinator = build.user("coordinateur", territory="Valence")
    orientation = build.orientation(build.person(agent), structure)
    from app.orientation.models import Orientation

    with app.app_context():
        row = db.session.get(Orientation, orientation.id)
        row.acknowledge_due = date.today() - timedelta(days=days_late)
        db.session.commit()
    return orientation, coordinator


def test_reminders_run_twice_send_once(app, build):
    orientation, _coordinator = _make_stalled(app, build, days_late=1)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["orientations", "remind"])
    second = runner.invoke(args=["orientations", "remind"])
    assert first.exit_code == 0 and "reminders: 1" in first.output
    assert "reminders: 0, escalations: 0" in second.output
    with app.app_context():
        kinds = sorted(db.session.scalars(sa.select(OutboxMessage.kind)))
        assert kinds == ["orientation.new", "orientation.reminder"]
        from app.orientation.models import OrientationEvent

        events = db.session.scalars(sa.select(OrientationEvent.kind).where(
            OrientationEvent.orientation_id == orientation.id)).all()
        assert events.count("reminder") == 1


def test_escalation_to_the_territorys_coordinators(app, build):
    orientation, coordinator = _make_stalled(app, build, days_late=10)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orientations", "remind"])
    assert "escalations: 1" in result.output
    runner.invoke(args=["orientations", "remind"])
    with app.app_context():
        escalations = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "orientation.escalation")).all()
        assert [m.recipient for m in escalations] == [coordinator.email]


def _one_queued(app, build):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    build.orientation(build.person(agent), structure)
    return partner


def test_production_without_mail_server_fails_in_one_line_and_claims_nothing(app, build):
    _one_queued(app, build)
    app.config.update(PASSERELLE_ENV="production", MAIL_SERVER=None)
    try:
        result = app.test_cli_runner().invoke(args=["notifications", "send"])
    finally:
        app.config.update(PASSERELLE_ENV="test")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["Error: MAIL_SERVER is not set: messages stay in the outbox"]
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert (row.status, row.attempts, row.claimed_at, row.last_error) == (
            "pending", 0, None, None)


class RefusingHandler:
    """An SMTP server that refuses every recipient, quoting the address, as real ones do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


def test_a_failure_keeps_its_class_and_code_never_the_address(app, build):
    partner = _one_queued(app, build)
    port = _free_port()
    controller = Controller(RefusingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        with app.app_context():
            assert outbox.deliver().failed == 1
            row = db.session.scalars(sa.select(OutboxMessage)).one()
            assert row.last_error == "SMTPRecipientsRefused 550"
    finally:
        controller.stop()
        app.config.update(MAIL_SERVER=None, MAIL_PORT=25)
    local = partner.email.split("@")[0]
    with app.app_context():
        raw = db.session.execute(sa.text("SELECT last_error FROM outbox_messages")).scalar()
    assert local not in raw


def test_describe_failure():
    import smtplib
    import urllib.error

    assert outbox.describe_failure(smtplib.SMTPSenderRefused(553, b"<a@b.test> no", "a@b.test")) \
        == "SMTPSenderRefused 553"
    assert outbox.describe_failure(smtplib.SMTPRecipientsRefused(
        {"x@y.test": (451, b"<x@y.test> try later")})) == "SMTPRecipientsRefused 451"
    http = urllib.error.HTTPError("https://sms.test", 503, "down for +33612345678", {}, None)
    assert outbox.describe_failure(http) == "HTTPError 503"
    assert outbox.describe_failure(ConnectionRefusedError(111, "refused")) == \
        "ConnectionRefusedError"
    assert outbox.describe_failure(RuntimeError("+33 6 12 34 56 78 unreachable")) == "RuntimeError"


def test_the_body_is_stored_encrypted(app, build, smtp):
    _one_queued(app, build)
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        assert "/orientations/" in row.body
        stored = db.session.execute(sa.text("SELECT body FROM outbox_messages")).scalar()
        assert stored.startswith("v1:") and "/orientations/" not in stored
        assert outbox.deliver().sent == 1
    [message] = smtp.inbox.messages
    assert "/orientations/" in message.get_payload(decode=True).decode("utf-8")
