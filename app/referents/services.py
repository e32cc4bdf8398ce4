"""Opening a parcours, its members, the référent's handover, the journal, closing, withdrawal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.accueil.models import Person, Visit
from app.accueil.scopes import person_territories
from app.auth.models import User
from app.core import audit, ratelimit
from app.core.db import db, utcnow
from app.core.enums import Role
from app.core.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from app.core.validation import FieldErrors, clean_code, clean_text
from app.directory.models import Site, StructureTerritory
from app.notifications.services import queue
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation, StructureReferent
from app.referents.models import (
    CLOSED,
    ENTRY_KINDS,
    OPEN,
    OUTCOMES,
    PRESENCE,
    VISIBILITIES,
    WITHDRAWN,
    Parcours,
    ParcoursEntry,
    ParcoursMember,
    ReferentChange,
)
from app.referents.scopes import FORMER, MEMBER, REFERENT, open_parcours_of, standing

REFERENT_ROLES = (Role.REFERENT_PARCOURS, Role.PARTENAIRE)
MEMBER_ROLES = (Role.PARTENAIRE, Role.REFERENT_PARCOURS, Role.ACCUEIL)
MAX_CONTENT = 10_000


def _user(errors: FieldErrors, field: str, value: Any, roles) -> User | None:
    try:
        user = db.session.get(User, uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        user = None
    if user is None or not user.active or user.role not in roles:
        errors.add(field, _("Ce professionnel est inconnu ou ne peut pas tenir ce rôle."))
        return None
    return user


def oriented_structures(person_id: uuid.UUID) -> set[uuid.UUID]:
    return set(db.session.scalars(sa.select(Orientation.structure_id).where(
        Orientation.person_id == person_id)))


def _link(parcours: Parcours) -> str:
    return f"{current_app.config['PASSERELLE_BASE_URL'].rstrip('/')}/parcours/{parcours.id}"


def _tell(user: User, parcours: Parcours, subject: str, text: str, key: str) -> None:
    queue(user.email, subject, f"Bonjour,\n\n{text}\n\nConsultez-le dans Passerelle : "
          f"{_link(parcours)}\n\nCe message ne contient aucune information sur la personne.\n",
          kind="parcours.notice", related_type="parcours", related_id=parcours.id,
          dedupe_key=f"{key}:{parcours.id}:{user.id}")


def _add_member(parcours: Parcours, user: User, actor: Any, reason: str | None) -> ParcoursMember:
    member = ParcoursMember(parcours_id=parcours.id, user_id=user.id,
                            structure_id=user.structure_id, added_by_id=actor.id,
                            added_at=utcnow())
    member.reason = reason
    parcours.members.append(member)
    _tell(user, parcours, "Vous êtes membre d'un parcours",
          "Vous avez été ajouté(e) comme membre d'un parcours coordonné dans Passerelle.",
          "parcours.member")
    return member


def _check_members(errors: FieldErrors, person_id: uuid.UUID, ids: Any, reason: str | None,
                   referent: User | None) -> list[User]:
    if ids is None:
        ids = []
    if not isinstance(ids, list):
        errors.add("member_ids", _("Liste invalide."))
        return []
    oriented = oriented_structures(person_id)
    members: list[User] = []
    for value in ids:
        user = _user(errors, "member_ids", value, MEMBER_ROLES)
        if user is None or (referent and user.id == referent.id) or user in members:
            continue
        if (user.structure_id is None or user.structure_id not in oriented) and not reason:
            errors.add("member_ids", _("%(name)s n'appartient pas à une structure vers laquelle la personne a été orientée : indiquez pourquoi l'associer au parcours.",
                                       name=user.display_name))
            continue
        members.append(user)
    return members


def open_parcours(person: Person, data: dict[str, Any], actor: Any) -> Parcours:
    errors = FieldErrors()
    consent = data.get("consent")
    if not isinstance(consent, dict) or consent.get("given") is not True:
        errors.add("consent.given", _("Sans l'accord de la personne, aucun parcours ne peut être ouvert."))
    referent = _user(errors, "referent_id", data.get("referent_id"), REFERENT_ROLES)
    reason = clean_text(errors, "members_reason", data.get("members_reason"), max_length=1000,
                        multiline=True)
    members = _check_members(errors, person.id, data.get("member_ids"), reason, referent)
    goals = clean_text(errors, "goals", data.get("goals"), max_length=MAX_CONTENT, multiline=True)
    if person.merged_into_id is not None:
        errors.add("person_id", _("Ce dossier a été fusionné : ouvrez le parcours sur le dossier conservé."))
    errors.raise_if_any()
    if open_parcours_of(person.id) is not None:
        raise Conflict(_("Cette personne a déjà un parcours ouvert."))
    now = utcnow()
    site = db.session.get(Site, actor.site_id) if getattr(actor, "site_id", None) else None
    first_visit = db.session.scalar(sa.select(sa.func.min(Visit.occurred_at)).where(
        Visit.person_id == person.id))
    parcours = Parcours(person_id=person.id, referent_id=referent.id, status=OPEN,
                        consent_given_at=now, opened_at=now, opened_by_id=actor.id,
                        territory=site.territory if site else getattr(actor, "territory", None),
                        first_request_at=first_visit or person.created_at,
                        opened_on=local_date(now),
                        first_request_on=local_date(first_visit or person.created_at))
    parcours.goals = goals
    db.session.add(parcours)
    db.session.add(ReferentChange(parcours_id=parcours.id, from_user_id=None, to_user_id=referent.id,
                                  at=now, by_id=actor.id))
    # Written now, before any notification: queueing one flushes inside a savepoint that takes
    # any failure for "already queued", which would swallow the unique index's refusal.
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("Cette personne a déjà un parcours ouvert.")) from None
    oriented = oriented_structures(person.id)
    for user in members:
        _add_member(parcours, user, actor, reason if user.structure_id not in oriented else None)
    if referent.id != actor.id:
        _tell(referent, parcours, "Vous êtes référent(e) d'un parcours",
              "Vous avez été désigné(e) référent(e) d'un parcours coordonné dans Passerelle.",
              "parcours.referent")
    audit.record("parcours.open", actor=actor, object_type="parcours", object_id=parcours.id,
                 person_id=person.id, details={"referent": referent.id, "members": len(members)})
    return parcours


def _require_open(parcours: Parcours) -> None:
    if parcours.status != OPEN:
        raise Conflict(_("Ce parcours est clos : il ne peut plus être modifié."))


def add_member(parcours: Parcours, user_id: Any, reason: Any, actor: Any) -> ParcoursMember:
    _require_open(parcours)
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, max_length=1000, multiline=True)
    referent = db.session.get(User, parcours.referent_id)
    members = _check_members(errors, parcours.person_id, [user_id], text, referent)
    if not errors and not members:
        errors.add("member_ids", _("Ce professionnel est déjà le référent ou un membre."))
    errors.raise_if_any()
    user = members[0]
    if any(m.user_id == user.id and m.removed_at is None for m in parcours.members):
        raise Conflict(_("Ce professionnel est déjà membre du parcours."))
    member = _add_member(parcours, user, actor, text)
    audit.record("parcours.member_add", actor=actor, object_type="parcours", object_id=parcours.id,
                 person_id=parcours.person_id, details={"user": user.id})
    return member


def remove_member(parcours: Parcours, member_id: Any, actor: Any) -> ParcoursMember:
    """Take a member off the parcours: they lose its access at once and are told (nothing of
    the person in the message); their past entries stay in the journal; audited."""
    _require_open(parcours)
    member = next((m for m in parcours.members
                   if str(m.id) == str(member_id) and m.removed_at is None), None)
    if member is None:
        raise NotFound(_("Ce professionnel ne fait plus partie du parcours."))
    member.removed_at = utcnow()
    user = db.session.get(User, member.user_id)
    if user is not None and user.active and user.id != getattr(actor, "id", None):
        _tell(user, parcours, "Vous n'êtes plus membre d'un parcours",
              "Vous avez été retiré(e) d'un parcours coordonné dans Passerelle : vous n'y avez "
              "plus accès.", f"parcours.member_removed:{member.id}")
    audit.record("parcours.member_remove", actor=actor, object_type="parcours",
                 object_id=parcours.id, person_id=parcours.person_id,
                 details={"user": member.user_id})
    return member


def professionals(roles) -> list[User]:
    """The active accounts of these roles, by name: who may be chosen as référent or member."""
    return list(db.session.scalars(sa.select(User).where(
        User.role.in_(roles), User.active.is_(True)).order_by(User.display_name)))


def handover_territories(parcours: Parcours) -> set[str]:
    """The territory that answers for the parcours: its own, else (a parcours opened by someone
    with no site) the territories of the person's sites."""
    return {parcours.territory} if parcours.territory else person_territories(parcours.person_id)


