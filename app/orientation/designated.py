"""The designated referents of many structures at once (the directory API, the send form), by
the same rule as ``services.referents``, in two queries whatever the number of structures."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from app.auth.models import User
from app.core.db import db
from app.core.enums import Role
from app.orientation.models import StructureReferent


def referents_by_structure(structure_ids: Iterable[uuid.UUID], domain: str | None = None
                           ) -> dict[uuid.UUID, list[User]]:
    """Each structure's designated referents for ``domain`` (or for any domain, without one);
    for a structure with none designated, every active partner user of the structure."""
    ids = list(dict.fromkeys(structure_ids))
    if not ids:
        return {}
    found: dict[uuid.UUID, list[User]] = {}
    rows = db.session.execute(
        sa.select(StructureReferent.structure_id, User)
        .join(User, User.id == StructureReferent.user_id)
        .where(StructureReferent.structure_id.in_(ids), User.active.is_(True),
               User.role == Role.PARTENAIRE, User.structure_id == StructureReferent.structure_id,
               sa.or_(StructureReferent.domain.is_(None), StructureReferent.domain == domain)
               if domain else sa.true())
        .order_by(User.display_name, User.id))
    for structure_id, user in rows:
        users = found.setdefault(structure_id, [])
        if user not in users:  # designated for several domains
            users.append(user)
    undesignated = [i for i in ids if i not in found]
    if undesignated:
        for user in db.session.scalars(sa.select(User).where(
                User.structure_id.in_(undesignated), User.active.is_(True),
                User.role == Role.PARTENAIRE).order_by(User.display_name, User.id)):
            found.setdefault(user.structure_id, []).append(user)
    return found
