"""Appointments of an orientation: recording them, their attendance, what follows two missed
ones, the reminders to the person, and the appointments passed without an outcome.

* The partner records an appointment (date, time if known, place, with whom) once it has
  acknowledged the orientation. A date in the past is accepted (the appointment happened: its
  attendance may be recorded at once); a date before the orientation was sent is refused.
  ``orientations.first_appointment_on`` (API contract) is derived: the earliest appointment not
  cancelled by the person nor moved to another date. Taking in charge with a first-appointment
  date creates that appointment (``on_status_changed``).
* Attendance: came, did not come, cancelled by the person, rescheduled (a new appointment,
  linked). After two "did not come" the partner may close the orientation for that reason or
  hand it back to the sender (transitions ``close_missed`` and ``hand_back`` of
  app/orientation/status.py), who is told.
* The person who asked for news is told (``tell_person``) when an appointment to come is
  recorded or an appointment is moved: date, time, place, with whom, and the "Je ne peux pas
  venir" link, by the follow-up's channel, once per appointment.
* Reminders: to the person who asked for news (the follow-up's channel, app/followup), two
  working days before and on the morning of the appointment, with the place, the time and a link
  to say "Je ne peux pas venir" (which tells the partner). ``appointments remind`` (cron) queues
  them in the outbox; ``appointment_reminders`` records each one queued (at most one per
  appointment and kind) and the outbox's deduplication key backs it: running it twice, or two
  runs at once, queue nothing twice. None is queued, and those still waiting in the outbox are
  dropped, once the person withdrew (app/followup), the orientation ended, or the appointment
  was cancelled, moved or its attendance recorded.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from app.appointments.models import (
    ATTENDANCES,
    PLACE_KINDS,
    SCHEDULED,
    Appointment,
    AppointmentReminder,
)
from app.auth.models import User
from app.core import audit
from app.core.crypto import token_digest
from app.core.db import db, key_ring, utcnow
from app.core.errors import Conflict, InvalidTransition
from app.core.validation import FieldErrors, clean_code, clean_date, clean_text
from app.directory.models import Structure
from app.followup import services as followup
from app.notifications.models import FAILED, PENDING, OutboxMessage
from app.notifications.services import queue
from app.orientation import notify
from app.orientation.deadlines import PARIS, add_working_days, local_date, working_days_between
from app.orientation.models import Orientation
from app.orientation.services import transition
from app.orientation.status import OPEN_STATUSES, OrientationStatus

log = logging.getLogger(__name__)

# An appointment is fixed once the structure has acknowledged the orientation.
RECORDABLE = (OrientationStatus.ACKNOWLEDGED, OrientationStatus.IN_CHARGE)
# What counts as "the first appointment": not cancelled by the person, nor moved.
COUNTED = (SCHEDULED, "came", "no_show")
MISSED_TO_END = 2
END_DECISIONS = ("close", "hand_back")
# The stalled list: an appointment passed for more than this many working days, no attendance.
WITHOUT_OUTCOME_AFTER = 2
# The morning reminder is sent until the appointment's time (noon when no time was said).
MORNING_UNTIL = time(12, 0)
REMINDER_KIND = "appointment.reminder"
# The message to the person when an appointment is recorded or moved (its date, time, place).
NOTICE_KIND = "appointment.notice"
PERSON_KINDS = (REMINDER_KIND, NOTICE_KIND)
# The person's link works until this many days after the appointment.
PERSON_LINK_DAYS = 30
MAX_YEARS_AHEAD = 2
MAX_PLACE = 300
MAX_WITH_WHOM = 200


# -- reading ----------------------------------------------------------------------------------
def structure_addresses(structure: Structure) -> list[str]:
    """The structure's addresses offered as a place (today a structure has one)."""
    return [structure.address] if structure.address else []


def missed_count(orientation: Orientation) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.orientation_id == orientation.id, Appointment.status == "no_show")) or 0