def handover_candidates(parcours: Parcours) -> list[User]:
    """Who may be handed the parcours (and read its référent-only journal): an active
    ``referent_parcours`` of its territory (by their site, or by a structure serving it), or a
    designated referent of a member structure serving it. Never the current référent."""
    territories = handover_territories(parcours)
    if not territories:
        return []
    serving = sa.select(StructureTerritory.structure_id).where(
        StructureTerritory.territory.in_(territories))
    found = list(db.session.scalars(
        sa.select(User).outerjoin(Site, Site.id == User.site_id)
        .where(User.role == Role.REFERENT_PARCOURS, User.active.is_(True),
               sa.or_(Site.territory.in_(territories), User.structure_id.in_(serving)))))
    member_structures = {m.structure_id for m in parcours.members
                         if m.removed_at is None and m.structure_id is not None}
    if member_structures:
        here = db.session.scalars(serving.where(
            StructureTerritory.structure_id.in_(member_structures))).all()
        # designated by an administrator (not the fallback to every partner of the structure)
        found += db.session.scalars(
            sa.select(User).join(StructureReferent, StructureReferent.user_id == User.id)
            .where(StructureReferent.structure_id.in_(here), User.role == Role.PARTENAIRE,
                   User.structure_id == StructureReferent.structure_id, User.active.is_(True)))
    unique = {u.id: u for u in found if u.id != parcours.referent_id}
    return sorted(unique.values(), key=lambda u: (u.display_name, str(u.id)))


