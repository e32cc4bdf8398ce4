"""Merging two files of the same person, and undoing it within 30 days.

What moves is recorded by identifier, kind by kind, so the reversal moves exactly that back.
Visits move here; later features (orientations, parcours) register their own movers, so that
accueil does not import them. Every mover's ``check`` runs before anything moves: a merge the
data cannot take (two open parcours) is refused whole, with its reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.accueil.models import Person, PersonMerge, Visit
from app.accueil.persons import index_person
from app.core import audit
from app.core.db import db, utcnow
from app.core.errors import Conflict, ValidationFailed

REVERSIBLE_DAYS = 30


@dataclass(frozen=True)
class Mover:
    kind: str
    move: Callable[[uuid.UUID, uuid.UUID], list[str]]   # (kept, merged) -> moved ids
    restore: Callable[[list[str], uuid.UUID], None]     # (ids, merged) -> None
    check: Callable[[uuid.UUID, uuid.UUID], None] | None = None  # raises a ServiceError


def _move_visits(kept: uuid.UUID, merged: uuid.UUID) -> list[str]:
    ids = list(db.session.scalars(sa.select(Visit.id).where(Visit.person_id == merged)))
    db.session.execute(sa.update(Visit).where(Visit.id.in_(ids)).values(person_id=kept))
    return [str(i) for i in ids]


def _restore_visits(ids: list[str], merged: uuid.UUID) -> None:
    db.session.execute(sa.update(Visit).where(Visit.id.in_([uuid.UUID(i) for i in ids]))
                       .values(person_id=merged))


# Visits move first; later features register theirs from their init_app.
_MOVERS: list[Mover] = [Mover("visits", _move_visits, _restore_visits)]


def register_mover(mover: Mover) -> None:
    if all(m.kind != mover.kind for m in _MOVERS):
        _MOVERS.append(mover)


def merge_persons(kept: Person, merged: Person, actor: Any) -> PersonMerge:
    if kept.id == merged.id:
        raise ValidationFailed(_("Choisissez deux dossiers différents."),
                               {"merged_id": [_("Choisissez deux dossiers différents.")]})
    if kept.merged_into_id or merged.merged_into_id:
        raise Conflict(_("L'un des deux dossiers a déjà été fusionné."))
    for mover in _MOVERS:
        if mover.check is not None:
            mover.check(kept.id, merged.id)
    moved = {mover.kind: mover.move(kept.id, merged.id) for mover in _MOVERS}
    merged.merged_into_id = kept.id
    record = PersonMerge(kept_id=kept.id, merged_id=merged.id, merged_by_id=actor.id,
                         moved=json.dumps(moved, sort_keys=True), merged_at=utcnow())
    db.session.add(record)
    details = {"merge": record.id, "kept": kept.id, "merged": merged.id}
    for person in (kept, merged):
        audit.record("person.merge", actor=actor, object_type="person", object_id=person.id,
                     person_id=person.id, details=details)
    return record


def revert_merge(record: PersonMerge, actor: Any) -> PersonMerge:
    if record.reverted_at is not None:
        raise Conflict(_("Cette fusion a déjà été annulée."))
    if utcnow() - record.merged_at > timedelta(days=REVERSIBLE_DAYS):
        raise Conflict(_("Une fusion ne peut être annulée que dans les %(n)d jours.",
                         n=REVERSIBLE_DAYS))
    moved = json.loads(record.moved)
    for mover in _MOVERS:
        mover.restore(moved.get(mover.kind, []), record.merged_id)
    merged = db.session.get(Person, record.merged_id)
    merged.merged_into_id = None
    index_person(merged)
    record.reverted_at = utcnow()
    record.reverted_by_id = actor.id
    details = {"merge": record.id}
    for person_id in (record.kept_id, record.merged_id):
        audit.record("person.merge_revert", actor=actor, object_type="person",
                     object_id=person_id, person_id=person_id, details=details)
    return record


def merges_of(person: Person) -> list[PersonMerge]:
    return list(db.session.scalars(sa.select(PersonMerge).where(
        sa.or_(PersonMerge.kept_id == person.id, PersonMerge.merged_id == person.id))
        .order_by(PersonMerge.merged_at.desc())))