def may_end_after_missed(orientation: Orientation) -> bool:
    return orientation.status in RECORDABLE and missed_count(orientation) >= MISSED_TO_END


def _refresh_first(orientation: Orientation) -> None:
    """``first_appointment_on``: the earliest appointment counted."""
    db.session.flush()
    first = db.session.scalar(sa.select(sa.func.min(Appointment.scheduled_on)).where(
        Appointment.orientation_id == orientation.id, Appointment.status.in_(COUNTED)))
    if orientation.first_appointment_on != first:
        db.session.execute(sa.update(Orientation).where(Orientation.id == orientation.id)
                           .values(first_appointment_on=first)
                           .execution_options(synchronize_session=False))
        db.session.refresh(orientation, ["first_appointment_on"])


# -- cleaning ---------------------------------------------------------------------------------
def _clean_date(errors: FieldErrors, field: str, value: Any, orientation: Orientation
                ) -> date | None:
    if value is None or value == "":
        errors.add(field, _("Indiquez la date du rendez-vous."))
        return None
    value = clean_date(errors, field, value)
    if value is None:
        return None
    if value < orientation.sent_on:
        errors.add(field, _("Le rendez-vous ne peut pas précéder l'envoi de l'orientation, le "
                            "%(d)s : vérifiez la date.", d=orientation.sent_on.strftime("%d/%m/%Y")))
        return None
    today = local_date(utcnow())
    if value > today + timedelta(days=366 * MAX_YEARS_AHEAD):
        errors.add(field, _("Le rendez-vous ne peut pas être fixé plus de deux ans à l'avance."))
        return None
    return value


def _clean_time(errors: FieldErrors, field: str, value: Any) -> time | None:
    if value is None or value == "":
        return None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str):
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and len(value) <= 8 and parsed.tzinfo is None:
            return parsed.replace(second=0, microsecond=0)
    errors.add(field, _("Heure invalide : utilisez le format HH:MM (par exemple 14:30)."))
    return None


@dataclass
class Slot:
    scheduled_on: date
    scheduled_time: time | None
    place_kind: str | None
    place: str | None
    with_whom: str | None


def _clean_slot(errors: FieldErrors, data: dict[str, Any], orientation: Orientation,
                prefix: str = "") -> Slot:
    structure = db.session.get(Structure, orientation.structure_id)
    on = _clean_date(errors, f"{prefix}scheduled_on", data.get("scheduled_on"), orientation)
    at = _clean_time(errors, f"{prefix}scheduled_time", data.get("scheduled_time"))
    kind = clean_code(errors, f"{prefix}place_kind", data.get("place_kind"), PLACE_KINDS)
    place = None
    if kind == "address":
        addresses = structure_addresses(structure)
        chosen = data.get("place")
        if not addresses:
            errors.add(f"{prefix}place_kind", _("L'annuaire ne connaît pas d'adresse pour cette "
                                                "structure : choisissez « par téléphone » ou "
                                                "« autre lieu »."))
        elif chosen in (None, ""):
            place = addresses[0]
        elif chosen not in addresses:
            errors.add(f"{prefix}place", _("Choisissez une des adresses de la structure."))
        else:
            place = chosen
    elif kind == "other":
        place = clean_text(errors, f"{prefix}place", data.get("place"), required=True,
                           max_length=MAX_PLACE, multiline=True)
    with_whom = clean_text(errors, f"{prefix}with_whom", data.get("with_whom"),
                           max_length=MAX_WITH_WHOM)
    return Slot(on, at, kind, place, with_whom)


def _ensure_recordable(orientation: Orientation) -> None:
    if orientation.status not in RECORDABLE:
        raise InvalidTransition(_("Un rendez-vous se fixe une fois l'orientation prise en compte "
                                  "et tant qu'elle est en cours (elle est à l'état « %(s)s »).",
                                  s=orientation.status))


