"""The orientation panels of a person's file and of the slip (registered with accueil)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.accueil.panels import Panel, register_panel
from app.accueil.scopes import FULL, visible_fields
from app.core.db import db
from app.directory.models import Structure
from app.orientation.models import Orientation


def _file_panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    if slip or visible_fields(user, person) != FULL:
        return None
    rows = list(db.session.scalars(sa.select(Orientation).where(
        Orientation.person_id == person.id).order_by(Orientation.sent_at.desc())))
    structures = {s.id: s for s in db.session.scalars(
        sa.select(Structure).where(Structure.id.in_({o.structure_id for o in rows})))}
    return Panel("orientations", "orientation/_person_panel.html",
                 {"orientations": rows, "structures": structures})


def _slip_panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    if not slip or visit is None:
        return None
    rows = list(db.session.scalars(sa.select(Orientation).where(
        Orientation.visit_id == visit.id).order_by(Orientation.sent_at)))
    if not rows:
        return None
    structures = {s.id: s for s in db.session.scalars(
        sa.select(Structure).where(Structure.id.in_({o.structure_id for o in rows})))}
    return Panel("slip_orientations", "orientation/_slip_panel.html",
                 {"orientations": rows, "structures": structures})


register_panel(_file_panel)
register_panel(_slip_panel)