def handover(parcours: Parcours, new_referent_id: Any, reason: Any, actor: Any) -> Parcours:
    """Give the parcours a new référent of its territory; the current one is told (and keeps a
    read-only access for ``PARCOURS_HANDOVER_DAYS``), the new one too; audited."""
    _require_open(parcours)
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, required=True, max_length=1000, multiline=True)
    new = _user(errors, "referent_id", new_referent_id, REFERENT_ROLES)
    if new is not None and new.id == parcours.referent_id:
        errors.add("referent_id", _("Choisissez un autre professionnel que le référent actuel."))
    elif new is not None and new.id not in {u.id for u in handover_candidates(parcours)}:
        errors.add("referent_id", _(
            "Un parcours ne se confie qu'à un référent de parcours de son territoire ou au "
            "référent désigné d'une structure membre du parcours."))
    errors.raise_if_any()
    now = utcnow()
    days = current_app.config["PARCOURS_HANDOVER_DAYS"]
    former = db.session.get(User, parcours.referent_id)
    change = ReferentChange(parcours_id=parcours.id, from_user_id=parcours.referent_id,
                            to_user_id=new.id, at=now, by_id=actor.id,
                            former_access_until=now + timedelta(days=days))
    change.reason = text
    db.session.add(change)
    parcours.referent_id = new.id
    for member in parcours.members:
        if member.user_id == new.id and member.removed_at is None:
            member.removed_at = now  # the new référent is no longer a mere member
    _tell(new, parcours, "Un parcours vous est confié",
          "Un parcours coordonné vous a été confié : vous en êtes désormais le ou la référent(e).",
          f"parcours.handover:{change.id}")
    if former is not None and former.id != actor.id and former.active:
        _tell(former, parcours, "Un parcours que vous suiviez change de référent",
              f"Le parcours coordonné dont vous étiez le ou la référent(e) a été confié à "
              f"{new.display_name}. Vous pouvez encore le consulter pendant {days} jours.",
              f"parcours.handed_away:{change.id}")
    audit.record("parcours.handover", actor=actor, object_type="parcours", object_id=parcours.id,
                 person_id=parcours.person_id,
                 details={"from": former.id if former else None, "to": new.id})
    return parcours


# -- a coordinator chases a silent parcours (issue 24, item 13) --------------------------------
REMIND_EVERY = timedelta(days=1)  # one reminder of a parcours' référent a day, whoever asks