# -- recording --------------------------------------------------------------------------------
def _new(orientation: Orientation, slot: Slot, actor: Any, actor_label: str | None
         ) -> Appointment:
    appointment = Appointment(
        orientation_id=orientation.id, scheduled_on=slot.scheduled_on,
        scheduled_time=slot.scheduled_time, place_kind=slot.place_kind, status=SCHEDULED,
        created_at=utcnow(), created_by_id=getattr(actor, "id", None),
        created_by_label=actor_label or getattr(actor, "display_name", None), version=1)
    appointment.place_text = slot.place
    appointment.with_whom = slot.with_whom
    appointment.person_token_hash = token_digest(person_token(appointment))
    db.session.add(appointment)
    db.session.flush()
    return appointment


def record_appointment(orientation: Orientation, data: dict[str, Any], actor: Any,
                       actor_label: str | None = None) -> Appointment:
    """A new appointment of ``orientation``; with ``data["attendance"]`` its outcome at once
    (an appointment already passed)."""
    errors = FieldErrors()
    slot = _clean_slot(errors, data, orientation)
    attendance = data.get("attendance")
    if attendance not in (None, ""):
        attendance = clean_code(errors, "attendance", attendance,
                                [a for a in ATTENDANCES if a != "rescheduled"])
        if attendance in ("came", "no_show") and slot.scheduled_on \
                and slot.scheduled_on > local_date(utcnow()):
            errors.add("attendance", _("Ce rendez-vous n'a pas encore eu lieu : sa présence "
                                       "s'enregistrera après."))
    else:
        attendance = None
    errors.raise_if_any()
    _ensure_recordable(orientation)
    appointment = _new(orientation, slot, actor, actor_label)
    audit.record("appointment.record", actor=actor, actor_kind=None if actor else "contact",
                 object_type="appointment", object_id=appointment.id,
                 person_id=orientation.person_id,
                 details={"orientation": orientation.id,
                          "scheduled_on": slot.scheduled_on.isoformat(),
                          "place_kind": slot.place_kind})
    if attendance:
        _set_attendance(appointment, orientation, attendance, actor, actor_label)
    else:
        tell_person(appointment, orientation)
    _refresh_first(orientation)
    return appointment


