"""The parcours panel of a person's file, and the parcours mover of a merge."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app.accueil.merge import Mover, register_mover
from app.accueil.panels import Panel, register_panel
from app.core.db import db
from app.referents.models import Parcours
from app.referents.scopes import standing


def _panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    if slip:
        return None
    rows = [p for p in db.session.scalars(sa.select(Parcours).where(
        Parcours.person_id == person.id).order_by(Parcours.opened_at.desc()))
        if standing(user, p) is not None]
    from app.core.permissions import can

    if not rows and not can(user, "parcours.open"):
        return None
    return Panel("parcours", "referents/_person_panel.html", {"parcours": rows})


def _move(kept: uuid.UUID, merged: uuid.UUID) -> list[str]:
    ids = list(db.session.scalars(sa.select(Parcours.id).where(Parcours.person_id == merged)))
    db.session.execute(sa.update(Parcours).where(Parcours.id.in_(ids)).values(person_id=kept))
    return [str(i) for i in ids]


def _restore(ids: list[str], merged: uuid.UUID) -> None:
    db.session.execute(sa.update(Parcours).where(Parcours.id.in_([uuid.UUID(i) for i in ids]))
                       .values(person_id=merged))


register_panel(_panel)
register_mover(Mover("parcours", _move, _restore))
