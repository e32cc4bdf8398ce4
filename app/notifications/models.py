"""The outbox of messages to deliver."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Encrypted, Model, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.Index("ix_outbox_messages_status_next", "status", "next_attempt_at"),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
    )

    kind: Mapped[str] = mapped_column(sa.String(40))
    channel: Mapped[str] = mapped_column(sa.String(10), default="email")
    recipient = Encrypted()
    subject: Mapped[str] = mapped_column(sa.String(200))
    # Encrypted: a body may hold a one-time link or code (stored only hashed elsewhere) and the
    # name of the structure a person was sent to.
    body = Encrypted()
    # A message queued twice under the same key is queued once (reminders run from cron).
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    related_type: Mapped[str | None] = mapped_column(sa.String(40))
    related_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # The exception's class and status code only: its text may quote the recipient.
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
