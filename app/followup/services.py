"""Follow-up codes, the status a person sees, and the updates sent to them with their consent.

A code is 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B),
shown once on the slip and stored as a keyed hash (the key ring's blind index: a copy of the
database alone does not give the codes back; codes stored before under a plain SHA-256 still
work); it is valid while the orientation (or the one it was redirected to) is open, and 30 days
after. The status page shows no name and no note. Messages carry no detail either: the
structure's name, a date, the follow-up page's address, and a link to stop the messages, the
same in every message of a follow-up.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.core import audit, ratelimit
from app.core.crypto import token_digest
from app.core.db import db, key_ring, utcnow
from app.core.validation import FieldErrors, clean_code, clean_email, clean_text
from app.directory.models import Site, Structure
from app.followup.models import FollowUp
from app.notifications.models import FAILED, PENDING, OutboxMessage
from app.notifications.services import queue
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation
from app.orientation.next_appointment import NextAppointment, next_appointment
from app.orientation.status import OPEN_STATUSES, OrientationStatus

ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 10
VALID_DAYS_AFTER = 30
TRIES_PER_HOUR = 10
_PHONE = re.compile(r"^\+?[0-9 .\-]{8,20}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _i in range(CODE_LENGTH))


def normalise_code(text: Any) -> str:
    return re.sub(r"[\s\-]", "", str(text or "")).upper()


def pretty(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def _hash(code: str) -> str:
    """The keyed hash a code is stored under."""
    return key_ring().blind_index("followup-code", normalise_code(code))


def _legacy_hash(code: str) -> str:
    """The unkeyed hash of the codes issued before keyed hashing, still accepted."""
    return token_digest(f"followup:{normalise_code(code)}")


def _stop_token(followup: FollowUp) -> str:
    """The token of the link to stop messages: derived from the follow-up under the index key,
    so it is the same in every message and each message's link keeps working."""
    digest = bytes.fromhex(key_ring().blind_index("followup-stop", str(followup.id)))
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def issue_code(orientation: Orientation) -> str:
    """A new code for the orientation (a previous one stops working); returns it in clear, once."""
    code = new_code()
    followup = db.session.scalars(sa.select(FollowUp).where(
        FollowUp.orientation_id == orientation.id)).first()
    if followup is None:
        followup = FollowUp(orientation_id=orientation.id, code_hash=_hash(code))
        db.session.add(followup)
    else:
        followup.code_hash = _hash(code)
        followup.code_created_at = utcnow()
    audit.record("followup.code_issued", object_type="orientation", object_id=orientation.id,
                 person_id=orientation.person_id)
    return code


def record_consent(orientation: Orientation, channel: Any, contact: Any, actor: Any) -> None:
    """At the desk: the person wants updates by SMS or e-mail, at this number or address."""
    errors = FieldErrors()
    channel = clean_code(errors, "updates_channel", channel, ("sms", "email"), required=False)
    value = None
    if channel == "email":
        value = clean_email(errors, "updates_contact", contact)
    elif channel == "sms":
        value = clean_text(errors, "updates_contact", contact, required=True, max_length=20)
        if value and not _PHONE.match(value):
            errors.add("updates_contact", _("Numéro de téléphone invalide."))
        if not current_app.config.get("PASSERELLE_SMS_URL"):
            errors.add("updates_channel", _("L'envoi de SMS n'est pas configuré : proposez le courriel."))
    errors.raise_if_any()
    if channel is None:
        return
    followup = _followup(orientation)
    followup.updates_channel = channel
    followup.updates_contact = value
    followup.consent_at = utcnow()
    followup.withdrawn_at = None
    audit.record("followup.consent", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id,
                 details={"channel": channel})


def _followup(orientation: Orientation) -> FollowUp:
    followup = db.session.scalars(sa.select(FollowUp).where(
        FollowUp.orientation_id == orientation.id)).first()
    if followup is None:
        issue_code(orientation)
        db.session.flush()
        followup = db.session.scalars(sa.select(FollowUp).where(
            FollowUp.orientation_id == orientation.id)).one()
    return followup


def _chain_ids(orientation: Orientation) -> list[uuid.UUID]:
    """The orientation and those it was redirected to, in order."""
    ids = [orientation.id]
    while orientation.redirected_to_id:
        orientation = db.session.get(Orientation, orientation.redirected_to_id)
        ids.append(orientation.id)
    return ids


# The messages sent to the person: dropped from the outbox when they withdraw (the appointment
# reminders and notices of app/appointments among them).
PERSON_MESSAGE_KINDS = ("followup.update", "appointment.reminder", "appointment.notice")


def withdraw(followup: FollowUp, actor: Any = None) -> None:
    """No message after this, whoever asks (the person through the link, or the desk): the
    updates still waiting in the outbox (queued, or failed and awaiting a retry) are dropped."""
    if followup.withdrawn_at is None:
        followup.withdrawn_at = utcnow()
        followup.updates_contact = None
    orientation = db.session.get(Orientation, followup.orientation_id)
    dropped = db.session.execute(sa.delete(OutboxMessage).where(
        OutboxMessage.kind.in_(PERSON_MESSAGE_KINDS), OutboxMessage.related_type == "orientation",
        OutboxMessage.related_id.in_(_chain_ids(orientation)),
        OutboxMessage.status.in_((PENDING, FAILED)))
        .execution_options(synchronize_session=False)).rowcount
    audit.record("followup.withdraw", actor=actor, actor_kind=None if actor else "person",
                 object_type="orientation", object_id=orientation.id,
                 person_id=orientation.person_id, details={"dropped_messages": dropped})


def followup_of(orientation: Orientation) -> FollowUp | None:
    return db.session.scalars(sa.select(FollowUp).where(
        FollowUp.orientation_id == orientation.id)).first()