def remind_referent(parcours: Parcours, actor: Any) -> None:
    """A coordinator asks the référent of a silent parcours for news (an e-mail, nothing of the
    person in it); audited. At most one a day per parcours (``TooManyRequests`` beyond, with
    what to do instead)."""
    _require_open(parcours)
    referent = db.session.get(User, parcours.referent_id)
    if referent is None or not referent.active:
        raise ValidationFailed(_("Le référent de ce parcours n'a plus de compte actif : "
                                 "confiez le parcours à un autre référent."))
    bucket = f"parcours-remind:{parcours.id}"
    if ratelimit.exceeded(bucket, 1, REMIND_EVERY):
        raise TooManyRequests(_("Le référent de ce parcours a déjà été relancé dans les "
                                "dernières 24 heures : laissez-lui le temps de répondre, ou "
                                "ajoutez un commentaire de coordination."))
    ratelimit.hit(bucket)
    _tell(referent, parcours, "Un parcours sans nouvelles",
          "Votre coordinateur ou coordinatrice territorial(e) vous demande des nouvelles d'un "
          "parcours coordonné dont vous êtes le ou la référent(e) : rien n'a été écrit dans son "
          "journal depuis longtemps. Ajoutez une entrée, ou dites-lui si le parcours doit "
          "changer de référent ou être clos.",
          f"parcours.remind:{utcnow().strftime('%Y%m%d%H%M%S%f')}")
    audit.record("parcours.reminder", actor=actor, object_type="parcours",
                 object_id=parcours.id, person_id=parcours.person_id,
                 details={"referent": referent.id})


def coordination_comment(parcours: Parcours, actor: Any, text: Any) -> ParcoursEntry:
    """A coordinator's comment on a silent parcours, for its référent only: a journal entry of
    kind ``alert`` visible to the référent. It leaves the parcours silent (its last entry stays
    the référent's or members'), so that the list still shows it until they write."""
    _require_open(parcours)
    errors = FieldErrors()
    content = clean_text(errors, "reason", text, required=True, max_length=2000, multiline=True)
    errors.raise_if_any()
    _lock(parcours)
    now = utcnow()
    entry = ParcoursEntry(parcours_id=parcours.id, seq=_next_seq(parcours.id), kind="alert",
                          visibility="referent", happened_on=local_date(now),
                          author_id=actor.id, created_at=now)
    entry.content = content
    db.session.add(entry)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # a concurrent writer took this number first
        db.session.rollback()
        raise Conflict(_("Une autre entrée vient d'être ajoutée au journal : réessayez.")) from None
    audit.record("parcours.coordination_comment", actor=actor, object_type="parcours_entry",
                 object_id=entry.id, person_id=parcours.person_id)
    referent = db.session.get(User, parcours.referent_id)
    if referent is not None and referent.active:
        _tell(referent, parcours, "Un commentaire de coordination sur un parcours",
              "Votre coordinateur ou coordinatrice territorial(e) a laissé un commentaire, "
              "visible de vous seul(e), dans le journal d'un parcours dont vous êtes le ou la "
              "référent(e).", f"parcours.comment:{entry.id}")
    return entry


