"""What each reader sees of a parcours and of its entries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.auth.models import User
from app.core.db import db
from app.directory.models import Structure
from app.referents import services
from app.referents.models import Parcours, ParcoursEntry
from app.referents.scopes import FORMER, MEMBER, REFERENT, standing


def _names(ids) -> dict:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def parcours_view(parcours: Parcours, user: Any) -> dict[str, Any]:
    who = standing(user, parcours)
    active = [m for m in parcours.members if m.removed_at is None]
    names = _names([parcours.referent_id] + [m.user_id for m in active])
    structures = {s.id: s.name for s in db.session.scalars(sa.select(Structure).where(
        Structure.id.in_({m.structure_id for m in active if m.structure_id})))}
    attendance = services.attendance(parcours)
    inside = who in (REFERENT, FORMER, MEMBER)
    history = services.referent_history(parcours)
    history_names = _names([c.to_user_id for c in history])
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
        "referent_history": [{"to": history_names.get(c.to_user_id), "at": c.at,
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
