"""Orientations to partner structures, their append-only events, and designated referents."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import append_only
from app.core.db import Encrypted, Model, utcnow
from app.core.enums import Domain
from app.orientation.status import OPEN_STATUSES, STATUSES, OrientationStatus

SHAREABLE_FIELDS = ("first_name", "last_name", "birth_date", "phone", "email", "address", "needs")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StructureReferent(Model):
    """A partner user designated to receive a structure's orientations (for one domain, or all)."""

    __tablename__ = "structure_referents"
    __table_args__ = (sa.UniqueConstraint("structure_id", "user_id", "domain"),)

    structure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    domain: Mapped[str | None] = mapped_column(sa.String(40))

STALL_DUE_SQL = (f"(CASE WHEN status = '{OrientationStatus.SENT}' THEN acknowledge_due "
                 "ELSE take_charge_due END)")
STALL_STATUSES_SQL = f"status IN ('{OrientationStatus.SENT}', '{OrientationStatus.ACKNOWLEDGED}')"


class Orientation(Model):
    __tablename__ = "orientations"
    __table_args__ = (
        sa.CheckConstraint(_in("status", [s.value for s in STATUSES]), name="status"),
        sa.CheckConstraint(_in("domain", [d.value for d in Domain]), name="domain"),
        # A structure's inbox: filtered by status, newest first, read from the index in order.
        sa.Index("ix_orientations_structure_status_sent", "structure_id", "status", "sent_at"),
        sa.Index("ix_orientations_territory_status", "territory", "status"),
        # A territory's period; on PostgreSQL it carries what the indicators count.
        sa.Index("ix_orientations_territory_sent_on", "territory", "sent_on",
                 postgresql_include=["status", "acknowledged_on", "acknowledge_due",
                                     "taken_charge_on", "domain", "refusal_code",
                                     "redirected_from_id"]),
        # The links of a redirection chain, mostly empty: deleting an orientation probes them.
        sa.Index("ix_orientations_redirected_from_id", "redirected_from_id",
                 postgresql_where=sa.text("redirected_from_id IS NOT NULL"),
                 sqlite_where=sa.text("redirected_from_id IS NOT NULL")),
        sa.Index("ix_orientations_redirected_to_id", "redirected_to_id",
                 postgresql_where=sa.text("redirected_to_id IS NOT NULL"),
                 sqlite_where=sa.text("redirected_to_id IS NOT NULL")),
        sa.Index("ix_orientations_sender_site_sent", "sender_site_id", "sent_at"),
        # The stalled list, read in order of due date (see reminders.stall_due); on PostgreSQL it
        # carries the columns of the due expression, so that its count is an index-only scan.
        sa.Index("ix_orientations_stall_due", "territory", sa.text(STALL_DUE_SQL), "id",
                 postgresql_where=sa.text(STALL_STATUSES_SQL),
                 postgresql_include=["status", "acknowledge_due", "take_charge_due"],
                 sqlite_where=sa.text(STALL_STATUSES_SQL)),
        # Its page, urgent ones first (issue 24), read in that order: without it PostgreSQL
        # sorted every stalled orientation of the territory for each page (800 ms at 1 M).
        sa.Index("ix_orientations_stall_urgent_due", "territory", sa.text("urgent DESC"),
                 sa.text(STALL_DUE_SQL), "id",
                 postgresql_where=sa.text(STALL_STATUSES_SQL),
                 sqlite_where=sa.text(STALL_STATUSES_SQL)),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    # Indexed: deleting a visit checks that no orientation refers to it (one probe, not a scan).
    visit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("structures.id"))
    domain: Mapped[str] = mapped_column(sa.String(40))
    # Made from an urgent need (or said so by the sender): the urgent clock of
    # app/orientation/urgency.py, a badge and first place in every list.
    urgent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    motive = Encrypted()
    # False only while a redirect the person did not accept awaits the sender's re-confirmation
    # (the new structure then sees no personal data).
    consent_given: Mapped[bool]
    shared_fields: Mapped[str] = mapped_column(sa.String(200), default="")
    # The domains of the visit's needs the person agreed to share (one need per domain).
    shared_needs: Mapped[str] = mapped_column(sa.String(200), default="")
    # Whether the person accepted, at consent, that another structure may receive the
    # orientation if this one redirects it.
    accepts_redirect: Mapped[bool] = mapped_column(default=False)
    consent_purpose = Encrypted()
    coverage_override = Encrypted()  # why a structure not covering the domain was chosen
    status: Mapped[str] = mapped_column(sa.String(20), default=OrientationStatus.SENT.value)
    sender_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                      ondelete="SET NULL"))
    sender_site_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("sites.id"),
                                                             index=True)
    territory: Mapped[str | None] = mapped_column(sa.String(100))
    requested_referent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    referent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    referent_label: Mapped[str | None] = mapped_column(sa.String(200))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Paris dates of the steps, for working-day indicators computed in SQL.
    sent_on: Mapped[date] = mapped_column(index=True)
    acknowledged_on: Mapped[date | None]
    taken_charge_on: Mapped[date | None]
    acknowledge_due: Mapped[date]
    take_charge_due: Mapped[date]
    acknowledged_at: Mapped[datetime | None]
    taken_charge_at: Mapped[datetime | None]
    first_appointment_on: Mapped[date | None]
    closed_at: Mapped[datetime | None]
    # When it left the open statuses (closed, refused, redirected, cancelled).
    ended_at: Mapped[datetime | None]
    outcome = Encrypted()
    refusal_code: Mapped[str | None] = mapped_column(sa.String(40))
    redirected_to_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("orientations.id"))
    redirected_from_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("orientations.id"))
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list[OrientationEvent]] = relationship(
        back_populates="orientation", order_by="OrientationEvent.seq", lazy="select")

    @property
    def shared(self) -> set[str]:
        return {f for f in (self.shared_fields or "").split(",") if f}

    @property
    def shared_need_domains(self) -> set[str]:
        return {d for d in (self.shared_needs or "").split(",") if d}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


# Events are a history: never changed or deleted (a correction is a new event).
@append_only.register
class OrientationEvent(Model):
    """One step in an orientation's life; rows are only ever added."""

    __tablename__ = "orientation_events"
    __table_args__ = (sa.UniqueConstraint("orientation_id", "seq"),)

    orientation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orientations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(20))  # transition, reminder, escalation, comment
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                     ondelete="SET NULL"))
    actor_label: Mapped[str | None] = mapped_column(sa.String(200))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    reason = Encrypted()

    orientation: Mapped[Orientation] = relationship(back_populates="events")



class ContactLink(Model):
    """A time-limited link to answer one orientation, for a structure without accounts.

    Bound to one orientation and one address; the link's token and the one-time code sent
    separately are stored as hashes only.
    """

    __tablename__ = "contact_links"

    orientation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orientations.id", ondelete="CASCADE"), index=True)
    email = Encrypted()
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id",
                                                                          ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(default=0)
    charter_version: Mapped[int | None]
