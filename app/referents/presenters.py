"""What each reader sees of a parcours and of its entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.accueil.models import Person
from app.accueil.scopes import FULL, visible_fields_many
from app.auth.models import User
from app.core.db import db, load_many
from app.core.enums import Role
from app.directory.models import Structure
from app.referents import services
from app.referents.models import WITHDRAWN, Parcours, ParcoursEntry
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
    last_entry: dict
    persons: dict | None = None
    next_steps: dict | None = None


def _insider(who: str | None) -> bool:
    """The current or former référent, who reads the whole journal."""
    return who in (REFERENT, FORMER)


def _batch(rows: list[Parcours], user: Any, detail: bool = False) -> Batch:
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
    standing = standings(user, rows, history)
    # Readers other than the référent count and date only what every member sees.
    outside = {p.id for p in rows if not _insider(standing.get(p.id))}
    last_entry = services.last_members_entries(outside)
    last_entry.update({p.id: p.last_entry_at for p in rows if p.id not in outside})
    batch = Batch(names=names, structures=structures,
                  attendance=services.attendance_many(ids, outside), history=history,
                  standing=standing, last_entry=last_entry)
    if detail:
        batch.persons = person_blocks(rows, user, standing)
        batch.next_steps = services.latest_decisions(standing)
    return batch


def _shared_name(person: Person, seen: str | set) -> str:
    """The person's name as far as ``seen`` (FULL or the shared fields) shows it."""
    if seen == FULL or person.anonymised_at is not None:
        return person.display_name
    if person.anonymous:
        return person.pseudonym or person.reception_number
    parts = [person.first_name if "first_name" in seen else None,
             (person.last_name or "").upper() if "last_name" in seen else None]
    return " ".join(p for p in parts if p) or person.reception_number


def person_blocks(rows: list[Parcours], user: Any, standing: dict) -> dict[Any, dict | None]:
    """For each parcours, its person as the reader may see them (name, and whether their file
    opens), or None; in a constant number of queries for the référent's list."""
    persons = {p.id: p for p in load_many(Person, {r.person_id for r in rows})}
    # The référent (current or former) opens the whole file (see scopes._referent_view).
    referent_role = getattr(user, "role", None) in (Role.REFERENT_PARCOURS, Role.PARTENAIRE)
    full = {r.person_id for r in rows if referent_role and _insider(standing.get(r.id))}
    rest = [p for pid, p in persons.items() if pid not in full]
    seen = visible_fields_many(user, rest) if rest else {}
    seen.update(dict.fromkeys(full, FULL))
    out: dict = {}
    for r in rows:
        person, fields = persons.get(r.person_id), seen.get(r.person_id)
        out[r.id] = None if person is None or not fields else {
            "id": person.id, "display_name": _shared_name(person, fields)}
    return out


def parcours_views(rows, user: Any, detail: bool = False) -> list[dict[str, Any]]:
    """The views of a list of parcours, in a constant number of queries; ``detail`` adds what
    the pages show: the person (as far as the reader may see them) and the next step."""
    rows = list(rows)
    if not rows:
        return []
    batch = _batch(rows, user, detail)
    return [parcours_view(p, user, batch) for p in rows]


def parcours_view(parcours: Parcours, user: Any, batch: Batch | None = None,
                  detail: bool = False) -> dict[str, Any]:
    batch = batch or _batch([parcours], user, detail)
    who = batch.standing.get(parcours.id)
    active = [m for m in parcours.members if m.removed_at is None]
    names, structures = batch.names, batch.structures
    attendance = batch.attendance.get(parcours.id, services.Attendance(0, 0, 0))
    inside = who in (REFERENT, FORMER, MEMBER)
    history = batch.history.get(parcours.id, [])
    view = {
        "id": parcours.id, "person_id": parcours.person_id, "status": parcours.status,
        "referent": {"id": parcours.referent_id, "display_name": names.get(parcours.referent_id)},
        "members": [{"id": m.id, "user_id": m.user_id, "display_name": names.get(m.user_id),
                     "structure_id": m.structure_id,
                     "structure": structures.get(m.structure_id), "added_at": m.added_at}
                    for m in active],
        "goals": parcours.goals if inside else None,
        "consent": {"given": parcours.status != WITHDRAWN, "at": parcours.consent_given_at,
                    "withdrawn_at": parcours.withdrawn_at},
        "opened_at": parcours.opened_at, "closed_at": parcours.closed_at,
        "outcome": parcours.outcome, "withdrawn_at": parcours.withdrawn_at,
        "last_entry_at": batch.last_entry.get(parcours.id),
        "silent": services.is_silent(parcours),
        "attendance": {"meetings": attendance.meetings, "present": attendance.present,
                       "represented": attendance.represented, "share": attendance.share},
        "referent_history": [{"to": names.get(c.to_user_id), "at": c.at,
                              "reason": c.reason if _insider(who) else None}
                             for c in history],
        "your_role": who,
    }
    if batch.persons is not None:
        view["person"] = batch.persons.get(parcours.id)
    if batch.next_steps is not None:
        step = batch.next_steps.get(parcours.id)
        view["next_step"] = ({"content": step.content, "happened_on": step.happened_on,
                              "id": step.id} if step else None)
    return view


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


def journal_view(entries: list[ParcoursEntry], writer: str | None) -> dict[str, Any]:
    """The journal page: the entries, each correction linked both ways, and the entries the
    reader may correct (``writer``: their standing when they may write, else None)."""
    views = entries_view(entries)
    corrections: dict = {}
    for view in views:
        if view["corrects_id"]:
            corrections.setdefault(view["corrects_id"], []).append(view)
    return {"entries": views, "by_id": {v["id"]: v for v in views}, "corrections": corrections,
            "correctable": {str(e.id): e for e in entries
                            if writer and services.may_correct(e, writer)}}
