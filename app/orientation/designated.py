"""A structure's designated referents: who receives its orientations, designated and removed
by an administrator. ``referents`` for one structure, ``referents_by_structure`` for many at once
(the directory API, the send form) in one query whatever the number of structures."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.auth.models import User
from app.core import audit
from app.core.db import db
from app.core.enums import Domain, Role
from app.core.validation import FieldErrors, clean_code
from app.directory.models import Structure
from app.orientation.models import StructureReferent


def referents(structure_id: uuid.UUID, domain: str | None = None) -> list[User]:
    """The structure's designated referents for ``domain`` (or for every domain); when none is
    designated, every active partner user of the structure."""
    return referents_by_structure([structure_id], domain).get(structure_id, [])


def designate_referent(structure: Structure, user: User, domain: str | None, actor: Any
                       ) -> StructureReferent:
    errors = FieldErrors()
    if user.role != Role.PARTENAIRE or user.structure_id != structure.id or not user.active:
        errors.add("user_id", _("Seul un référent partenaire actif de cette structure peut être désigné."))
    domain = clean_code(errors, "domain", domain, [d.value for d in Domain], required=False)
    errors.raise_if_any()
    existing = db.session.scalars(sa.select(StructureReferent).where(
        StructureReferent.structure_id == structure.id, StructureReferent.user_id == user.id,
        StructureReferent.domain.is_(None) if domain is None
        else StructureReferent.domain == domain)).first()
    if existing:
        return existing
    row = StructureReferent(structure_id=structure.id, user_id=user.id, domain=domain)
    db.session.add(row)
    audit.record("structure.referent_designate", actor=actor, object_type="structure",
                 object_id=structure.id, details={"user": user.id, "domain": domain})
    return row


def remove_referent(row: StructureReferent, actor: Any) -> None:
    db.session.delete(row)
    audit.record("structure.referent_remove", actor=actor, object_type="structure",
                 object_id=row.structure_id, details={"user": row.user_id})


@functools.cache
def _statement(for_domain: bool) -> sa.Select:
    """The referents' statement, built once (with or without a domain): the structures' ids and
    the domain are bound at each execution. Building it at every call took more time than
    running it (1 of 3 ms; issue 21)."""
    colleague = sa.orm.aliased(User, name="colleague")
    partner = (User.active.is_(True), User.role == Role.PARTENAIRE)

    def designated(user):  # a referent row of ``user``'s structure, for this domain or all
        return sa.exists().where(
            StructureReferent.user_id == user.id,
            StructureReferent.structure_id == user.structure_id,
            sa.or_(StructureReferent.domain.is_(None),
                   StructureReferent.domain == sa.bindparam("domain"))
            if for_domain else sa.true())

    # One statement: the designated partners, or every partner of a structure with none.
    anyone_designated = sa.select(colleague.id).where(
        colleague.structure_id == User.structure_id, colleague.active.is_(True),
        colleague.role == Role.PARTENAIRE, designated(colleague)).exists()
    # Without the user's site and structure joined (``lazy="joined"`` on User): a partner has
    # no site, and its structure is one of the structures asked for, loaded by every caller
    # (the session's identity map answers without a statement). Joined, their 30 columns
    # doubled the time of this statement, a fifth of sending an orientation (issue 21).
    return (sa.select(User).options(sa.orm.lazyload(User.site), sa.orm.lazyload(User.structure))
            .where(User.structure_id.in_(sa.bindparam("ids", expanding=True)), *partner,
                   sa.or_(designated(User), ~anyone_designated))
            .order_by(User.display_name, User.id))


def referents_by_structure(structure_ids: Iterable[uuid.UUID], domain: str | None = None
                           ) -> dict[uuid.UUID, list[User]]:
    """Each structure's designated referents for ``domain`` (or for any domain, without one);
    for a structure with none designated, every active partner user of the structure."""
    ids = list(dict.fromkeys(structure_ids))
    if not ids:
        return {}
    found: dict[uuid.UUID, list[User]] = {}
    values = {"ids": ids, "domain": domain} if domain else {"ids": ids}
    for user in db.session.scalars(_statement(bool(domain)), values):
        found.setdefault(user.structure_id, []).append(user)
    return found
