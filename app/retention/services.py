"""Retention periods, per kind of data (settings, with documented defaults):

* a person with no contact for ``PASSERELLE_RETENTION_PERSON_YEARS`` (3) years and nothing open
  (no orientation in progress, no open parcours) is **anonymised**: identity, search keys,
  identity history, and every free text about them (visit summaries, need notes, motives,
  journal entries, reasons, appointments' places and with whom) are erased, and their
  documents deleted (with their sealed bytes and their shares); identifiers, dates and codes
  stay, so the indicators do not change; the address or number they gave for updates is erased too, and the updates
  still waiting in the outbox for them (queued, or failed and awaiting a retry) are dropped,
  the delivered ones keeping no recipient;
* login attempts older than ``PASSERELLE_RETENTION_LOGIN_ATTEMPTS_DAYS`` (365) are deleted;
* delivered messages older than ``PASSERELLE_RETENTION_OUTBOX_DAYS`` (90) are deleted;
* ended sessions and expired or revoked tokens older than ``PASSERELLE_RETENTION_SESSIONS_DAYS``
  (90) are deleted.

The audit trail is never purged here: it is the proof of who accessed what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.accueil.models import BreakGlassAccess, Need, Person, PersonRevision, PersonSearchKey, Visit
from app.appointments.services import erase_for_retention as erase_appointments
from app.auth.models import ApiToken, LoginAttempt, UserSession
from app.core import audit
from app.core.db import db, utcnow
from app.documents.services import purge_person as purge_documents
from app.followup.models import FollowUp
from app.notifications.models import FAILED, PENDING, SENDING, SENT, OutboxMessage
from app.notifications.services import CLAIM_TIMEOUT
from app.orientation.models import Orientation, OrientationEvent
from app.orientation.status import OPEN_STATUSES
from app.referents.models import OPEN, Parcours, ParcoursEntry, ParcoursMember, ReferentChange

PERSON_FIELDS = ("first_name", "last_name", "birth_name", "birth_date", "phone", "email",
                 "address", "pseudonym")


@dataclass
class Plan:
    persons: list[Any] = field(default_factory=list)
    login_attempts: int = 0
    outbox_messages: int = 0
    sessions: int = 0
    tokens: int = 0


def _cutoffs(now: datetime) -> dict[str, datetime]:
    config = current_app.config
    return {
        "person": now - timedelta(days=365 * config["PASSERELLE_RETENTION_PERSON_YEARS"]),
        "attempts": now - timedelta(days=config["PASSERELLE_RETENTION_LOGIN_ATTEMPTS_DAYS"]),
        "outbox": now - timedelta(days=config["PASSERELLE_RETENTION_OUTBOX_DAYS"]),
        "sessions": now - timedelta(days=config["PASSERELLE_RETENTION_SESSIONS_DAYS"]),
    }


def _expired_persons(cutoff: datetime) -> sa.Select:
    last_visit = sa.select(sa.func.max(Visit.occurred_at)).where(
        Visit.person_id == Person.id).scalar_subquery()
    last_orientation = sa.select(sa.func.max(Orientation.updated_at)).where(
        Orientation.person_id == Person.id).scalar_subquery()
    last_parcours = sa.select(sa.func.max(sa.func.coalesce(
        Parcours.closed_at, Parcours.last_entry_at, Parcours.opened_at))).where(
        Parcours.person_id == Person.id).scalar_subquery()
    open_orientation = sa.exists().where(Orientation.person_id == Person.id,
                                         Orientation.status.in_(OPEN_STATUSES))
    open_parcours = sa.exists().where(Parcours.person_id == Person.id, Parcours.status == OPEN)
    return sa.select(Person.id, Person.reception_number).where(
        Person.anonymised_at.is_(None), Person.created_at < cutoff,
        sa.or_(last_visit.is_(None), last_visit < cutoff),
        sa.or_(last_orientation.is_(None), last_orientation < cutoff),
        sa.or_(last_parcours.is_(None), last_parcours < cutoff),
        ~open_orientation, ~open_parcours)


def _count(model, *conditions) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def plan(now: datetime | None = None) -> Plan:
    cut = _cutoffs(now or utcnow())
    return Plan(
        persons=db.session.execute(_expired_persons(cut["person"]).order_by(
            Person.reception_number)).all(),
        login_attempts=_count(LoginAttempt, LoginAttempt.at < cut["attempts"]),
        outbox_messages=_count(OutboxMessage, OutboxMessage.status == SENT,
                               OutboxMessage.sent_at < cut["outbox"]),
        sessions=_count(UserSession, sa.or_(UserSession.revoked_at < cut["sessions"],
                                            UserSession.last_seen_at < cut["sessions"])),
        tokens=_count(ApiToken, sa.or_(ApiToken.expires_at < cut["sessions"],
                                       ApiToken.revoked_at < cut["sessions"])),
    )


def _clear(model, ids_condition, *fields: str) -> None:
    """Erase encrypted fields: the ciphertext columns are set to NULL in one statement."""
    columns = {model.__encrypted__[f].storage: None for f in fields}
    db.session.execute(sa.update(model).where(ids_condition).values(**columns)
                       .execution_options(synchronize_session=False))


def anonymise_person(person_id, now: datetime) -> None:
    visits = sa.select(Visit.id).where(Visit.person_id == person_id)
    orientations = sa.select(Orientation.id).where(Orientation.person_id == person_id)
    parcours = sa.select(Parcours.id).where(Parcours.person_id == person_id)
    _clear(Person, Person.id == person_id, *PERSON_FIELDS)
    db.session.execute(sa.update(Person).where(Person.id == person_id).values(
        anonymised_at=now, identity_index=None, identity_phonetic_index=None,
        birth_date_index=None))
    db.session.execute(sa.delete(PersonSearchKey).where(PersonSearchKey.person_id == person_id))
    db.session.execute(sa.delete(PersonRevision).where(PersonRevision.person_id == person_id))
    _clear(BreakGlassAccess, BreakGlassAccess.person_id == person_id, "reason")
    _clear(Visit, Visit.id.in_(visits), "summary", "next_steps")
    _clear(Need, Need.visit_id.in_(visits), "note")
    _clear(Orientation, Orientation.id.in_(orientations), "motive", "consent_purpose",
           "coverage_override", "outcome")
    _clear(OrientationEvent, OrientationEvent.orientation_id.in_(orientations), "reason")
    _clear(Parcours, Parcours.id.in_(parcours), "goals", "outcome_note")
    _clear(ParcoursEntry, ParcoursEntry.parcours_id.in_(parcours), "content")
    _clear(ParcoursMember, ParcoursMember.parcours_id.in_(parcours), "reason")
    _clear(ReferentChange, ReferentChange.parcours_id.in_(parcours), "reason")
    _clear(FollowUp, FollowUp.orientation_id.in_(orientations), "updates_contact")
    updates = sa.and_(OutboxMessage.kind == "followup.update",
                      OutboxMessage.related_type == "orientation",
                      OutboxMessage.related_id.in_(orientations))
    db.session.execute(sa.delete(OutboxMessage).where(updates, sa.or_(
        OutboxMessage.status.in_((PENDING, FAILED)),
        sa.and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < now - CLAIM_TIMEOUT)))
        .execution_options(synchronize_session=False))
    _clear(OutboxMessage, sa.and_(updates, OutboxMessage.status == SENT), "recipient")
    purge_documents(person_id)  # the person's papers: deleted with their bytes and shares
    # Appointments: place and with whom erased, the person's link dead, the messages to the
    # person dropped or without recipient; dates and attendance stay for the indicators.
    erase_appointments(orientations)
    audit.record("retention.anonymise", object_type="person", object_id=person_id,
                 person_id=person_id)


def apply(now: datetime | None = None) -> Plan:
    """Carry the plan out, in one transaction per kind (the caller commits)."""
    now = now or utcnow()
    cut = _cutoffs(now)
    todo = plan(now)
    for row in todo.persons:
        anonymise_person(row.id, now)
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < cut["attempts"]))
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.status == SENT,
                                                      OutboxMessage.sent_at < cut["outbox"]))
    db.session.execute(sa.delete(UserSession).where(sa.or_(
        UserSession.revoked_at < cut["sessions"], UserSession.last_seen_at < cut["sessions"])))
    db.session.execute(sa.delete(ApiToken).where(sa.or_(
        ApiToken.expires_at < cut["sessions"], ApiToken.revoked_at < cut["sessions"])))
    audit.record("retention.purge", details={
        "persons": len(todo.persons), "login_attempts": todo.login_attempts,
        "outbox_messages": todo.outbox_messages, "sessions": todo.sessions, "tokens": todo.tokens})
    return todo
