"""Who sees and acts on which orientation; and what a partner sees of the person.

* ``partenaire``: the orientations addressed to their structure, and of the person only the
  fields the consent shares.
* ``accueil``: the orientations sent from their site, and those of persons whose whole file they
  may open.
* ``coordinateur``: the orientations of their territory, without the motive or the identity.
* Everyone else: nothing. Outside scope, the answer is 404.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.accueil.models import Person
from app.accueil.scopes import FULL, register_person_view, visible_fields
from app.core.db import db
from app.core.enums import Role
from app.core.permissions import rule_for
from app.orientation.models import Orientation

PARTNER, SENDER, COORDINATION = "partner", "sender", "coordination"


def audience(user: Any, orientation: Orientation) -> str | None:
    """How ``user`` sees ``orientation``: as its partner, its sender side, its coordinator."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.role == Role.PARTENAIRE:
        return PARTNER if orientation.structure_id == user.structure_id else None
    if user.role == Role.ACCUEIL:
        if orientation.sender_site_id == user.site_id and user.site_id is not None:
            return SENDER
        person = db.session.get(Person, orientation.person_id)
        return SENDER if visible_fields(user, person) == FULL else None
    if user.role == Role.COORDINATEUR:
        return COORDINATION if user.territory and orientation.territory == user.territory else None
    return None


def visible_orientations(user: Any) -> sa.Select:
    """The orientations ``user`` may list, as a query to refine (never ``select(Orientation)``)."""
    query = sa.select(Orientation)
    if user.role == Role.PARTENAIRE and user.structure_id:
        return query.where(Orientation.structure_id == user.structure_id)
    if user.role == Role.ACCUEIL and user.site_id:
        return query.where(Orientation.sender_site_id == user.site_id)
    if user.role == Role.COORDINATEUR and user.territory:
        return query.where(Orientation.territory == user.territory)
    return query.where(sa.false())


@rule_for("orientation.read")
def _read(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) is not None


@rule_for("orientation.acknowledge")
@rule_for("orientation.take_charge")
@rule_for("orientation.refuse")
@rule_for("orientation.close")
def _partner_acts(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == PARTNER


@rule_for("orientation.redirect")
def _redirect(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) in (PARTNER, COORDINATION)


@rule_for("orientation.cancel")
def _cancel(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == SENDER


@rule_for("followup.manage")
def _followup(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == SENDER


@rule_for("orientation.contact_link")
def _contact_link(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) in (SENDER, COORDINATION)


@rule_for("orientation.remind")
def _remind(user: Any, orientation: Orientation) -> bool:
    return audience(user, orientation) == COORDINATION


def _partner_view_of_person(user: Any, person: Person) -> set[str] | None:
    """A partner sees the fields shared in the orientations addressed to their structure."""
    if user.role != Role.PARTENAIRE or not user.structure_id:
        return None
    rows = db.session.scalars(sa.select(Orientation.shared_fields).where(
        Orientation.person_id == person.id, Orientation.structure_id == user.structure_id,
        Orientation.consent_given.is_(True)))
    shared: set[str] = set()
    for row in rows:
        shared |= {f for f in (row or "").split(",") if f}
    return shared or None


def _partner_view_of_persons(user: Any, persons: list[Person]) -> dict[Any, set[str] | None]:
    """``_partner_view_of_person`` for a list, in one query."""
    if user.role != Role.PARTENAIRE or not user.structure_id or not persons:
        return {}
    shared: dict[Any, set[str]] = {}
    for person_id, fields in db.session.execute(sa.select(
            Orientation.person_id, Orientation.shared_fields).where(
            Orientation.person_id.in_([p.id for p in persons]),
            Orientation.structure_id == user.structure_id,
            Orientation.consent_given.is_(True))):
        shared.setdefault(person_id, set()).update(f for f in (fields or "").split(",") if f)
    return {person_id: fields or None for person_id, fields in shared.items()}


register_person_view(_partner_view_of_person, many=_partner_view_of_persons)
