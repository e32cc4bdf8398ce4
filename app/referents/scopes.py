"""Who sees which parcours and which of its entries.

* The référent sees everything and acts; a former référent keeps read-only access for
  ``PARCOURS_HANDOVER_DAYS`` after a handover.
* Members see the parcours and its ``members`` entries, and write ``members`` entries, while the
  person's consent stands (a withdrawal cuts them off at once).
* Coordinators of the parcours' territory and agents who may open the person's whole file see
  that the parcours exists (référent, members, dates), not its journal.
* Everyone else: 404.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.accueil.models import Person
from app.accueil.scopes import (
    FULL,
    register_person_view,
    register_referent_check,
    visible_fields,
    visible_fields_many,
)
from app.core.db import db, load_many, utcnow
from app.core.enums import Role
from app.core.permissions import rule_for
from app.referents.models import (
    OPEN,
    WITHDRAWN,
    Parcours,
    ParcoursEntry,
    ParcoursMember,
    ReferentChange,
)

REFERENT, FORMER, MEMBER, OVERSIGHT = "referent", "former", "member", "oversight"


def _is_active_member(user: Any, parcours: Parcours) -> bool:
    return parcours.status != WITHDRAWN and any(
        m.user_id == user.id and m.removed_at is None for m in parcours.members)


def _is_former_referent(user: Any, parcours: Parcours) -> bool:
    return db.session.scalar(sa.select(ReferentChange.id).where(
        ReferentChange.parcours_id == parcours.id, ReferentChange.from_user_id == user.id,
        ReferentChange.former_access_until > utcnow()).limit(1)) is not None


def standing(user: Any, parcours: Parcours) -> str | None:
    if not getattr(user, "is_authenticated", False) or user.role == Role.ADMIN:
        return None
    if parcours.referent_id == user.id:
        return REFERENT
    if _is_active_member(user, parcours):
        return MEMBER
    if _is_former_referent(user, parcours):
        return FORMER
    if user.role == Role.COORDINATEUR and user.territory and parcours.territory == user.territory:
        return OVERSIGHT
    if user.role in (Role.ACCUEIL, Role.REFERENT_PARCOURS):
        person = db.session.get(Person, parcours.person_id)
        if visible_fields(user, person) == FULL:
            return OVERSIGHT
    return None


def standings(user: Any, rows: list[Parcours], history: dict) -> dict[Any, str | None]:
    """``standing`` for a list of parcours, with their members loaded and their referent
    ``history`` given, in a constant number of queries."""
    if not getattr(user, "is_authenticated", False) or user.role == Role.ADMIN:
        return {p.id: None for p in rows}
    now, out, undecided = utcnow(), {}, []
    for parcours in rows:
        if parcours.referent_id == user.id:
            out[parcours.id] = REFERENT
        elif _is_active_member(user, parcours):
            out[parcours.id] = MEMBER
        elif any(c.from_user_id == user.id and c.former_access_until is not None
                 and c.former_access_until > now for c in history.get(parcours.id, [])):
            out[parcours.id] = FORMER
        elif (user.role == Role.COORDINATEUR and user.territory
              and parcours.territory == user.territory):
            out[parcours.id] = OVERSIGHT
        elif user.role in (Role.ACCUEIL, Role.REFERENT_PARCOURS):
            undecided.append(parcours)
        else:
            out[parcours.id] = None
    if undecided:
        persons = load_many(Person, {p.person_id for p in undecided})
        fields = visible_fields_many(user, persons)
        out.update({p.id: OVERSIGHT if fields.get(p.person_id) == FULL else None
                    for p in undecided})
    return out


def visible_parcours(user: Any) -> sa.Select:
    """The parcours ``user`` leads, belongs to, or handed over recently (their list: newest
    first)."""
    members = sa.select(ParcoursMember.parcours_id).where(
        ParcoursMember.user_id == user.id, ParcoursMember.removed_at.is_(None))
    former = sa.select(ReferentChange.parcours_id).where(
        ReferentChange.from_user_id == user.id, ReferentChange.former_access_until > utcnow())
    return sa.select(Parcours).where(sa.or_(
        Parcours.referent_id == user.id,
        sa.and_(Parcours.id.in_(members), Parcours.status != WITHDRAWN),
        Parcours.id.in_(former))).order_by(Parcours.opened_at.desc())


def parcours_of_person(user: Any, person: Person) -> list[Parcours]:
    """The person's parcours ``user`` may see (those whose page opens: ``standing``), newest
    first."""
    rows = db.session.scalars(sa.select(Parcours).where(Parcours.person_id == person.id)
                              .order_by(Parcours.opened_at.desc()))
    return [parcours for parcours in rows if standing(user, parcours) is not None]


def journal_entries(user: Any, parcours: Parcours) -> list[ParcoursEntry]:
    """The journal entries ``user`` may read, newest first: all of them for the référent (and
    a former one for a while), the ``members`` ones for members, none for anyone else."""
    who = standing(user, parcours)
    if who not in (REFERENT, FORMER, MEMBER):
        return []
    query = sa.select(ParcoursEntry).where(ParcoursEntry.parcours_id == parcours.id)
    if who == MEMBER:
        query = query.where(ParcoursEntry.visibility == "members")
    return list(db.session.scalars(query.order_by(ParcoursEntry.seq.desc())))


@rule_for("parcours.open")
def _open(user: Any, person: Person) -> bool:
    """A parcours is opened from a file the user may open whole."""
    return visible_fields(user, person) == FULL


@rule_for("parcours.read")
def _read(user: Any, parcours: Parcours) -> bool:
    return standing(user, parcours) is not None


@rule_for("parcours.entries")
def _entries(user: Any, parcours: Parcours) -> bool:
    return standing(user, parcours) in (REFERENT, FORMER, MEMBER)


@rule_for("parcours.write")
def _write(user: Any, parcours: Parcours) -> bool:
    return standing(user, parcours) in (REFERENT, MEMBER)


@rule_for("parcours.manage")
def _manage(user: Any, parcours: Parcours) -> bool:
    return standing(user, parcours) == REFERENT


@rule_for("parcours.handover")
def _handover(user: Any, parcours: Parcours) -> bool:
    return standing(user, parcours) == REFERENT or (
        user.role == Role.COORDINATEUR and standing(user, parcours) == OVERSIGHT)


@rule_for("parcours.remind")
@rule_for("parcours.coordination_comment")
def _coordinate(user: Any, parcours: Parcours) -> bool:
    """The coordinators of the parcours' territory chase a silent parcours."""
    return user.role == Role.COORDINATEUR and standing(user, parcours) == OVERSIGHT


