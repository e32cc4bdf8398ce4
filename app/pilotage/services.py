"""Pilotage lists read from the other features (pilotage reads them all, none reads it)."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.db import db
from app.core.routing import replica_reads
from app.referents.models import Parcours
from app.referents.services import silent_filter


def silent_parcours_page(territory: str | None, limit: int, offset: int
                         ) -> tuple[list[Parcours], int]:
    """A page of the territory's silent parcours, the longest silent first, and their total."""
    query = sa.select(Parcours).where(silent_filter(), Parcours.territory == territory)
    with replica_reads():  # a count that tolerates seconds of lag; the rows: the primary
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(
        sa.func.coalesce(Parcours.last_entry_at, Parcours.opened_at), Parcours.id)
        .limit(limit).offset(offset)).all()
    return list(rows), total
