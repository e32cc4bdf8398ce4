"""What became of the site's orientations: the status changes the partners made, for the home
page of every agent of the sending site (issue 24, item 15), so that news of an orientation
does not wait for the one agent who sent it to come back.

Read through ``visible_orientations`` (an agent's are their site's), nothing of the person but
what the agent's view of the orientation shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.auth.models import User
from app.core.db import db, load_many, utcnow
from app.core.enums import Role
from app.orientation.models import Orientation, OrientationEvent
from app.orientation.presenters import orientation_view, preload
from app.orientation.scopes import visible_orientations
from app.orientation.status import OrientationStatus

NEWS_DAYS = 7
NEWS_ROWS = 10
# What the partners decide: the news an agent waits for.
NEWS_STATUSES = (OrientationStatus.ACKNOWLEDGED, OrientationStatus.IN_CHARGE,
                 OrientationStatus.REFUSED, OrientationStatus.REDIRECTED,
                 OrientationStatus.CLOSED)


@dataclass
class News:
    at: datetime
    to_status: str
    orientation: Orientation
    view: dict[str, Any]
    sender: User | None  # who sent it: a colleague, or the reader


def site_news(user: Any, days: int = NEWS_DAYS, limit: int = NEWS_ROWS) -> list[News]:
    """The status changes of the last ``days`` on the orientations of the agent's site, the
    latest first (one line per change); [] for any other role."""
    if getattr(user, "role", None) != Role.ACCUEIL or not getattr(user, "site_id", None):
        return []
    scope = visible_orientations(user).with_only_columns(Orientation.id).subquery()
    rows = db.session.execute(
        sa.select(OrientationEvent.orientation_id, OrientationEvent.at,
                  OrientationEvent.to_status)
        .where(OrientationEvent.orientation_id.in_(sa.select(scope.c.id)),
               OrientationEvent.kind == "transition",
               OrientationEvent.to_status.in_([s.value for s in NEWS_STATUSES]),
               OrientationEvent.at >= utcnow() - timedelta(days=days))
        .order_by(OrientationEvent.at.desc()).limit(limit)).all()
    orientations = {o.id: o for o in load_many(Orientation, {r.orientation_id for r in rows})}
    needs = preload(list(orientations.values()))
    views = {i: orientation_view(o, user, with_events=False, needs_by_visit=needs)
             for i, o in orientations.items()}
    senders = {u.id: u for u in load_many(User, {o.sender_id for o in orientations.values()
                                                 if o.sender_id})}
    return [News(r.at, r.to_status, orientations[r.orientation_id], views[r.orientation_id],
                 senders.get(orientations[r.orientation_id].sender_id))
            for r in rows]