def by_stop_token(raw: str | None) -> FollowUp | None:
    if not raw or len(raw) > 100:
        return None
    return db.session.scalars(sa.select(FollowUp).where(
        FollowUp.stop_token_hash == token_digest(raw))).first()


# -- what the person sees -------------------------------------------------------------------------
def _root(orientation: Orientation) -> Orientation:
    while orientation.redirected_from_id:
        orientation = db.session.get(Orientation, orientation.redirected_from_id)
    return orientation


def _latest(orientation: Orientation) -> Orientation:
    while orientation.redirected_to_id:
        orientation = db.session.get(Orientation, orientation.redirected_to_id)
    return orientation


def _ended_on(orientation: Orientation) -> datetime | None:
    if orientation.status in OPEN_STATUSES:
        return None
    return orientation.closed_at or orientation.updated_at


@dataclass
class Status:
    domain: str
    structure: str
    status: str
    sent_on: date
    acknowledged_on: date | None
    appointment_on: date | None
    redirected_to: str | None
    acknowledge_due: date
    take_charge_due: date
    site: Site | None
    # Where the person goes: the structure the request is with now, and its next appointment
    # (date, time and place once the partner said them: orientation.next_appointment).
    partner: Structure | None = None
    appointment: NextAppointment | None = None


def lookup(code: Any, ip: str | None) -> Status | None:
    """The status behind a code, or None (wrong, expired, or too many tries: all alike)."""
    bucket = f"followup:{ip}"
    if ratelimit.exceeded(bucket, TRIES_PER_HOUR, timedelta(hours=1)):
        return None
    followup = db.session.scalars(sa.select(FollowUp).where(
        FollowUp.code_hash.in_((_hash(code), _legacy_hash(code))))).first() \
        if normalise_code(code) else None
    if followup is None:
        ratelimit.hit(bucket)
        return None
    first = db.session.get(Orientation, followup.orientation_id)
    current = _latest(first)
    ended = _ended_on(current)
    if ended is not None and utcnow() - ended > timedelta(days=VALID_DAYS_AFTER):
        ratelimit.hit(bucket)
        return None
    audit.record("followup.viewed", actor_kind="person", object_type="orientation",
                 object_id=current.id, person_id=current.person_id)
    structure = db.session.get(Structure, current.structure_id)
    return Status(
        domain=current.domain, structure=structure.name, status=current.status,
        sent_on=first.sent_on, acknowledged_on=current.acknowledged_on,
        appointment_on=current.first_appointment_on,
        redirected_to=structure.name if current.id != first.id else None,
        acknowledge_due=current.acknowledge_due, take_charge_due=current.take_charge_due,
        site=db.session.get(Site, first.sender_site_id) if first.sender_site_id else None,
        partner=structure, appointment=next_appointment(current) if current.is_open else None)


# -- updates ----------------------------------------------------------------------------------------
def _message(orientation: Orientation, structure: Structure) -> str | None:
    if orientation.status == OrientationStatus.ACKNOWLEDGED:
        return (f"Demande reçue : {structure.name} a reçu votre demande le "
                f"{orientation.acknowledged_on:%d/%m/%Y}.")
    if orientation.status == OrientationStatus.IN_CHARGE and orientation.first_appointment_on:
        return f"Rendez-vous avec {structure.name} le {orientation.first_appointment_on:%d/%m/%Y}."
    answered_on = local_date(orientation.closed_at or orientation.updated_at)
    if orientation.status == OrientationStatus.REDIRECTED:
        return (f"Votre demande a été transmise par {structure.name} à une autre structure le "
                f"{answered_on:%d/%m/%Y}.")
    if orientation.status == OrientationStatus.REFUSED:
        return (f"Le {answered_on:%d/%m/%Y}, {structure.name} a répondu ne pas pouvoir donner "
                "suite à votre demande. Revenez vers votre lieu d'accueil.")
    return None


def on_status_changed(orientation: Orientation) -> None:
    """Queue a short update for the person, if they asked for updates and did not withdraw."""
    followup = followup_of(_root(orientation))
    if followup is None or not followup.updates_channel or followup.withdrawn_at is not None:
        return
    structure = db.session.get(Structure, orientation.structure_id)
    text = _message(orientation, structure)
    if text is None:
        return
    stop = _stop_token(followup)
    followup.stop_token_hash = token_digest(stop)
    base = current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
    body = (f"{text} Suivi : {base}/suivi . Ne plus recevoir de messages : {base}/suivi/stop/{stop}"
            if followup.updates_channel == "sms" else
            f"Bonjour,\n\n{text}\n\nSuivez votre demande avec le code de votre récapitulatif : "
            f"{base}/suivi\n\nPour ne plus recevoir ces messages : {base}/suivi/stop/{stop}\n")
    queue(followup.updates_contact, "Votre demande", body, kind="followup.update",
          channel=followup.updates_channel, related_type="orientation",
          related_id=orientation.id,
          dedupe_key=f"followup:{orientation.id}:{orientation.status}:{orientation.version}")


def updates_followup(orientation: Orientation) -> FollowUp | None:
    """The follow-up whose channel the person chose for ``orientation`` (that of the first
    orientation of a redirection chain), if they asked for messages and did not withdraw."""
    followup = followup_of(_root(orientation))
    if followup is None or not followup.updates_channel or followup.withdrawn_at is not None \
            or not followup.updates_contact:
        return None
    return followup


def stop_link(followup: FollowUp) -> str:
    """The address that stops the messages, the same in every message of the follow-up."""
    stop = _stop_token(followup)
    followup.stop_token_hash = token_digest(stop)
    return f"{current_app.config['PASSERELLE_BASE_URL'].rstrip('/')}/suivi/stop/{stop}"
