"""Who may open which person's file: the object rules of the accueil permissions.

* An ``accueil`` agent opens the files of persons welcomed at their site (created there or with
  a visit there). Any other file opens only by breaking the glass: a stated reason, a 24-hour
  grant, audited, listed for coordinators.
* A ``coordinateur`` opens a file by breaking the glass only.
* A ``referent_parcours`` searches only the persons they may open (``search_shows_outside_scope``).
* Later features (orientation, parcours) give partners and référents their own, narrower view
  through ``register_person_view``: the person's file then shows only what was shared.
* ``admin`` never opens a person's file (the permission registry does not give it the role).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.accueil.models import BreakGlassAccess, Person, Visit
from app.core import audit
from app.core.db import db, utcnow
from app.core.enums import Role
from app.core.permissions import has_role, rule_for
from app.core.spine import per_request
from app.core.validation import FieldErrors, clean_text
from app.directory.models import Site

FULL = "full"

# Later features register: f(user, person) -> FULL, a set of visible fields, or None.
_PERSON_VIEWS: list[Callable[[Any, Person], str | set[str] | None]] = []
# ...and f(user, person) -> bool: is the user the person's référent (access log).
_REFERENT_CHECKS: list[Callable[[Any, Person], bool]] = []


# ...with, optionally, a batched twin f(user, persons) -> {person id: view} for list pages.
_PERSON_VIEWS_MANY: dict[Callable, Callable[[Any, list[Person]], dict]] = {}


def register_person_view(view: Callable[[Any, Person], str | set[str] | None],
                         many: Callable[[Any, list[Person]], dict] | None = None) -> None:
    """``many``: the same rule for a list of persons in a constant number of queries."""
    if view not in _PERSON_VIEWS:
        _PERSON_VIEWS.append(view)
    if many is not None:
        _PERSON_VIEWS_MANY[view] = many


def register_referent_check(check: Callable[[Any, Person], bool]) -> None:
    if check not in _REFERENT_CHECKS:
        _REFERENT_CHECKS.append(check)


def welcomed_at_site(person_id: uuid.UUID, site_id: uuid.UUID | None) -> bool:
    if site_id is None:
        return False
    created_here = db.session.scalar(
        sa.select(Person.id).where(Person.id == person_id, Person.created_site_id == site_id))
    if created_here:
        return True
    return db.session.scalar(
        sa.select(Visit.id).where(Visit.person_id == person_id, Visit.site_id == site_id).limit(1)
    ) is not None


def active_grant(user: Any, person_id: uuid.UUID) -> BreakGlassAccess | None:
    return db.session.scalars(
        sa.select(BreakGlassAccess).where(
            BreakGlassAccess.user_id == user.id,
            BreakGlassAccess.person_id == person_id,
            BreakGlassAccess.expires_at > utcnow(),
        ).order_by(BreakGlassAccess.expires_at.desc()).limit(1)
    ).first()


SITE_ROLES = (Role.ACCUEIL, Role.REFERENT_PARCOURS)


def own_site_access(user: Any, person: Person) -> bool:
    """Agents (and référents) of a site see the persons welcomed there."""
    if user.role not in SITE_ROLES or user.site_id is None:
        return False
    return person.created_site_id == user.site_id or welcomed_at_site(person.id, user.site_id)


def visible_fields(user: Any, person: Person) -> str | set[str] | None:
    """``FULL``, a set of shared field names, or None when the file is out of the user's scope.

    Computed once per request for a user and a person (a person's page asks it from its
    loader, its panels and its template), again after any write of the request."""
    if not getattr(user, "is_authenticated", False) or person is None:
        return None
    return per_request("person.visible_fields", (user.id, person.id),
                       lambda: _visible_fields(user, person))


def _visible_fields(user: Any, person: Person) -> str | set[str] | None:
    if user.role == Role.ADMIN:
        return None
    if own_site_access(user, person) or (
            user.role in (Role.ACCUEIL, Role.COORDINATEUR) and active_grant(user, person.id)):
        return FULL
    return _feature_views(user, person)


def _feature_views(user: Any, person: Person) -> str | set[str] | None:
    """What the later features (orientation, parcours) open of this person to this user."""
    shared: set[str] = set()
    for view in _PERSON_VIEWS:
        fields = view(user, person)
        if fields == FULL:
            return FULL
        if fields:
            shared |= fields
    return shared or None


def visible_fields_many(user: Any, persons: list[Person]) -> dict[Any, str | set[str] | None]:
    """``visible_fields`` for many persons with a constant number of queries (search results)."""
    if not persons:
        return {}
    if not getattr(user, "is_authenticated", False) or user.role == Role.ADMIN:
        return {p.id: None for p in persons}
    ids = [p.id for p in persons]
    full: set = set()
    if user.role in SITE_ROLES and user.site_id is not None:
        full |= {p.id for p in persons if p.created_site_id == user.site_id}
        full |= set(db.session.scalars(sa.select(Visit.person_id).where(
            Visit.person_id.in_(ids), Visit.site_id == user.site_id).distinct()))
    if user.role in (Role.ACCUEIL, Role.COORDINATEUR):
        full |= set(db.session.scalars(sa.select(BreakGlassAccess.person_id).where(
            BreakGlassAccess.user_id == user.id, BreakGlassAccess.person_id.in_(ids),
            BreakGlassAccess.expires_at > utcnow())))
    rest = [p for p in persons if p.id not in full]
    views = _feature_views_many(user, rest)
    return {p.id: FULL if p.id in full else views[p.id] for p in persons}


def _feature_views_many(user: Any, persons: list[Person]) -> dict[Any, str | set[str] | None]:
    """``_feature_views`` for many persons: batched where the feature gave a batched rule."""
    result: dict[Any, str | set[str] | None] = {p.id: None for p in persons}
    if not persons:
        return result
    for view in _PERSON_VIEWS:
        many = _PERSON_VIEWS_MANY.get(view)
        found = many(user, persons) if many else {p.id: view(user, p) for p in persons}
        for person in persons:
            fields, current = found.get(person.id), result[person.id]
            if current == FULL or not fields:
                continue
            result[person.id] = FULL if fields == FULL else (set(current or ()) | fields)
    return result


def can_open(user: Any, person: Person) -> bool:
    return visible_fields(user, person) is not None


def search_shows_outside_scope(user: Any) -> bool:
    """Whether the person search may show ``user`` a person out of their scope, as a line
    (name, birth year) to open by breaking the glass: the agents and the coordinators. A
    référent de parcours searches only the persons they may already open — welcomed at their
    site, or of a parcours they lead or belong to — to open a parcours (issue 24, item 11)."""
    return has_role(user, "person.break_glass")


def visits_of_person(user: Any, person: Person) -> list[Visit]:
    """The person's visits ``user`` may read: every one to whom opens the whole file, none to
    the others (a partner or a référent sees shared fields, not the visits)."""
    return list(person.visits) if visible_fields(user, person) == FULL else []


def openable_by_number(user: Any, number: str | None) -> Person | None:
    """The file with this reception number, when ``user`` may open it (else None, as if there
    were no such file)."""
    if not number:
        return None
    person = db.session.scalars(sa.select(Person).where(
        Person.reception_number == number)).first()
    return person if person is not None and can_open(user, person) else None


@rule_for("person.read")
def _read(user: Any, person: Person) -> bool:
    return can_open(user, person)


@rule_for("person.update")
@rule_for("visit.read")
@rule_for("visit.create")
@rule_for("slip.print")
@rule_for("person.export")
def _full(user: Any, person: Person) -> bool:
    return visible_fields(user, person) == FULL


@rule_for("person.access_log")
def _access_log(user: Any, person: Person) -> bool:
    """Agents of the person's sites and the person's référent; not a broken glass."""
    return own_site_access(user, person) or any(check(user, person) for check in _REFERENT_CHECKS)


@rule_for("person.break_glass")
def _break_glass(user: Any, person: Person) -> bool:
    return person.merged_into_id is None


def break_glass(user: Any, person: Person, reason: Any) -> BreakGlassAccess:
    """Grant ``user`` a time-limited access to ``person``'s file, for a stated reason."""
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, required=True, max_length=500, multiline=True)
    if text is not None and len(text) < 10:
        errors.add("reason", _("Expliquez la raison en une phrase (10 caractères au moins)."))
    errors.raise_if_any()
    now = utcnow()
    grant = BreakGlassAccess(
        user_id=user.id, person_id=person.id, granted_at=now,
        expires_at=now + timedelta(hours=current_app.config["PASSERELLE_BREAK_GLASS_HOURS"]),
    )
    grant.reason = text
    db.session.add(grant)
    audit.record("person.break_glass", actor=user, object_type="person", object_id=person.id,
                 person_id=person.id, details={"grant": grant.id})
    return grant