def _presence(errors: FieldErrors, kind: str | None, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if kind != "meeting":
        errors.add("person_present", _("La présence de la personne ne concerne que les réunions."))
        return None
    if value is True:
        return "present"
    if value is False:
        return "absent"
    return clean_code(errors, "person_present", value, PRESENCE)


def _happened_on(errors: FieldErrors, value: Any) -> date:
    today = local_date(utcnow())
    if value is None or value == "":
        return today
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors.add("happened_on", _("Date invalide : utilisez le format AAAA-MM-JJ."))
            return today
    if not isinstance(value, date):
        errors.add("happened_on", _("Date invalide : utilisez le format AAAA-MM-JJ."))
        return today
    if value > today:
        errors.add("happened_on", _("Le journal rapporte ce qui a eu lieu : la date ne peut pas être dans le futur."))
    return value


def may_correct(entry: ParcoursEntry, who: str | None) -> bool:
    """The référent corrects any entry; a member, the entries every member sees."""
    return who == REFERENT or (who == MEMBER and entry.visibility == "members")


def _lock(parcours: Parcours) -> None:
    """Serialise the journal's writers on the parcours row (PostgreSQL; SQLite writes one at a
    time anyway and ignores FOR UPDATE)."""
    db.session.execute(sa.select(Parcours.id).where(Parcours.id == parcours.id).with_for_update())


def _next_seq(parcours_id: uuid.UUID) -> int:
    return (db.session.scalar(sa.select(sa.func.max(ParcoursEntry.seq)).where(
        ParcoursEntry.parcours_id == parcours_id)) or 0) + 1


def add_entry(parcours: Parcours, data: dict[str, Any], actor: Any) -> ParcoursEntry:
    _require_open(parcours)
    errors = FieldErrors()
    kind = clean_code(errors, "kind", data.get("kind"), ENTRY_KINDS)
    visibility = clean_code(errors, "visibility", data.get("visibility"), VISIBILITIES)
    content = clean_text(errors, "content", data.get("content"), required=True,
                         max_length=MAX_CONTENT, multiline=True)
    happened = _happened_on(errors, data.get("happened_on"))
    presence = _presence(errors, kind, data.get("person_present"))
    who = standing(actor, parcours)
    if visibility == "referent" and who == MEMBER:
        errors.add("visibility", _("Seul le référent écrit des entrées qui lui sont réservées."))
    corrects = None
    if data.get("corrects_id"):
        try:
            corrects = db.session.get(ParcoursEntry, uuid.UUID(str(data["corrects_id"])))
        except (ValueError, TypeError, AttributeError):
            corrects = None
        if corrects is None or corrects.parcours_id != parcours.id or not may_correct(corrects, who):
            errors.add("corrects_id", _("L'entrée à corriger n'appartient pas à ce parcours."))
    errors.raise_if_any()
    if who not in (REFERENT, MEMBER):
        raise ValidationFailed(_("Seuls le référent et les membres écrivent dans le journal."))
    _lock(parcours)
    now = utcnow()
    entry = ParcoursEntry(parcours_id=parcours.id, seq=_next_seq(parcours.id), kind=kind,
                          visibility=visibility, happened_on=happened, person_presence=presence,
                          author_id=actor.id, created_at=now,
                          corrects_id=corrects.id if corrects else None)
    entry.content = content
    db.session.add(entry)
    parcours.last_entry_at = now
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # a concurrent writer took this number first
        db.session.rollback()
        raise Conflict(_("Une autre entrée vient d'être ajoutée au journal : réessayez.")) from None
    audit.record("parcours.entry", actor=actor, object_type="parcours_entry", object_id=entry.id,
                 person_id=parcours.person_id, details={"kind": kind, "visibility": visibility})
    return entry


def close(parcours: Parcours, outcome: Any, actor: Any, note: Any = None) -> Parcours:
    errors = FieldErrors()
    code = clean_code(errors, "outcome", outcome, OUTCOMES)
    text = clean_text(errors, "note", note, max_length=2000, multiline=True)
    errors.raise_if_any()
    _require_open(parcours)
    parcours.status = CLOSED
    parcours.closed_at = utcnow()
    parcours.closed_on = local_date(parcours.closed_at)
    parcours.outcome = code
    parcours.outcome_note = text
    audit.record("parcours.close", actor=actor, object_type="parcours", object_id=parcours.id,
                 person_id=parcours.person_id, details={"outcome": code})
    return parcours


def withdraw(parcours: Parcours, actor: Any) -> Parcours:
    """The person withdraws their consent: members lose access at once."""
    _require_open(parcours)
    now = utcnow()
    parcours.status = WITHDRAWN
    parcours.withdrawn_at = now
    parcours.closed_at = now
    parcours.closed_on = local_date(now)
    parcours.outcome = "ended_by_person"
    for member in parcours.members:
        if member.removed_at is None:
            member.removed_at = now
    audit.record("parcours.withdraw", actor=actor, object_type="parcours", object_id=parcours.id,
                 person_id=parcours.person_id)
    return parcours


@dataclass
class Attendance:
    meetings: int
    present: int
    represented: int

    @property
    def share(self) -> float | None:
        return round(100 * self.present / self.meetings) if self.meetings else None


def attendance(parcours: Parcours, members_only: bool = False) -> Attendance:
    return attendance_many([parcours.id], {parcours.id} if members_only else ()).get(
        parcours.id, Attendance(0, 0, 0))


def attendance_many(parcours_ids: list, members_only=()) -> dict[Any, Attendance]:
    """Meetings and the person's presence, for many parcours in one query; for the parcours of
    ``members_only``, only the meetings every member sees (the reader is not the référent)."""
    counts: dict = {}
    for parcours_id, visibility, presence, n in db.session.execute(
            sa.select(ParcoursEntry.parcours_id, ParcoursEntry.visibility,
                      ParcoursEntry.person_presence, sa.func.count())
            .where(ParcoursEntry.parcours_id.in_(parcours_ids), ParcoursEntry.kind == "meeting")
            .group_by(ParcoursEntry.parcours_id, ParcoursEntry.visibility,
                      ParcoursEntry.person_presence)):
        if visibility != "members" and parcours_id in members_only:
            continue
        by_presence = counts.setdefault(parcours_id, {})
        by_presence[presence] = by_presence.get(presence, 0) + n
    return {pid: Attendance(meetings=sum(c.values()), present=c.get("present", 0),
                            represented=c.get("represented", 0)) for pid, c in counts.items()}


def last_members_entries(parcours_ids) -> dict[Any, datetime]:
    """When the last entry every member sees was written, for many parcours in one query."""
    if not parcours_ids:
        return {}
    return dict(db.session.execute(
        sa.select(ParcoursEntry.parcours_id, sa.func.max(ParcoursEntry.created_at))
        .where(ParcoursEntry.parcours_id.in_(list(parcours_ids)),
               ParcoursEntry.visibility == "members")
        .group_by(ParcoursEntry.parcours_id)).all())


def silent_filter(now: datetime | None = None):
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["PARCOURS_SILENT_DAYS"])
    return sa.and_(Parcours.status == OPEN,
                   sa.func.coalesce(Parcours.last_entry_at, Parcours.opened_at) < cutoff)