def _set_attendance(appointment: Appointment, orientation: Orientation, attendance: str,
                    actor: Any, actor_label: str | None,
                    rescheduled_to: Appointment | None = None) -> None:
    """The conditional update: two referents recording at once cannot both win."""
    db.session.flush()
    result = db.session.execute(
        sa.update(Appointment).where(Appointment.id == appointment.id,
                                     Appointment.version == appointment.version,
                                     Appointment.status == SCHEDULED)
        .values(status=attendance, version=Appointment.version + 1, attendance_at=utcnow(),
                attendance_by_id=getattr(actor, "id", None),
                attendance_by_label=actor_label or getattr(actor, "display_name", None),
                rescheduled_to_id=rescheduled_to.id if rescheduled_to else None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition(_("La présence à ce rendez-vous vient d'être enregistrée par "
                                  "quelqu'un d'autre : rechargez la page."))
    db.session.refresh(appointment)
    drop_pending_reminders([appointment.id])
    audit.record("appointment.attendance", actor=actor, actor_kind=None if actor else "contact",
                 object_type="appointment", object_id=appointment.id,
                 person_id=orientation.person_id,
                 details={"orientation": orientation.id, "attendance": attendance,
                          "rescheduled_to": rescheduled_to.id if rescheduled_to else None})


def record_attendance(appointment: Appointment, attendance: Any, actor: Any,
                      actor_label: str | None = None,
                      new_appointment: dict[str, Any] | None = None) -> Appointment:
    """What became of ``appointment``; ``rescheduled`` needs the new appointment's date (and
    place), recorded and linked. Returns the appointment (its ``rescheduled_to_id`` the new)."""
    orientation = db.session.get(Orientation, appointment.orientation_id)
    errors = FieldErrors()
    attendance = clean_code(errors, "attendance", attendance, ATTENDANCES)
    slot = None
    if attendance == "rescheduled":
        if not isinstance(new_appointment, dict):
            errors.add("new_appointment", _("Indiquez la nouvelle date du rendez-vous."))
        else:
            slot = _clean_slot(errors, new_appointment, orientation, prefix="new_appointment.")
    if attendance in ("came", "no_show") and appointment.scheduled_on > local_date(utcnow()):
        errors.add("attendance", _("Ce rendez-vous n'a pas encore eu lieu : sa présence "
                                   "s'enregistrera après le %(d)s.",
                                   d=appointment.scheduled_on.strftime("%d/%m/%Y")))
    errors.raise_if_any()
    if not appointment.is_scheduled:
        raise InvalidTransition(_("La présence à ce rendez-vous est déjà enregistrée."))
    _ensure_recordable(orientation)
    new = _new(orientation, slot, actor, actor_label) if slot is not None else None
    if new is not None:
        audit.record("appointment.record", actor=actor, actor_kind=None if actor else "contact",
                     object_type="appointment", object_id=new.id,
                     person_id=orientation.person_id,
                     details={"orientation": orientation.id, "rescheduled_from": appointment.id,
                              "scheduled_on": new.scheduled_on.isoformat(),
                              "place_kind": new.place_kind})
    _set_attendance(appointment, orientation, attendance, actor, actor_label, new)
    if new is not None:
        tell_person(new, orientation, moved_from=appointment)
    _refresh_first(orientation)
    return appointment


def end_after_missed(orientation: Orientation, decision: Any, actor: Any,
                     comment: Any = None, actor_label: str | None = None) -> Orientation:
    """After two missed appointments: close the orientation for that reason, or hand it back
    to the sender (who is told, ``notify.status_changed``)."""
    errors = FieldErrors()
    decision = clean_code(errors, "decision", decision, END_DECISIONS)
    note = clean_text(errors, "comment", comment, max_length=2000, multiline=True)
    errors.raise_if_any()
    if orientation.status not in RECORDABLE:
        raise InvalidTransition(_("Action impossible : l'orientation est à l'état « %(s)s ».",
                                  s=orientation.status))
    missed = missed_count(orientation)
    if missed < MISSED_TO_END:
        raise Conflict(ngettext("Possible après deux rendez-vous manqués (%(num)d enregistré).",
                                "Possible après deux rendez-vous manqués (%(num)d enregistrés).",
                                missed))
    reason = "La personne n'est pas venue à deux rendez-vous."
    if note:
        reason = f"{reason}\n{note}"
    if decision == "close":
        transition(orientation, "close_missed", actor, reason=reason, actor_label=actor_label,
                   values={"closed_at": utcnow()})
        orientation.outcome = reason
    else:
        transition(orientation, "hand_back", actor, reason=reason, actor_label=actor_label,
                   values={"refusal_code": "missed_appointments"})
    notify.status_changed(orientation)  # the sender is told; the hooks stop the reminders
    return orientation


# -- the orientation's hooks ------------------------------------------------------------------
def on_status_changed(orientation: Orientation) -> None:
    """Registered with app/orientation/notify: a taking in charge with a first-appointment date
    creates that appointment; an orientation that ended sends no more reminders."""
    if orientation.status not in OPEN_STATUSES:
        ids = list(db.session.scalars(sa.select(Appointment.id).where(
            Appointment.orientation_id == orientation.id)))
        drop_pending_reminders(ids)
        return
    if orientation.status == OrientationStatus.IN_CHARGE and orientation.first_appointment_on:
        exists = db.session.scalar(sa.select(Appointment.id).where(
            Appointment.orientation_id == orientation.id,
            Appointment.scheduled_on == orientation.first_appointment_on,
            Appointment.status.in_(COUNTED)).limit(1))
        if exists is None:
            slot = Slot(orientation.first_appointment_on, None, None, None, None)
            appointment = _new(orientation, slot, None, orientation.referent_label)
            appointment.created_by_id = orientation.referent_id
            audit.record("appointment.record", actor_kind="system", object_type="appointment",
                         object_id=appointment.id, person_id=orientation.person_id,
                         details={"orientation": orientation.id, "from": "take_charge",
                                  "scheduled_on": appointment.scheduled_on.isoformat()})
        _refresh_first(orientation)


# -- the person's link ------------------------------------------------------------------------
def person_token(appointment: Appointment) -> str:
    """The token of the person's link: derived from the appointment under the index key (the
    same in both reminders), stored only as a hash."""
    digest = bytes.fromhex(key_ring().blind_index("appointment-person", str(appointment.id)))
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def person_link(appointment: Appointment) -> str:
    if appointment.person_token_hash is None:  # appointments carried over by migration 0021
        appointment.person_token_hash = token_digest(person_token(appointment))
    base = current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
    return f"{base}/suivi/rendez-vous/{person_token(appointment)}"


def by_person_token(raw: str | None) -> Appointment | None:
    """The appointment of a person's link, while it is useful (until 30 days after)."""
    if not raw or len(raw) > 100:
        return None
    appointment = db.session.scalars(sa.select(Appointment).where(
        Appointment.person_token_hash == token_digest(raw))).first()
    if appointment is None:
        return None
    if local_date(utcnow()) > appointment.scheduled_on + timedelta(days=PERSON_LINK_DAYS):
        return None
    return appointment


def person_may_say_cannot_come(appointment: Appointment, orientation: Orientation) -> bool:
    return (appointment.is_scheduled and appointment.person_cannot_come_at is None
            and orientation.status in RECORDABLE
            and appointment.scheduled_on >= local_date(utcnow()))


def person_cannot_come(appointment: Appointment) -> bool:
    """The person says "Je ne peux pas venir": the partner is told (once), no more reminder.
    False when it is too late or already said."""
    orientation = db.session.get(Orientation, appointment.orientation_id)
    if not person_may_say_cannot_come(appointment, orientation):
        return False
    done = db.session.execute(
        sa.update(Appointment).where(Appointment.id == appointment.id,
                                     Appointment.person_cannot_come_at.is_(None))
        .values(person_cannot_come_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(appointment)
    if not done:
        return False
    drop_pending_reminders([appointment.id])
    structure = db.session.get(Structure, orientation.structure_id)
    when = describe_when(appointment)
    for address in _partner_addresses(orientation, structure):
        queue(address, f"Rendez-vous : la personne ne pourra pas venir ({structure.name})",
              "Bonjour,\n\n"
              f"La personne orientée vers {structure.name} a indiqué qu'elle ne pourra pas venir "
              f"au rendez-vous {when}.\n"
              "Proposez-lui une autre date et enregistrez-la dans Passerelle : "
              f"{notify.link(orientation)}\n\n"
              "Ce message ne contient aucune information sur la personne.\n",
              kind="appointment.cannot_come", related_type="orientation",
              related_id=orientation.id,
              dedupe_key=f"appointment.cannot_come:{appointment.id}:{address}")
    audit.record("appointment.cannot_come", actor_kind="person", object_type="appointment",
                 object_id=appointment.id, person_id=orientation.person_id,
                 details={"orientation": orientation.id})
    return True


def _partner_addresses(orientation: Orientation, structure: Structure) -> list[str]:
    """The orientation's referent, else whom its messages go to."""
    referent = db.session.get(User, orientation.referent_id) if orientation.referent_id else None
    if referent is not None and referent.active:
        return [referent.email]
    return notify.partner_recipients(orientation, structure)


# -- reminders --------------------------------------------------------------------------------
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


def describe_when(appointment: Appointment) -> str:
    """"le jeudi 12 mars 2026 à 14 h 30", in plain French."""
    on = appointment.scheduled_on
    text = f"le {DAYS[on.weekday()]} {on.day} {MONTHS[on.month - 1]} {on.year}"
    if appointment.scheduled_time:
        text += f" à {appointment.scheduled_time.hour} h {appointment.scheduled_time.minute:02d}"
    return text


def describe_place(appointment: Appointment) -> str | None:
    if appointment.place_kind == "phone":
        return "par téléphone : la structure vous appellera"
    if appointment.place_kind in ("address", "other") and appointment.place_text:
        return appointment.place_text
    return None


def drop_pending_reminders(appointment_ids: list) -> int:
    """Reminders and notices still waiting in the outbox (queued, or failed and awaiting a
    retry) for these appointments are dropped: none leaves after a cancellation, a move or the
    orientation's end."""
    if not appointment_ids:
        return 0
    keys = [_dedupe_key(i, kind) for i in appointment_ids for kind in ("before", "day")] + [
        f"{NOTICE_KIND}:{i}" for i in appointment_ids]
    return db.session.execute(sa.delete(OutboxMessage).where(
        OutboxMessage.kind.in_(PERSON_KINDS), OutboxMessage.dedupe_key.in_(keys),
        OutboxMessage.status.in_((PENDING, FAILED)))
        .execution_options(synchronize_session=False)).rowcount


def _dedupe_key(appointment_id: Any, kind: str) -> str:
    return f"appointment.reminder:{appointment_id}:{kind}"


def due_kinds(appointment: Appointment, now: datetime) -> list[str]:
    """The reminders due at ``now``: "before" from two working days before the appointment
    (not on its day), "day" on its day until its time (noon when no time was said)."""
    today = local_date(now)
    if appointment.scheduled_on > today:
        return ["before"] if working_days_between(today, appointment.scheduled_on) <= 2 else []
    if appointment.scheduled_on == today:
        until = appointment.scheduled_time or MORNING_UNTIL
        return ["day"] if now.astimezone(PARIS).time() < until else []
    return []


def _message(appointment: Appointment, structure: Structure, channel: str, kind: str,
             stop: str) -> tuple[str, str]:
    when, place = describe_when(appointment), describe_place(appointment)
    link = person_link(appointment)
    if channel == "sms":
        text = (f"Rappel : rendez-vous avec {structure.name} {when}"
                f"{' (' + place + ')' if place else ''}. Vous ne pouvez pas venir ? "
                f"Dites-le ici : {link} . Ne plus recevoir de messages : {stop}")
        return "Rappel de rendez-vous", text
    lines = [f"Bonjour,\n\nRappel : vous avez rendez-vous avec {structure.name} {when}"
             + (" (c'est aujourd'hui)." if kind == "day" else ".")]
    if place:
        lines.append(f"Lieu : {place}.")
    if appointment.with_whom:
        lines.append(f"Vous serez reçu(e) par : {appointment.with_whom}.")
    lines.append(f"\nVous ne pouvez pas venir ? Dites-le ici, la structure sera prévenue : {link}")
    lines.append(f"\nPour ne plus recevoir ces messages : {stop}\n")
    return "Rappel de votre rendez-vous", "\n".join(lines)


def _notice(appointment: Appointment, structure: Structure, channel: str, stop: str,
            moved_from: Appointment | None) -> tuple[str, str]:
    when, place = describe_when(appointment), describe_place(appointment)
    link = person_link(appointment)
    if channel == "sms":
        head = (f"Votre rendez-vous avec {structure.name} du {describe_when(moved_from)[3:]} "
                f"est déplacé {when}" if moved_from is not None
                else f"Rendez-vous avec {structure.name} {when}")
        text = (f"{head}{' (' + place + ')' if place else ''}. Vous ne pouvez pas venir ? "
                f"Dites-le ici : {link} . Ne plus recevoir de messages : {stop}")
        return "Votre rendez-vous", text
    if moved_from is not None:
        lines = [f"Bonjour,\n\nVotre rendez-vous avec {structure.name} prévu "
                 f"{describe_when(moved_from)} est déplacé : il aura lieu {when}."]
    else:
        lines = [f"Bonjour,\n\n{structure.name} vous donne rendez-vous {when}."]
    if place:
        lines.append(f"Lieu : {place}.")
    if appointment.with_whom:
        lines.append(f"Vous serez reçu(e) par : {appointment.with_whom}.")
    lines.append("Vous recevrez un rappel deux jours avant et le matin du rendez-vous.")
    lines.append(f"\nVous ne pouvez pas venir ? Dites-le ici, la structure sera prévenue : {link}")
    lines.append(f"\nPour ne plus recevoir ces messages : {stop}\n")
    return ("Votre rendez-vous a changé" if moved_from is not None else "Votre rendez-vous",
            "\n".join(lines))


def tell_person(appointment: Appointment, orientation: Orientation,
                moved_from: Appointment | None = None) -> bool:
    """When an appointment to come is recorded, or an appointment is moved to it: a message to
    the person who asked for news (the follow-up's channel, like the reminders), with the date,
    time, place and the "Je ne peux pas venir" link; queued once per appointment, none after
    the person withdrew. False when nothing was queued."""
    if appointment.scheduled_on < local_date(utcnow()) or orientation.status not in RECORDABLE:
        return False
    chosen = followup.updates_followup(orientation)
    if chosen is None:
        return False
    structure = db.session.get(Structure, orientation.structure_id)
    subject, body = _notice(appointment, structure, chosen.updates_channel,
                            followup.stop_link(chosen), moved_from)
    message = queue(chosen.updates_contact, subject, body, kind=NOTICE_KIND,
                    channel=chosen.updates_channel, related_type="orientation",
                    related_id=orientation.id, dedupe_key=f"{NOTICE_KIND}:{appointment.id}")
    if message is None:
        return False
    audit.record("appointment.notice", actor_kind="system", object_type="appointment",
                 object_id=appointment.id, person_id=orientation.person_id,
                 details={"channel": chosen.updates_channel,
                          "moved_from": moved_from.id if moved_from is not None else None})
    return True


@dataclass
class RemindReport:
    queued: int = 0
    skipped: int = 0   # due, but the person asked for no news (or withdrew)


def remind(now: datetime | None = None) -> RemindReport:
    """Queue the reminders due at ``now``; safe to run any number of times, even at once.

    Each appointment is committed on its own."""
    now = now or utcnow()
    today = local_date(now)
    horizon = add_working_days(today, 2)
    report = RemindReport()
    rows = db.session.execute(
        sa.select(Appointment.id).join(Orientation, Orientation.id == Appointment.orientation_id)
        .where(Appointment.status == SCHEDULED, Appointment.person_cannot_come_at.is_(None),
               Appointment.scheduled_on.between(today, horizon),
               Orientation.status.in_(RECORDABLE))
        .order_by(Appointment.scheduled_on, Appointment.id)).scalars().all()
    for appointment_id in rows:
        appointment = db.session.get(Appointment, appointment_id)
        orientation = db.session.get(Orientation, appointment.orientation_id)
        for kind in due_kinds(appointment, now):
            done = db.session.scalar(sa.select(AppointmentReminder.id).where(
                AppointmentReminder.appointment_id == appointment.id,
                AppointmentReminder.kind == kind))
            if done is not None:
                continue
            chosen = followup.updates_followup(orientation)
            if chosen is None:
                report.skipped += 1
                continue
            structure = db.session.get(Structure, orientation.structure_id)
            subject, body = _message(appointment, structure, chosen.updates_channel, kind,
                                     followup.stop_link(chosen))
            try:
                with db.session.begin_nested():
                    db.session.add(AppointmentReminder(
                        appointment_id=appointment.id, kind=kind,
                        channel=chosen.updates_channel, queued_at=utcnow()))
                    db.session.flush()
            except sa.exc.IntegrityError:
                continue  # a concurrent run queued it first
            message = queue(chosen.updates_contact, subject, body, kind=REMINDER_KIND,
                            channel=chosen.updates_channel, related_type="orientation",
                            related_id=orientation.id,
                            dedupe_key=_dedupe_key(appointment.id, kind))
            if message is not None:
                report.queued += 1
                audit.record("appointment.reminder", actor_kind="system",
                             object_type="appointment", object_id=appointment.id,
                             person_id=orientation.person_id,
                             details={"kind": kind, "channel": chosen.updates_channel})
        db.session.commit()
    return report


# -- retention --------------------------------------------------------------------------------
def erase_for_retention(orientations: sa.Select) -> int:
    """The appointments of these orientations (a select of their ids) when their person's file
    is anonymised (app/retention): the place and with whom are erased, the person's link dies,
    the reminders still waiting in the outbox are dropped and the delivered ones keep no
    recipient. Dates, times and attendance stay, so the indicators do not change. Returns how
    many appointments."""
    ids = list(db.session.scalars(sa.select(Appointment.id).where(
        Appointment.orientation_id.in_(orientations))))
    if not ids:
        return 0
    columns = {Appointment.__encrypted__[f].storage: None for f in ("place_text", "with_whom")}
    db.session.execute(sa.update(Appointment).where(Appointment.id.in_(ids))
                       .values(person_token_hash=None, **columns)
                       .execution_options(synchronize_session=False))
    drop_pending_reminders(ids)
    # The messages to the person about these appointments: those still waiting are dropped,
    # the delivered ones keep no recipient.
    to_person = sa.and_(OutboxMessage.kind.in_(PERSON_KINDS),
                        OutboxMessage.related_type == "orientation",
                        OutboxMessage.related_id.in_(orientations))
    db.session.execute(sa.delete(OutboxMessage).where(
        to_person, OutboxMessage.status.in_((PENDING, FAILED)))
        .execution_options(synchronize_session=False))
    recipient = OutboxMessage.__encrypted__["recipient"].storage
    db.session.execute(sa.update(OutboxMessage).where(to_person)
                       .values({recipient: None})
                       .execution_options(synchronize_session=False))
    return len(ids)


# -- the stalled list -------------------------------------------------------------------------
def without_outcome_cutoff(today: date) -> date:
    """The latest date of an appointment passed for more than ``WITHOUT_OUTCOME_AFTER``
    working days at ``today``."""
    day = today
    while working_days_between(day, today) <= WITHOUT_OUTCOME_AFTER:
        day -= timedelta(days=1)
    return day


@dataclass
class WithoutOutcome:
    appointment: Appointment
    orientation: Orientation
    working_days: int


def without_outcome_page(orientations: sa.Select, today: date | None = None, limit: int = 50,
                         offset: int = 0) -> tuple[list[WithoutOutcome], int]:
    """Appointments passed without an outcome, of the orientations of ``orientations`` (a
    scoped select, e.g. a coordinator's territory) still in progress: oldest first, and their
    total."""
    today = today or local_date(utcnow())
    scope = orientations.with_only_columns(Orientation.id).subquery()
    query = (sa.select(Appointment, Orientation)
             .join(Orientation, Orientation.id == Appointment.orientation_id)
             .where(Appointment.status == SCHEDULED,
                    Appointment.scheduled_on <= without_outcome_cutoff(today),
                    Orientation.status.in_(RECORDABLE),
                    Orientation.id.in_(sa.select(scope.c.id))))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(query.order_by(Appointment.scheduled_on, Appointment.id)
                              .limit(limit).offset(offset)).all()
    return [WithoutOutcome(a, o, working_days_between(a.scheduled_on, today))
            for a, o in rows], total
