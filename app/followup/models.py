"""The follow-up of one orientation by the person: a code, and their consent to updates."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Encrypted, Model, utcnow


class FollowUp(Model):
    __tablename__ = "followups"
    __table_args__ = (sa.CheckConstraint("updates_channel IS NULL OR updates_channel IN "
                                         "('sms', 'email')", name="updates_channel"),)

    orientation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orientations.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updates_channel: Mapped[str | None] = mapped_column(sa.String(5))
    updates_contact = Encrypted()   # the phone number or e-mail address the person gave
    consent_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    stop_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
