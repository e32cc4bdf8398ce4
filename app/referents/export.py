"""The parcours part of a person's record (RGPD access right), registered with accueil.

Everything held, whatever its visibility: référent and their history, members (also removed
ones), goals, every journal entry, the outcome.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.records import register_export_section, user_names
from app.core.db import db
from app.directory.models import Structure
from app.referents.forms import (
    KIND_LABELS,
    OUTCOME_LABELS,
    PRESENCE_LABELS,
    VISIBILITY_LABELS,
)
from app.referents.models import Parcours, ParcoursEntry, ParcoursMember, ReferentChange

PARCOURS_STATUS_LABELS = {"open": _l("ouvert"), "closed": _l("clos"),
                          "withdrawn": _l("consentement retiré")}


def _grouped(model: Any, ids: list, order: Any) -> dict[Any, list]:
    found: dict[Any, list] = {}
    for row in db.session.scalars(sa.select(model).where(model.parcours_id.in_(ids))
                                  .order_by(order)):
        found.setdefault(row.parcours_id, []).append(row)
    return found


def export_parcours(person: Any) -> list[dict[str, Any]]:
    rows = list(db.session.scalars(sa.select(Parcours).where(
        Parcours.person_id == person.id).order_by(Parcours.opened_at)))
    if not rows:
        return []
    ids = [p.id for p in rows]
    members = _grouped(ParcoursMember, ids, ParcoursMember.added_at)
    entries = _grouped(ParcoursEntry, ids, ParcoursEntry.seq)
    changes = _grouped(ReferentChange, ids, ReferentChange.at)
    names = user_names(
        {p.referent_id for p in rows} | {p.opened_by_id for p in rows}
        | {m.user_id for found in members.values() for m in found}
        | {e.author_id for found in entries.values() for e in found}
        | {c.from_user_id for found in changes.values() for c in found}
        | {c.to_user_id for found in changes.values() for c in found})
    structures = dict(db.session.execute(sa.select(Structure.id, Structure.name).where(
        Structure.id.in_({m.structure_id for found in members.values() for m in found
                          if m.structure_id}))).all())
    return [{
        "id": p.id,
        "status": p.status,
        "referent": names.get(p.referent_id),
        "opened_at": p.opened_at,
        "opened_by": names.get(p.opened_by_id),
        "consent_given_at": p.consent_given_at,
        "goals": p.goals,
        "members": [{"name": names.get(m.user_id), "structure": structures.get(m.structure_id),
                     "added_at": m.added_at, "removed_at": m.removed_at, "reason": m.reason}
                    for m in members.get(p.id, [])],
        "referent_changes": [{"at": c.at, "from": names.get(c.from_user_id),
                              "to": names.get(c.to_user_id), "reason": c.reason}
                             for c in changes.get(p.id, [])],
        "entries": [{"id": e.id, "happened_on": e.happened_on, "kind": e.kind,
                     "visibility": e.visibility, "content": e.content,
                     "person_presence": e.person_presence, "author": names.get(e.author_id),
                     "created_at": e.created_at, "corrects_id": e.corrects_id}
                    for e in entries.get(p.id, [])],
        "closed_at": p.closed_at,
        "withdrawn_at": p.withdrawn_at,
        "outcome": p.outcome,
        "outcome_note": p.outcome_note,
    } for p in rows]


def register() -> None:
    """Parcours in the person's record (called by the feature's init_app)."""
    register_export_section("parcours", export_parcours, title=_l("Parcours"),
                            template="referents/_export.html",
                            context={"STATUS": PARCOURS_STATUS_LABELS, "KIND": KIND_LABELS,
                                     "VISIBILITY": VISIBILITY_LABELS, "PRESENCE": PRESENCE_LABELS,
                                     "OUTCOME": OUTCOME_LABELS})
