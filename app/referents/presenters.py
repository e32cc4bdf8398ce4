"""What each reader sees of a parcours and of its entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.db import db
from app.directory.models import Structure
from app.referents import services
from app.referents.models import Parcours, ParcoursEntry
from app.referents.scopes import FORMER, MEMBER, REFERENT, standings


def _names(ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


@dataclass
class Batch:
    """What the views of a list of parcours need, loaded for all of them at once."""
    names: dict
    structures: dict
    attendance: dict
    history: dict
    standing: dict


def _batch(rows: list[Parcours], user: Any) -> Batch:
    ids = [p.id for p in rows]
    # The members of every row, in one query (the rows are in the identity map already).
    list(db.session.scalars(sa.select(Parcours).options(selectinload(Parcours.members))
                            .where(Parcours.id.in_(ids))))
    active = [m for p in rows for m in p.members if m.removed_at is None]
    history = services.referent_history_many(ids)
    names = _names([p.referent_id for p in rows] + [m.user_id for m in active]
                   + [c.to_user_id for changes in history.values() for c in changes])
    structures = {s.id: s.name for s in db.session.scalars(sa.select(Structure).where(
        Structure.id.in_({m.structure_id for m in active if m.structure_id})))}
    return Batch(names=names, structures=structures, attendance=services.attendance_many(ids),
                 history=history, standing=standings(user, rows, history))


def parcours_views(rows, user: Any) -> list[dict[str, Any]]:
    """The views of a list of parcours, in a constant number of queries."""
    rows = list(rows)
    if not rows:
        return []
    batch = _batch(rows, user)
    return [parcours_view(p, user, batch) for p in rows]


def parcours_view(parcours: Parcours, user: Any, batch: Batch | None = None) -> dict[str, Any]:
    batch = batch or _batch([parcours], user)
    who = batch.standing.get(parcours.id)
    active = [m for m in parcours.members if m.removed_at is None]
    names, structures = batch.names, batch.structures
    attendance = batch.attendance.get(parcours.id, services.Attendance(0, 0, 0))
    inside = who in (REFERENT, FORMER, MEMBER)
    history = batch.history.get(parcours.id, [])
    return {
        "id": parcours.id, "person_id": parcours.person_id, "status": parcours.status,
        "referent": {"id": parcours.referent_id, "display_name": names.get(parcours.referent_id)},
        "members": [{"id": m.id, "user_id": m.user_id, "display_name": names.get(m.user_id),
                     "structure_id": m.structure_id,
                     "structure": structures.get(m.structure_id), "added_at": m.added_at}
                    for m in active],
        "goals": parcours.goals if inside else None,
        "consent": {"given": True, "at": parcours.consent_given_at},
        "opened_at": parcours.opened_at, "closed_at": parcours.closed_at,
        "outcome": parcours.outcome, "withdrawn_at": parcours.withdrawn_at,
        "last_entry_at": parcours.last_entry_at,
        "silent": services.is_silent(parcours),
        "attendance": {"meetings": attendance.meetings, "present": attendance.present,
                       "represented": attendance.represented, "share": attendance.share},
        "referent_history": [{"to": names.get(c.to_user_id), "at": c.at,
                              "reason": c.reason if who in (REFERENT, FORMER) else None}
                             for c in history],
        "your_role": who,
    }


def entry_view(entry: ParcoursEntry, names: dict | None = None) -> dict[str, Any]:
    names = names if names is not None else _names([entry.author_id])
    return {"id": entry.id, "seq": entry.seq, "kind": entry.kind, "visibility": entry.visibility,
            "happened_on": entry.happened_on, "content": entry.content,
            "person_present": entry.person_presence, "author": names.get(entry.author_id),
            "author_id": entry.author_id, "created_at": entry.created_at,
            "corrects_id": entry.corrects_id}


def entries_view(entries: list[ParcoursEntry]) -> list[dict[str, Any]]:
    names = _names([e.author_id for e in entries])
    return [entry_view(e, names) for e in entries]
