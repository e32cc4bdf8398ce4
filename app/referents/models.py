"""Parcours: a référent coordinating the professionals around one person, and their journal."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import append_only
from app.core.db import Encrypted, Model, utcnow

OPEN, CLOSED, WITHDRAWN = "open", "closed", "withdrawn"
PARCOURS_STATUSES = (OPEN, CLOSED, WITHDRAWN)
OUTCOMES = ("resolved", "partially_resolved", "moved", "ended_by_person", "other")
ENTRY_KINDS = ("meeting", "call", "decision", "alert", "note")
VISIBILITIES = ("referent", "members")
PRESENCE = ("present", "represented", "absent")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Parcours(Model):
    __tablename__ = "parcours"
    __table_args__ = (
        sa.CheckConstraint(_in("status", PARCOURS_STATUSES), name="status"),
        # One open parcours per person, enforced by the database.
        sa.Index("uq_parcours_open_person", "person_id", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    referent_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=OPEN)
    goals = Encrypted()
    consent_given_at: Mapped[datetime]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_on: Mapped[date] = mapped_column(index=True)  # Paris dates, for the indicators
    first_request_on: Mapped[date | None]
    opened_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                         ondelete="SET NULL"))
    territory: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    first_request_at: Mapped[datetime | None]  # the person's first visit, for the indicators
    last_entry_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_on: Mapped[date | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(30))
    outcome_note = Encrypted()
    withdrawn_at: Mapped[datetime | None]

    members: Mapped[list[ParcoursMember]] = relationship(
        back_populates="parcours", order_by="ParcoursMember.added_at", lazy="selectin")


class ParcoursMember(Model):
    __tablename__ = "parcours_members"
    __table_args__ = (sa.UniqueConstraint("parcours_id", "user_id"),)

    parcours_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("parcours.id", ondelete="CASCADE"),
                                                   index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    structure_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("structures.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                        ondelete="SET NULL"))
    reason = Encrypted()  # why a structure the person was not oriented to takes part
    removed_at: Mapped[datetime | None]

    parcours: Mapped[Parcours] = relationship(back_populates="members")


class ReferentChange(Model):
    """The history of référents: who handed over to whom, why, and until when the former reads."""

    __tablename__ = "parcours_referent_changes"

    parcours_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("parcours.id", ondelete="CASCADE"),
                                                   index=True)
    from_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    to_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason = Encrypted()
    former_access_until: Mapped[datetime | None]


@append_only.register  # see the end of this module
class ParcoursEntry(Model):
    """A journal entry; never edited or deleted: a correction is a new entry pointing back."""

    __tablename__ = "parcours_entries"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        sa.CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),
        sa.UniqueConstraint("parcours_id", "seq"),
    )

    parcours_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("parcours.id", ondelete="CASCADE"),
                                                   index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(10))
    visibility: Mapped[str] = mapped_column(sa.String(10))
    happened_on: Mapped[date]
    content = Encrypted()
    person_presence: Mapped[str | None] = mapped_column(sa.String(12))
    author_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                      ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("parcours_entries.id"))


# -- The journal is append-only (app/core/append_only.py) ----------------------------------
# No route edits or deletes an entry, and the guard makes sure no code does either; a correction
# is a new entry pointing back. The names below are kept for the callers.
JOURNAL_PURGE = append_only.PURGE
JournalIsAppendOnly = append_only.AppendOnlyViolation
