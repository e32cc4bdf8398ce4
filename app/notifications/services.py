"""Queueing messages in the same transaction as the change, and delivering them.

Delivery is safe to run twice or concurrently: a message is *claimed* by a conditional update
before it is sent, so two senders never both send it; a sender that dies after claiming leaves
the claim to expire (10 minutes) and the message is sent by the next run. Failures are retried
with an increasing delay, never dropped. Messages carry no personal data: a short text and a
link to Passerelle, where the reader must log in. Their recipient and body are stored encrypted
all the same (a body may hold a one-time link or code), and a failure keeps no text.
"""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.db import db, utcnow
from app.notifications.models import FAILED, PENDING, SENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=10)
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 720, 1440)


def queue(recipient: str, subject: str, body: str, *, kind: str, dedupe_key: str | None = None,
          related_type: str | None = None, related_id: uuid.UUID | None = None,
          channel: str = "email") -> OutboxMessage | None:
    """Add a message to the outbox of the current transaction; None when already queued.

    One statement (issue 21): INSERT … ON CONFLICT (dedupe_key) DO NOTHING, which also waits
    for a concurrent run inserting the same key and then inserts nothing. The message returned
    is not attached to the session (it was inserted without the unit of work)."""
    message = OutboxMessage(id=uuid.uuid4(), kind=kind, channel=channel, subject=subject[:200],
                            dedupe_key=dedupe_key, related_type=related_type,
                            related_id=related_id)
    message.recipient = recipient
    message.body = body  # encrypted: it may hold a one-time link, a code, a structure's name
    values = {column.key: value for column in sa.inspect(OutboxMessage).column_attrs
              if (value := getattr(message, column.key)) is not None}  # None: the defaults
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(OutboxMessage)
    inserted = db.session.execute(
        insert.values(values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)).first()
    return message if inserted is not None else None


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass
class SmtpTransport:
    host: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.use_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


@dataclass
class FileTransport:
    """Development: every message becomes a file under ``instance/outbox/``."""

    directory: Path

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{utcnow():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        # 0600: a message may hold a code or a link (the owner only, like the keys).
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))


class NotConfigured(RuntimeError):
    pass


def transport_from_config() -> Transport:
    config = current_app.config
    if config.get("MAIL_SERVER"):
        return SmtpTransport(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                             bool(config.get("MAIL_USE_TLS")), config.get("MAIL_USERNAME"),
                             config.get("MAIL_PASSWORD"))
    if config["PASSERELLE_ENV"] == "production":
        raise NotConfigured("MAIL_SERVER is not set: messages stay in the outbox")
    return FileTransport(Path(current_app.instance_path) / "outbox")


def _email(row: OutboxMessage) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=row.id.hex, domain="passerelle")
    message.set_content(row.body or "")
    return message


def describe_failure(exc: BaseException) -> str:
    """What ``last_error`` keeps of a failure: the exception's class and its status code, if it
    has one ("SMTPRecipientsRefused 550"), never its text, which often quotes the recipient's
    address or phone number."""
    code = getattr(exc, "smtp_code", None)
    if code is None and isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = next((c for c, _text in exc.recipients.values()), None)
    if code is None:
        for name in ("status_code", "status", "code"):
            value = getattr(exc, name, None)
            if isinstance(value, int) and not isinstance(value, bool):
                code = value
                break
    name = exc.__class__.__name__
    return f"{name} {code}" if isinstance(code, int) else name


def _deliverable(now: datetime):
    return sa.or_(
        sa.and_(OutboxMessage.status.in_((PENDING, FAILED)), OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
    )


def _claim(message_id: uuid.UUID, now: datetime) -> bool:
    claimed = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _deliverable(now))
        .values(status=SENDING, claimed_at=now)
    ).rowcount == 1
    db.session.commit()
    return claimed


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    pending: int = 0


# Senders by channel besides e-mail; other features register theirs from their init_app
# (app/followup/__init__.py: SMS).
_SENDERS: dict[str, Callable[[OutboxMessage], None]] = {}


def register_sender(channel: str, send: Callable[[OutboxMessage], None]) -> None:
    _SENDERS[channel] = send


def deliver(batch: int = 200, now: datetime | None = None,
            transport: Transport | None = None) -> DeliveryReport:
    """Send what is due; each message in its own claim and its own transaction.

    ``NotConfigured`` (production without ``MAIL_SERVER``) is raised before anything is claimed,
    so that a run that cannot send e-mail changes nothing.
    """
    now = now or utcnow()
    report = DeliveryReport()
    due = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.channel)
                             .where(_deliverable(now))
                             .order_by(OutboxMessage.created_at).limit(batch)).all()
    email_transport = transport
    if email_transport is None and any(channel == "email" for _id, channel in due):
        email_transport = transport_from_config()
    for message_id, _channel in due:
        if not _claim(message_id, now):
            continue  # another sender has it
        row = db.session.get(OutboxMessage, message_id)
        try:
            if row.channel == "email":
                email_transport.send(_email(row))
            else:
                _SENDERS[row.channel](row)
        except Exception as exc:  # noqa: BLE001 - any failure is retried later, never lost
            row.attempts += 1
            row.status = FAILED
            delay = BACKOFF_MINUTES[min(row.attempts, len(BACKOFF_MINUTES)) - 1]
            row.next_attempt_at = now + timedelta(minutes=delay)
            row.last_error = describe_failure(exc)[:300]
            report.failed += 1
            log.warning("message %s not delivered (attempt %d): %s", row.id, row.attempts,
                        exc.__class__.__name__)
        else:
            row.attempts += 1
            row.status = SENT
            row.sent_at = utcnow()
            row.last_error = None
            report.sent += 1
        db.session.commit()
    report.pending = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.status != SENT))
    return report