def _persons_of_territory(territory: str) -> sa.ColumnElement[bool]:
    """Persons created at, or welcomed at, a site of ``territory`` (the territory that answers
    for their file)."""
    sites = sa.select(Site.id).where(Site.territory == territory)
    return sa.or_(Person.created_site_id.in_(sites),
                  sa.exists().where(Visit.person_id == Person.id, Visit.site_id.in_(sites)))


def person_territories(person_id: uuid.UUID) -> set[str]:
    """The territories of the sites where the person was created or welcomed."""
    created = sa.select(Site.territory).join(Person, Person.created_site_id == Site.id).where(
        Person.id == person_id)
    visited = sa.select(Site.territory).join(Visit, Visit.site_id == Site.id).where(
        Visit.person_id == person_id)
    return set(db.session.scalars(sa.union(created, visited)))


def site_visits(user: Any) -> sa.Select:
    """The visits of the agent's own site (the site's day, its queue, the agent's home), as a
    query to refine; nothing for anyone else."""
    if getattr(user, "role", None) == Role.ACCUEIL and user.site_id is not None:
        return sa.select(Visit).where(Visit.site_id == user.site_id)
    return sa.select(Visit).where(sa.false())


@rule_for("break_glass.review")
def _review(user: Any, grant: BreakGlassAccess) -> bool:
    """A break-the-glass is reviewed by the coordinators of the person's territory (wherever the
    professional who broke it works), not by those of the professional's own territory."""
    return bool(user.territory) and user.territory in person_territories(grant.person_id)