def _referent_of(user: Any, person: Person) -> bool:
    """The person's référent (current, or former within the transition period)."""
    if not getattr(user, "is_authenticated", False) or user.role not in (
            Role.REFERENT_PARCOURS, Role.PARTENAIRE):
        return False  # only these roles can be a référent: no query for the others
    rows = db.session.scalars(sa.select(Parcours).where(Parcours.person_id == person.id))
    return any(p.referent_id == user.id or _is_former_referent(user, p) for p in rows)


def _referent_view(user: Any, person: Person) -> str | None:
    return FULL if _referent_of(user, person) else None


def open_parcours_of(person_id) -> Parcours | None:
    return db.session.scalars(sa.select(Parcours).where(
        Parcours.person_id == person_id, Parcours.status == OPEN)).first()


def _referent_view_many(user: Any, persons: list[Person]) -> dict[Any, str | None]:
    """``_referent_view`` for a list, in two queries."""
    if not getattr(user, "is_authenticated", False) or user.role not in (
            Role.REFERENT_PARCOURS, Role.PARTENAIRE) or not persons:
        return {}
    rows = db.session.execute(sa.select(Parcours.id, Parcours.person_id, Parcours.referent_id)
                              .where(Parcours.person_id.in_([p.id for p in persons]))).all()
    former = set(db.session.scalars(sa.select(ReferentChange.parcours_id).where(
        ReferentChange.parcours_id.in_([r.id for r in rows]),
        ReferentChange.from_user_id == user.id,
        ReferentChange.former_access_until > utcnow()))) if rows else set()
    return {r.person_id: FULL for r in rows if r.referent_id == user.id or r.id in former}


def register() -> None:
    """What a parcours' members see of its person, and who is its référent (called by the
    feature's init_app)."""
    register_person_view(_referent_view, many=_referent_view_many)
    register_referent_check(_referent_of)
