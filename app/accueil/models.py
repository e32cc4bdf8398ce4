"""Persons, their visits and needs, and what protects them: search keys, revisions,
break-the-glass grants, merges."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Encrypted, Model, utcnow
from app.core.enums import CHANNELS, NEED_OUTCOMES, OUTCOMES, URGENCIES, Domain


def _values_check(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"




class ReceptionCounter(Model):
    """The last reception number given in a year (A-2026-000123)."""

    __tablename__ = "reception_counters"

    year: Mapped[int] = mapped_column(unique=True)
    last: Mapped[int] = mapped_column(default=0)


class Person(Model):
    __tablename__ = "persons"
    __table_args__ = (
        # The indicators' "new persons" (first visit within the period) and anonymous share,
        # both read as sets of identifiers from an index.
        sa.Index("ix_persons_first_visit_on", "first_visit_on", "id"),
        sa.Index("ix_persons_anonymous", "id", postgresql_where=sa.text("anonymous"),
                 sqlite_where=sa.text("anonymous")),
    )

    reception_number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    anonymous: Mapped[bool] = mapped_column(default=False)
    pseudonym = Encrypted()
    first_name = Encrypted()
    last_name = Encrypted()
    birth_name = Encrypted()
    birth_date = Encrypted(kind="date")
    phone = Encrypted()
    email = Encrypted()
    address = Encrypted()
    # Blind indexes of the identity, for the duplicate warning (name + birth date).
    identity_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    identity_phonetic_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    birth_date_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                          ondelete="SET NULL"))
    created_site_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("sites.id"),
                                                              index=True)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("persons.id"),
                                                             index=True)
    anonymised_at: Mapped[datetime | None]  # retention: identity and notes erased
    # The Paris date of the person's earliest visit, kept by the database (triggers of
    # migration 0015) whatever moves or changes visits: read by the indicators only.
    first_visit_on: Mapped[date | None]

    visits: Mapped[list[Visit]] = relationship(
        back_populates="person", order_by="Visit.occurred_at.desc()", lazy="select")

    @property
    def birth_year(self) -> int | None:
        return self.birth_date.year if self.birth_date else None

    @property
    def display_name(self) -> str:
        if self.anonymised_at is not None:
            return f"{self.reception_number} (anonymisé)"
        if self.anonymous:
            return self.pseudonym or self.reception_number
        return " ".join(p for p in (self.first_name, (self.last_name or "").upper()) if p)

    @property
    def initials(self) -> str:
        if self.anonymous:
            return (self.pseudonym or "?")[:1].upper()
        return "".join(p[:1].upper() for p in (self.first_name, self.last_name) if p) or "?"


class PersonSearchKey(Model):
    """One blind index of one word of a person's names: exact (``word``) or phonetic (``sound``)."""

    __tablename__ = "person_search_keys"
    __table_args__ = (sa.Index("ix_person_search_keys_value_person", "value", "person_id"),)

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"),
                                                 index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    value: Mapped[str] = mapped_column(sa.String(64))


class PersonRevision(Model):
    """The identity values a rectification replaced (encrypted JSON), with who and when."""

    __tablename__ = "person_revisions"

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"),
                                                 index=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                          ondelete="SET NULL"))
    fields: Mapped[str] = mapped_column(sa.String(200))  # names of the changed fields
    previous = Encrypted()  # JSON {field: previous value}


class BreakGlassAccess(Model):
    """An exceptional, time-limited access to a person's file, with its stated reason."""

    __tablename__ = "break_glass_accesses"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"),
                                                 index=True)
    reason = Encrypted()
    granted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    # When a coordinator of the person's territory checked it (who: the audit entry
    # ``break_glass.reviewed``); unset, it counts on the coordinator's home (migration 0023).
    reviewed_at: Mapped[datetime | None]


class Visit(Model):
    __tablename__ = "visits"
    __table_args__ = (
        sa.CheckConstraint(_values_check("channel", CHANNELS), name="channel"),
        sa.CheckConstraint(_values_check("outcome", OUTCOMES), name="outcome"),
        sa.Index("ix_visits_site_occurred", "site_id", "occurred_at"),
        # A site's period; on PostgreSQL it carries what the indicators count (index-only).
        sa.Index("ix_visits_site_occurred_on", "site_id", "occurred_on",
                 postgresql_include=["person_id", "outcome", "channel"]),
        sa.Index("ix_visits_person_occurred_on", "person_id", "occurred_on"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("sites.id"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                      ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(sa.String(20))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    occurred_on: Mapped[date] = mapped_column(index=True)  # Paris date, for the indicators
    summary = Encrypted()
    next_steps = Encrypted()
    outcome: Mapped[str] = mapped_column(sa.String(20))
    answered_actions: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="visits")
    needs: Mapped[list[Need]] = relationship(back_populates="visit", order_by="Need.position",
                                             cascade="all, delete-orphan", lazy="selectin")

    @property
    def answered_action_list(self) -> list[str]:
        return [a for a in (self.answered_actions or "").split(",") if a]


class Need(Model):
    __tablename__ = "needs"
    __table_args__ = (
        sa.CheckConstraint(_values_check("domain", [d.value for d in Domain]), name="domain"),
        sa.CheckConstraint(_values_check("urgency", URGENCIES), name="urgency"),
        sa.Index("ix_needs_site_occurred_on", "site_id", "occurred_on",
                 postgresql_include=["domain", "visit_id"]),
        sa.CheckConstraint(_values_check("outcome", NEED_OUTCOMES), name="outcome"),
        # The site's queue of needs still waiting (accueil.visits.pending_needs).
        sa.Index("ix_needs_site_outcome", "site_id", "outcome"),
    )

    visit_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"),
                                                index=True)
    domain: Mapped[str] = mapped_column(sa.String(40))
    urgency: Mapped[str] = mapped_column(sa.String(20))
    note = Encrypted()
    position: Mapped[int] = mapped_column(default=0)
    # NEED_OUTCOMES: answered on the spot, to orient, oriented, pending (migration 0024).
    outcome: Mapped[str] = mapped_column(sa.String(20), default="pending",
                                         server_default="pending")
    # The visit's site and Paris date, copied by the database (triggers of migration 0015), so
    # that the indicators count needs by domain without joining every need to its visit.
    site_id: Mapped[uuid.UUID | None]
    occurred_on: Mapped[date | None]

    visit: Mapped[Visit] = relationship(back_populates="needs")


class PersonMerge(Model):
    """Two files of the same person merged; what moved is listed so that it can move back."""

    __tablename__ = "person_merges"

    kept_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    merged_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    moved: Mapped[str] = mapped_column(sa.Text)  # JSON {kind: [ids]}: identifiers only
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    merged_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                         ondelete="SET NULL"))
    reverted_at: Mapped[datetime | None]
    reverted_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                           ondelete="SET NULL"))