def _grants_of_territory(user: Any) -> sa.Select:
    """The break-the-glass accesses to the files of ``user``'s territory, whoever broke the
    glass (the same rule as ``break_glass.review``, as a query)."""
    if not getattr(user, "territory", None):
        return sa.select(BreakGlassAccess).where(sa.false())
    return (sa.select(BreakGlassAccess)
            .join(Person, Person.id == BreakGlassAccess.person_id)
            .where(_persons_of_territory(user.territory)))


def grants_to_review(user: Any, limit: int = 100) -> list[BreakGlassAccess]:
    """The latest break-the-glass accesses to the files of ``user``'s territory."""
    if not user.territory:
        return []
    query = _grants_of_territory(user).order_by(BreakGlassAccess.granted_at.desc()).limit(limit)
    return list(db.session.scalars(query))


def unreviewed_grants_count(user: Any) -> int:
    """How many of them no coordinator has marked as checked yet (the coordinator's home)."""
    query = _grants_of_territory(user).where(BreakGlassAccess.reviewed_at.is_(None))
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def review_grant(grant: BreakGlassAccess, actor: Any) -> BreakGlassAccess:
    """A coordinator checked this access (its reason fits): it leaves the count to review.
    Marking it twice changes nothing."""
    if grant.reviewed_at is None:
        grant.reviewed_at = utcnow()
        audit.record("break_glass.reviewed", actor=actor, object_type="break_glass",
                     object_id=grant.id, person_id=grant.person_id,
                     details={"user": grant.user_id})
    return grant
