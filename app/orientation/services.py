"""The orientation state machine, in one module.

::

    sent ──acknowledge──▶ acknowledged ──take_charge──▶ in_charge ──close──▶ closed
      │  ╲                    │   ╲
      │   refuse / redirect   │    refuse / redirect
      ▼                       ▼
    cancelled (by the sender, before acknowledgment)   refused   redirected (→ a new orientation)

Access follows the state: leaving for ``refused``, ``redirected`` or ``cancelled`` ends the
orientation's contact links and leaves its structure a tombstone (see scopes.py). A redirect
carries the person's data to the new structure only if the person accepted a redirect at
consent; otherwise the new orientation awaits the sender's re-confirmation
(``confirm_consent``) and its structure sees nothing of the person until then.

Every change is a conditional update on the current status and version, so that two referents
racing to acknowledge cannot both win (the database decides; the loser gets 409); every change
appends an event (who, when, from, to, reason), writes its notifications to the outbox and its
audit entry, in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.accueil.models import Person, Visit
from app.auth.models import User
from app.core import audit
from app.core.db import db, utcnow
from app.core.enums import Domain, Role
from app.core.errors import InvalidTransition
from app.core.validation import FieldErrors, clean_code, clean_date, clean_text
from app.directory.models import Site, Structure
from app.directory.services import find_structure
from app.orientation import contact, notify, urgency
from app.orientation.deadlines import add_working_days, local_date
from app.orientation.models import SHAREABLE_FIELDS, Orientation, OrientationEvent
from app.orientation.sharing import carry_shares, clean_shares, save_shares
from app.orientation.status import (
    OPEN_STATUSES,
    TOMBSTONE_STATUSES,
    TRANSITIONS,
    OrientationStatus,
)

REFUSAL_CODES = ("not_competent", "outside_territory", "already_followed", "unreachable",
                 "declined_by_person", "no_capacity", "other")
MAX_MOTIVE = 5000


# -- delays -----------------------------------------------------------------------------------
def delays(structure: Structure) -> tuple[int, int]:
    config = current_app.config
    return (structure.ack_delay or config["ACK_DELAY"],
            structure.take_charge_delay or config["TAKE_CHARGE_DELAY"])


def due_dates(structure: Structure, domain: str, sent_on: date, urgent: bool) -> tuple[date, date]:
    """The acknowledgment and take-charge due dates of an orientation sent on ``sent_on``: the
    structure's delays, or the urgent clock of the domain (``urgency.clock``) when it is urgent
    (never later than the structure's own delays)."""
    ack_delay, take_delay = delays(structure)
    ack, take = add_working_days(sent_on, ack_delay), add_working_days(sent_on, take_delay)
    if urgent:
        clock = urgency.clock(domain)
        ack = min(ack, urgency.due(sent_on, clock.acknowledge))
        take = min(take, urgency.due(sent_on, clock.take_charge))
    return ack, take


# -- events -----------------------------------------------------------------------------------
def _event(orientation: Orientation, kind: str, actor: Any, *, from_status: str | None = None,
           to_status: str | None = None, reason: str | None = None,
           actor_label: str | None = None) -> OrientationEvent:
    """Append an event; its number is the orientation's version after the change."""
    event = OrientationEvent(orientation_id=orientation.id, seq=orientation.version, at=utcnow(),
                             kind=kind, actor_id=getattr(actor, "id", None),
                             actor_label=actor_label or getattr(actor, "display_name", None),
                             from_status=from_status, to_status=to_status)
    event.reason = reason
    db.session.add(event)
    return event


def _bump(orientation: Orientation, allowed: frozenset[str] | None, values: dict[str, Any]) -> None:
    """The conditional update: applies only if nobody changed the orientation meanwhile."""
    condition = [Orientation.id == orientation.id, Orientation.version == orientation.version]
    if allowed is not None:
        condition.append(Orientation.status.in_(allowed))
    result = db.session.execute(
        sa.update(Orientation).where(*condition)
        .values(version=Orientation.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition(_("Cette orientation vient d'être modifiée par quelqu'un d'autre : rechargez-la."))
    db.session.refresh(orientation)


def append_event(orientation: Orientation, kind: str, actor: Any, reason: str | None = None,
                 actor_label: str | None = None) -> OrientationEvent:
    """An event that changes no status (reminder, escalation, comment)."""
    db.session.flush()
    _bump(orientation, None, {})
    return _event(orientation, kind, actor, reason=reason, actor_label=actor_label)


def transition(orientation: Orientation, action: str, actor: Any, *, reason: str | None = None,
               values: dict[str, Any] | None = None, actor_label: str | None = None
               ) -> Orientation:
    allowed, target = TRANSITIONS[action]
    if orientation.status not in allowed:
        raise InvalidTransition(
            _("Action impossible : l'orientation est à l'état « %(s)s ».", s=orientation.status))
    before = orientation.status
    db.session.flush()
    values = dict(values or {})
    if target not in OPEN_STATUSES:
        values.setdefault("ended_at", utcnow())
    _bump(orientation, allowed, {"status": target, **values})
    _event(orientation, "transition", actor, from_status=before, to_status=target, reason=reason,
           actor_label=actor_label)
    audit.record(f"orientation.{action}", actor=actor, actor_kind=None if actor else "contact",
                 object_type="orientation", object_id=orientation.id,
                 person_id=orientation.person_id, details={"from": before, "to": target})
    if target in TOMBSTONE_STATUSES:
        contact.end_links(orientation, actor)
    return orientation


# -- sending ----------------------------------------------------------------------------------
class Consent(NamedTuple):
    given: bool
    shared: list[str]
    shared_needs: list[str]
    purpose: str | None
    accepts_redirect: bool


def _clean_consent(errors: FieldErrors, consent: Any, domain: str | None,
                   visit: Visit | None) -> Consent:
    """The person's consent: to the orientation, to each shared field, to each need of the
    visit shared (default: the need of the oriented domain, when "needs" is shared), and to a
    redirect to another structure (default: no)."""
    if not isinstance(consent, dict):
        errors.add("consent", _("Le consentement de la personne est obligatoire."))
        return Consent(False, [], [], None, False)
    if consent.get("given") is not True:
        errors.add("consent.given", _("Sans l'accord de la personne, aucune orientation n'est possible."))
    fields = consent.get("shared_fields") or []
    if not isinstance(fields, list) or any(f not in SHAREABLE_FIELDS for f in fields):
        errors.add("consent.shared_fields", _("Champs partageables : %(f)s.",
                                              f=", ".join(SHAREABLE_FIELDS)))
        fields = []
    purpose = clean_text(errors, "consent.purpose", consent.get("purpose"), max_length=500,
                         multiline=True)
    accepts_redirect = consent.get("accepts_redirect", False)
    if accepts_redirect is None:
        accepts_redirect = False
    if not isinstance(accepts_redirect, bool):
        errors.add("consent.accepts_redirect", _("Indiquez oui (true) ou non (false)."))
        accepts_redirect = False
    available = [n.domain for n in visit.needs] if visit is not None else []
    needs = consent.get("shared_needs")
    if needs is None:  # the default: the need the orientation is about, if needs are shared
        needs = [domain] if "needs" in fields and domain in available else []
    elif not isinstance(needs, list) or any(n not in available for n in needs):
        errors.add("consent.shared_needs", _("Besoins du passage : %(n)s.",
                                             n=", ".join(available) or _("aucun")))
        needs = []
    needs = [d for d in available if d in needs]
    shared = [f for f in SHAREABLE_FIELDS if f in fields and f != "needs"]
    if needs:
        shared.append("needs")
    return Consent(consent.get("given") is True, shared, needs, purpose, accepts_redirect)


def send_orientation(person: Person, data: dict[str, Any], actor: Any) -> Orientation:
    """Orient ``person`` to a structure with their consent; notify the structure's referents."""
    errors = FieldErrors()
    structure = find_structure(data.get("structure_id")) if data.get("structure_id") else None
    if structure is None or not _is_uuid(data.get("structure_id")):
        errors.add("structure_id", _("Structure inconnue ou inactive."))
        structure = None
    domain = clean_code(errors, "domain", data.get("domain"), [d.value for d in Domain])
    motive = clean_text(errors, "motive", data.get("motive"), required=True,
                        max_length=MAX_MOTIVE, multiline=True)
    override = clean_text(errors, "coverage_override", data.get("coverage_override"),
                          max_length=500, multiline=True)
    if structure and domain and domain not in structure.domains and not override:
        errors.add("structure_id", _("Cette structure ne couvre pas ce domaine : choisissez-en une autre ou indiquez la raison de ce choix."))
    visit = None
    if data.get("visit_id"):
        visit = db.session.get(Visit, _uuid_or_none(data["visit_id"])) \
            if _is_uuid(data["visit_id"]) else None
        if visit is None or visit.person_id != person.id:
            errors.add("visit_id", _("Ce passage n'appartient pas à cette personne."))
            visit = None
    consent = _clean_consent(errors, data.get("consent"), domain, visit)
    shares = clean_shares(errors, person, data.get("consent"), actor)  # documents, by feature
    referent = None
    if data.get("referent_id"):
        referent = db.session.get(User, _uuid_or_none(data["referent_id"])) \
            if _is_uuid(data["referent_id"]) else None
        if (referent is None or structure is None or referent.structure_id != structure.id
                or not referent.active or referent.role != Role.PARTENAIRE):
            errors.add("referent_id", _("Ce référent n'appartient pas à la structure choisie."))
            referent = None
    if person.merged_into_id is not None:
        errors.add("person_id", _("Ce dossier a été fusionné : orientez depuis le dossier conservé."))
    urgent = data.get("urgent")
    if urgent is not None and not isinstance(urgent, bool):
        errors.add("urgent", _("Indiquez oui (true) ou non (false)."))
    errors.raise_if_any()
    if urgent is None:  # by default, urgent when the need of this domain is
        urgent = urgency.from_visit(visit, domain)
    now = utcnow()
    sent_on = local_date(now)
    acknowledge_due, take_charge_due = due_dates(structure, domain, sent_on, urgent)
    site = db.session.get(Site, actor.site_id) if getattr(actor, "site_id", None) else None
    orientation = Orientation(
        person_id=person.id, visit_id=visit.id if visit else None, structure_id=structure.id,
        domain=domain, urgent=urgent, consent_given=consent.given, shared_fields=",".join(consent.shared),
        shared_needs=",".join(consent.shared_needs), accepts_redirect=consent.accepts_redirect,
        status=OrientationStatus.SENT,
        sender_id=actor.id, sender_site_id=getattr(actor, "site_id", None),
        territory=site.territory if site else None,
        requested_referent_id=referent.id if referent else None, sent_at=now, sent_on=sent_on,
        updated_at=now,
        acknowledge_due=acknowledge_due, take_charge_due=take_charge_due, version=1,
    )
    orientation.motive = motive
    orientation.consent_purpose = consent.purpose
    orientation.coverage_override = override
    orientation.events = []  # new: nothing to load, the first event is appended below
    db.session.add(orientation)
    if visit is not None:  # the need of that domain is oriented; the visit's outcome follows
        from app.accueil.visits import mark_oriented

        mark_oriented(visit, domain)
    db.session.flush()
    orientation.events.append(_event(orientation, "transition", actor, from_status=None,
                                     to_status=OrientationStatus.SENT))
    save_shares(orientation, shares, actor)
    audit.record("orientation.send", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=person.id,
                 details={"structure": structure.id, "domain": domain, "urgent": urgent,
                          "shared": consent.shared,
                          "shared_needs": consent.shared_needs,
                          "accepts_redirect": consent.accepts_redirect})
    notify.new_orientation(orientation, structure, referent)
    return orientation


def _is_uuid(value: Any) -> bool:
    return _uuid_or_none(value) is not None


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


# -- the partner's actions --------------------------------------------------------------------
def acknowledge(orientation: Orientation, actor: Any, actor_label: str | None = None) -> Orientation:
    now = utcnow()
    transition(orientation, "acknowledge", actor, actor_label=actor_label, values={
        "acknowledged_at": now, "acknowledged_on": local_date(now),
        "referent_id": getattr(actor, "id", None),
        "referent_label": actor_label or getattr(actor, "display_name", None)})
    notify.status_changed(orientation)
    return orientation


def take_charge(orientation: Orientation, actor: Any, first_appointment_on: Any = None,
                actor_label: str | None = None) -> Orientation:
    errors = FieldErrors()
    appointment = _clean_future_date(errors, "first_appointment_on", first_appointment_on)
    errors.raise_if_any()
    now = utcnow()
    transition(orientation, "take_charge", actor, actor_label=actor_label, values={
        "taken_charge_at": now, "taken_charge_on": local_date(now),
        "first_appointment_on": appointment})
    notify.status_changed(orientation)
    return orientation


def _clean_future_date(errors: FieldErrors, field: str, value: Any) -> date | None:
    value = clean_date(errors, field, value)
    if value is None:
        return None
    if value < local_date(utcnow()):
        errors.add(field, _("La date du premier rendez-vous ne peut pas être passée."))
        return None
    return value


def _required_reason(field: str, reason: Any, max_length: int = 2000) -> str:
    errors = FieldErrors()
    text = clean_text(errors, field, reason, required=True, max_length=max_length, multiline=True)
    errors.raise_if_any()
    return text


def refuse(orientation: Orientation, actor: Any, reason: Any, code: Any = None,
           actor_label: str | None = None) -> Orientation:
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, required=True, max_length=2000, multiline=True)
    code = clean_code(errors, "reason_code", code or "other", REFUSAL_CODES)
    errors.raise_if_any()
    transition(orientation, "refuse", actor, reason=text, actor_label=actor_label,
               values={"refusal_code": code})
    notify.status_changed(orientation)
    return orientation


def redirect(orientation: Orientation, actor: Any, structure_id: Any, reason: Any,
             actor_label: str | None = None) -> Orientation:
    """Close this orientation as ``redirected`` and send a linked one to another structure."""
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, required=True, max_length=2000, multiline=True)
    target = find_structure(structure_id) if _is_uuid(structure_id) else None
    if target is None:
        errors.add("structure_id", _("Structure inconnue ou inactive."))
    elif target.id == orientation.structure_id:
        errors.add("structure_id", _("Choisissez une autre structure que celle de l'orientation."))
    errors.raise_if_any()
    if orientation.status not in TRANSITIONS["redirect"][0]:
        raise InvalidTransition(
            _("Action impossible : l'orientation est à l'état « %(s)s ».", s=orientation.status))
    now = utcnow()
    sent_on = local_date(now)
    acknowledge_due, take_charge_due = due_dates(target, orientation.domain, sent_on,
                                                 orientation.urgent)
    # The person's data go to the new structure only if they accepted a redirect at consent;
    # otherwise it receives the orientation without them until the sender re-confirms.
    carried = orientation.consent_given and orientation.accepts_redirect
    new = Orientation(
        person_id=orientation.person_id, visit_id=orientation.visit_id, structure_id=target.id,
        domain=orientation.domain, urgent=orientation.urgent, consent_given=carried,
        shared_fields=orientation.shared_fields if carried else "",
        shared_needs=orientation.shared_needs if carried else "",
        accepts_redirect=carried, status=OrientationStatus.SENT, sender_id=orientation.sender_id,
        sender_site_id=orientation.sender_site_id, territory=orientation.territory,
        redirected_from_id=orientation.id, sent_at=now, sent_on=sent_on, updated_at=now,
        version=1, acknowledge_due=acknowledge_due, take_charge_due=take_charge_due,
    )
    new.motive = orientation.motive
    new.consent_purpose = orientation.consent_purpose
    if target.domains and orientation.domain not in target.domains:
        new.coverage_override = text
    db.session.add(new)
    db.session.flush()
    if carried:  # the person accepted that what they shared goes on to another structure
        carry_shares(orientation, new)
    transition(orientation, "redirect", actor, reason=text, actor_label=actor_label,
               values={"redirected_to_id": new.id})
    _event(new, "transition", actor, from_status=None, to_status=OrientationStatus.SENT,
           reason=text, actor_label=actor_label)
    audit.record("orientation.send", actor=actor, actor_kind=None if actor else "contact",
                 object_type="orientation", object_id=new.id, person_id=new.person_id,
                 details={"structure": target.id, "redirected_from": orientation.id,
                          "shared": sorted(new.shared) if carried else [],
                          "awaiting_consent": not carried})
    notify.status_changed(orientation)
    if not carried:
        notify.consent_needed(new, target)
    notify.new_orientation(new, target, None)
    return new


def confirm_consent(orientation: Orientation, actor: Any, consent: Any) -> Orientation:
    """The sender asked the person again after a redirect they had not accepted: the new
    structure now sees what the person agrees to share with it."""
    if orientation.consent_given:
        raise InvalidTransition(_("L'accord de la personne est déjà recueilli pour cette orientation."))
    if orientation.status not in OPEN_STATUSES:
        raise InvalidTransition(
            _("Action impossible : l'orientation est à l'état « %(s)s ».", s=orientation.status))
    errors = FieldErrors()
    visit = db.session.get(Visit, orientation.visit_id) if orientation.visit_id else None
    cleaned = _clean_consent(errors, consent, orientation.domain, visit)
    shares = clean_shares(errors, db.session.get(Person, orientation.person_id), consent, actor)
    errors.raise_if_any()
    db.session.flush()
    _bump(orientation, frozenset(OPEN_STATUSES), {
        "consent_given": True, "shared_fields": ",".join(cleaned.shared),
        "shared_needs": ",".join(cleaned.shared_needs),
        "accepts_redirect": cleaned.accepts_redirect})
    orientation.consent_purpose = cleaned.purpose
    save_shares(orientation, shares, actor)
    _event(orientation, "consent", actor)
    audit.record("orientation.consent_confirmed", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id,
                 details={"shared": cleaned.shared, "shared_needs": cleaned.shared_needs,
                          "accepts_redirect": cleaned.accepts_redirect})
    return orientation


def cancel(orientation: Orientation, actor: Any, reason: Any) -> Orientation:
    text = _required_reason("reason", reason)
    transition(orientation, "cancel", actor, reason=text)
    notify.status_changed(orientation)  # the hooks: nothing more is sent to the person
    return orientation


def close(orientation: Orientation, actor: Any, outcome: Any) -> Orientation:
    text = _required_reason("outcome", outcome)
    transition(orientation, "close", actor, values={"closed_at": utcnow()})
    orientation.outcome = text
    notify.status_changed(orientation)  # the hooks: nothing more is sent to the person
    return orientation


def comment(orientation: Orientation, actor: Any, text: Any) -> OrientationEvent:
    """A coordination comment: an event on the orientation, audited."""
    event = append_event(orientation, "comment", actor, reason=_required_reason("comment", text))
    audit.record("orientation.comment", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id)
    return event

