"""Parcours: a référent coordinating the professionals around one person, and their journal."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.db import Encrypted, Model, key_ring, utcnow

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


# -- The journal is append-only --------------------------------------------------------------
# No route edits or deletes an entry; these guards make sure no code does either, whether
# through the unit of work or through a bulk UPDATE/DELETE. Two writes stay possible: re-encrypting
# an entry's content unchanged (key rotation), and erasing it (retention). Anything else needs
# ``session.info[JOURNAL_PURGE] = True``, which holds until the session's transaction ends.
JOURNAL_PURGE = "parcours_journal_purge"


class JournalIsAppendOnly(RuntimeError):
    """Code tried to change or delete a journal entry: a correction is a new entry."""


def _same_plaintext(entry: ParcoursEntry, old: str | None, new: str | None) -> bool:
    if old is None or new is None:
        return new is None  # erasing is allowed, writing content into an erased entry is not
    ring = key_ring()
    aad = ParcoursEntry.__encrypted__["content"].aad(entry)
    return ring.decrypt(old, aad) == ring.decrypt(new, aad)


def _changes_content(entry: ParcoursEntry) -> bool:
    state = sa.inspect(entry)
    storage = ParcoursEntry.__encrypted__["content"].storage
    for attr in state.attrs:
        history = attr.history
        if not history.has_changes():
            continue
        if attr.key != storage or not _same_plaintext(
                entry, (history.deleted or history.unchanged or [None])[0],
                (history.added or [None])[0]):
            return True
    return False


@sa.event.listens_for(Session, "before_flush")
def _refuse_journal_changes(session: Session, _context, _instances) -> None:
    if session.info.get(JOURNAL_PURGE):
        return
    for obj in session.deleted:
        if isinstance(obj, ParcoursEntry):
            raise JournalIsAppendOnly("journal entries are never deleted")
    for obj in session.dirty:
        if isinstance(obj, ParcoursEntry) and _changes_content(obj):
            raise JournalIsAppendOnly("journal entries are never changed: add a correction")


def _erases_only(statement) -> bool:
    """A bulk UPDATE that only sets encrypted columns to NULL (retention's erasure)."""
    fields = ParcoursEntry.__encrypted__.values()
    attributes, columns = {f.storage for f in fields}, {f.name for f in fields}
    values = getattr(statement, "_values", None) or {}
    if not values or getattr(statement, "_multi_values", None) or getattr(
            statement, "_ordered_values", None):
        return False
    for key, value in values.items():
        if not (key in attributes if isinstance(key, str) else (
                getattr(key, "table", None) is ParcoursEntry.__table__ and key.name in columns)):
            return False
        if not (isinstance(value, sa.sql.elements.Null) or (
                isinstance(value, sa.sql.elements.BindParameter) and value.value is None)):
            return False
    return True


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_journal_changes(state) -> None:
    if not (state.is_update or state.is_delete) or state.session.info.get(JOURNAL_PURGE):
        return
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, ParcoursEntry):
        return
    if state.is_delete or not _erases_only(state.statement):
        raise JournalIsAppendOnly("journal entries are never changed or deleted in bulk")


@sa.event.listens_for(Session, "after_transaction_end")
def _end_purge(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(JOURNAL_PURGE, None)