def is_silent(parcours: Parcours, now: datetime | None = None) -> bool:
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["PARCOURS_SILENT_DAYS"])
    return parcours.status == OPEN and (parcours.last_entry_at or parcours.opened_at) < cutoff


def referent_history(parcours: Parcours) -> list[ReferentChange]:
    return referent_history_many([parcours.id]).get(parcours.id, [])


def referent_history_many(parcours_ids: list) -> dict[Any, list[ReferentChange]]:
    history: dict = {}
    for change in db.session.scalars(sa.select(ReferentChange).where(
            ReferentChange.parcours_id.in_(parcours_ids)).order_by(ReferentChange.at)):
        history.setdefault(change.parcours_id, []).append(change)
    return history


def latest_decisions(standing: dict) -> dict[Any, ParcoursEntry]:
    """Each parcours' latest decision that its reader sees — by date, then by order of writing;
    a decision corrected by an entry the reader sees gives way — in two queries.

    ``standing`` maps parcours ids to the reader's standing; only insiders read decisions."""
    ids = [pid for pid, who in standing.items() if who in (REFERENT, FORMER, MEMBER)]
    if not ids:
        return {}
    rows = [r for r in db.session.execute(
        sa.select(ParcoursEntry.id, ParcoursEntry.parcours_id, ParcoursEntry.kind,
                  ParcoursEntry.visibility, ParcoursEntry.happened_on, ParcoursEntry.seq,
                  ParcoursEntry.corrects_id)
        .where(ParcoursEntry.parcours_id.in_(ids),
               sa.or_(ParcoursEntry.kind == "decision", ParcoursEntry.corrects_id.is_not(None))))
        if standing[r.parcours_id] != MEMBER or r.visibility == "members"]
    corrected = {r.corrects_id for r in rows if r.corrects_id}
    best: dict = {}
    for r in rows:
        if r.kind == "decision" and r.id not in corrected and (
                r.parcours_id not in best or (r.happened_on, r.seq) > best[r.parcours_id][0]):
            best[r.parcours_id] = ((r.happened_on, r.seq), r.id)
    if not best:
        return {}
    return {e.parcours_id: e for e in db.session.scalars(sa.select(ParcoursEntry).where(
        ParcoursEntry.id.in_([entry_id for _key, entry_id in best.values()])))}
