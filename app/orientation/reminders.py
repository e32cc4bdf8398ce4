"""Stalled orientations, reminders and escalations.

An orientation is *stalled* when it is still ``sent`` after its acknowledgment due date, or still
``acknowledged`` after its take-charge due date. ``orientations remind`` (from cron) sends one
reminder to the structure's referents per step; once the step is late by a further
``ESCALATION_DELAY`` working days (default 2), one escalation to the territory's coordinators.
Each message has a deduplication key, so a second run sends nothing twice. An urgent
orientation runs on the urgent clock: its due dates are short (``services.due_dates``), it comes
first in the stalled list, and its escalation waits the ``escalation`` working days of its
domain's urgent clock instead of ``ESCALATION_DELAY``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.accueil.models import Person
from app.auth.models import User
from app.core import audit
from app.core.db import db, load_many, utcnow
from app.core.enums import Role
from app.core.errors import InvalidTransition
from app.core.routing import replica_reads
from app.directory.models import Structure
from app.orientation import contact, notify, urgency
from app.orientation.deadlines import local_date, working_days_between
from app.orientation.models import Orientation, OrientationEvent
from app.orientation.services import append_event
from app.orientation.status import OrientationStatus

log = logging.getLogger(__name__)


@dataclass
class Stall:
    orientation: Orientation
    step: str                 # "acknowledge" or "take_charge"
    due: date
    overdue_working_days: int
    age_days: int = 0         # calendar days since it was sent

    @property
    def stalled_since(self) -> date:
        return self.due + timedelta(days=1)

    @property
    def reason(self) -> str:
        return "acknowledgment_overdue" if self.step == "acknowledge" else "take_charge_overdue"


def stalls(query: sa.Select | None = None, today: date | None = None) -> list[Stall]:
    """Stalled orientations (of ``query``, a scoped select), most overdue first."""
    today = today or local_date(utcnow())
    query = query if query is not None else sa.select(Orientation)
    query = query.where(_stalled_condition(today))
    found = []
    for orientation in db.session.scalars(query):
        step, due = (("acknowledge", orientation.acknowledge_due)
                     if orientation.status == OrientationStatus.SENT
                     else ("take_charge", orientation.take_charge_due))
        found.append(Stall(orientation, step, due, working_days_between(due, today),
                           (today - orientation.sent_on).days))
    found.sort(key=lambda s: (not s.orientation.urgent, -s.overdue_working_days, s.due))
    return found


def _stalled_condition(today: date):
    return sa.or_(
        sa.and_(Orientation.status == OrientationStatus.SENT, Orientation.acknowledge_due < today),
        sa.and_(Orientation.status == OrientationStatus.ACKNOWLEDGED,
                Orientation.take_charge_due < today),
    )


def stall_due():
    """The date an orientation is awaited by (acknowledgment or taking charge): the expression of
    the partial index ``ix_orientations_stall_due``, rendered with literals so that PostgreSQL
    matches it whatever the plan."""
    return sa.case((Orientation.status == sa.literal_column(f"'{OrientationStatus.SENT}'"),
                    Orientation.acknowledge_due), else_=Orientation.take_charge_due)


def stalls_page(query: sa.Select, today: date | None = None, limit: int = 50,
                offset: int = 0) -> tuple[list[Stall], int]:
    """A page of stalled orientations, urgent ones first, then the most overdue, ordered and
    counted by the database.

    Working days grow with the calendar, so the most overdue is the oldest due date: the page
    is read in order from the partial index, and only its rows get their working days counted.
    """
    today = today or local_date(utcnow())
    due = stall_due()
    stalled = query.where(
        Orientation.status.in_([sa.literal_column(f"'{OrientationStatus.SENT}'"),
                                sa.literal_column(f"'{OrientationStatus.ACKNOWLEDGED}'")]),
        due < today)
    with replica_reads():  # a count that tolerates seconds of lag; the rows: the primary
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stalled.subquery()))
    rows = db.session.execute(stalled.add_columns(due.label("due"))
                              .order_by(Orientation.urgent.desc(), due, Orientation.id)
                              .limit(limit).offset(offset)).all()
    return [Stall(o, "acknowledge" if o.status == OrientationStatus.SENT else "take_charge", d,
                  working_days_between(d, today), (today - o.sent_on).days)
            for o, d in rows], total


def coordinators(territory: str | None) -> list[User]:
    if not territory:
        return []
    return list(db.session.scalars(sa.select(User).where(
        User.role == Role.COORDINATEUR, User.territory == territory, User.active.is_(True))))


@dataclass
class RemindReport:
    reminders: int = 0
    escalations: int = 0


def remind(today: date | None = None) -> RemindReport:
    """Queue the reminders and escalations due today; safe to run any number of times.

    Each orientation is committed on its own. One that somebody changes meanwhile (a referent
    acknowledges it as the run reaches it) is rolled back and skipped: the run goes on with the
    others, and the next run looks at it again if it is still stalled.
    """
    today = today or local_date(utcnow())
    delay = current_app.config.get("ESCALATION_DELAY", 2)
    report = RemindReport()
    for stall in stalls(today=today):
        orientation_id = stall.orientation.id
        try:
            # An urgent orientation is escalated on the urgent clock of its domain.
            reminded, escalated = _remind_one(stall, urgency.clock(
                stall.orientation.domain).escalation if stall.orientation.urgent else delay)
        except InvalidTransition:
            db.session.rollback()  # already done by the conditional update; harmless twice
            log.info("orientation %s changed during the reminder run: skipped", orientation_id)
            continue
        db.session.commit()
        report.reminders += reminded
        report.escalations += escalated
    return report


def _remind_one(stall: Stall, delay: int) -> tuple[int, int]:
    """The reminder and escalation of one stalled orientation, not committed."""
    orientation = stall.orientation
    awaited = (OrientationStatus.SENT if stall.step == "acknowledge"
               else OrientationStatus.ACKNOWLEDGED)
    if orientation.status != awaited:
        return 0, 0  # moved on since the stalled list was read (reloaded after a commit)
    structure = db.session.get(Structure, orientation.structure_id)
    reminded = escalated = 0
    if notify.stalled_reminder(orientation, structure, stall.step, stall.due):
        reminded = 1
        append_event(orientation, "reminder", None, actor_label="Passerelle")
        audit.record("orientation.reminder", object_type="orientation",
                     object_id=orientation.id, person_id=orientation.person_id,
                     details={"step": stall.step})
    if stall.overdue_working_days > delay:
        recipients = [u.email for u in coordinators(orientation.territory)]
        if structure.head_contact_email:
            recipients.append(structure.head_contact_email)
        if notify.escalation(orientation, structure, stall.step, stall.due, recipients):
            escalated = 1
            append_event(orientation, "escalation", None, actor_label="Passerelle")
            audit.record("orientation.escalation", object_type="orientation",
                         object_id=orientation.id, person_id=orientation.person_id,
                         details={"step": stall.step})
    return reminded, escalated


def remind_now(orientation: Orientation, actor: Any) -> int:
    """A coordinator's reminder, sent now whatever was sent before; 409 for an ended orientation
    (cancelled, refused, redirected, closed: nothing is awaited of the structure any more)."""
    contact.ensure_awaits_an_answer(orientation)
    structure = db.session.get(Structure, orientation.structure_id)
    # A structure without accounts gets a fresh secure link, not a login link it cannot use.
    count = len(notify.coordinator_reminder(orientation, structure,
                                            utcnow().strftime("%Y%m%d%H%M%S%f")))
    append_event(orientation, "reminder", actor)
    audit.record("orientation.reminder", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id,
                 details={"manual": True})
    return count


def stall_views(stalls: list[Stall]) -> list[dict[str, Any]]:
    """The views of a page of stalls, in a constant number of queries."""
    ids = [s.orientation.id for s in stalls]
    if not ids:
        return []
    load_many(Person, (s.orientation.person_id for s in stalls))
    load_many(Structure, (s.orientation.structure_id for s in stalls))
    counts = dict(db.session.execute(
        sa.select(OrientationEvent.orientation_id, sa.func.count()).where(
            OrientationEvent.orientation_id.in_(ids), OrientationEvent.kind == "reminder")
        .group_by(OrientationEvent.orientation_id)).all())
    return [stall_view(s, counts.get(s.orientation.id, 0)) for s in stalls]


def stall_view(stall: Stall, reminders_sent: int | None = None) -> dict[str, Any]:
    """A stalled orientation as coordinators see it: no motive, reception number and initials."""
    orientation = stall.orientation
    structure = db.session.get(Structure, orientation.structure_id)
    person = db.session.get(Person, orientation.person_id)
    sent = reminders_sent if reminders_sent is not None else db.session.scalar(
        sa.select(sa.func.count()).select_from(OrientationEvent).where(
            OrientationEvent.orientation_id == orientation.id, OrientationEvent.kind == "reminder"))
    return {"id": orientation.id, "status": orientation.status,
            "stalled_since": stall.stalled_since,
            "overdue_working_days": stall.overdue_working_days,
            "age_days": stall.age_days,
            "structure": {"id": structure.id, "name": structure.name},
            "reason": stall.reason, "domain": orientation.domain, "urgent": orientation.urgent,
            "person": {"reception_number": person.reception_number,
                       "initials": person.initials},
            "reminders_sent": sent, "due": stall.due}


def escalate_now(orientation: Orientation, actor: Any) -> int:
    """A coordinator escalates to the structure's head (its head contact address)."""
    from flask_babel import gettext as _

    from app.core.errors import ValidationFailed

    structure = db.session.get(Structure, orientation.structure_id)
    if not structure.head_contact_email:
        raise ValidationFailed(
            _("Cette structure n'a pas d'adresse de direction : ajoutez-la dans l'annuaire."),
            {"head_contact_email": [_("Adresse de la direction manquante.")]})
    stall_due = orientation.acknowledge_due if orientation.status == OrientationStatus.SENT \
        else orientation.take_charge_due
    step = "acknowledge" if orientation.status == OrientationStatus.SENT else "take_charge"
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    sent = notify.escalation(orientation, structure, f"{step}:manual:{stamp}", stall_due,
                             [structure.head_contact_email])
    append_event(orientation, "escalation", actor)
    audit.record("orientation.escalation", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id,
                 details={"manual": True})
    return len(sent)
