"""Charter versions and acceptances."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Model, utcnow


class CharterVersion(Model):
    __tablename__ = "charter_versions"

    version: Mapped[int] = mapped_column(unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class CharterAcceptance(Model):
    __tablename__ = "charter_acceptances"
    __table_args__ = (sa.UniqueConstraint("user_id", "charter_version_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    charter_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("charter_versions.id", ondelete="CASCADE")
    )
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
