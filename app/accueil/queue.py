"""The site's queue (issue 24, items 1 and 5): the persons waiting today at the agent's site,
each with the time they arrived, how long they have waited, and whether a need is urgent;
urgent first, then who has waited longest.

A person waits while their visit of today is ``pending`` (neither answered on the spot nor
oriented). The visits come from ``scopes.site_visits`` (the agent's own site), never from a
query of all visits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.accueil.models import Visit
from app.accueil.scopes import site_visits
from app.core.db import db, utcnow

PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Waiting:
    visit: Visit
    urgent: bool
    waited_minutes: int

    @property
    def person(self):
        return self.visit.person

    @property
    def arrived(self) -> str:
        """The arrival's Paris time, "14:05"."""
        return self.visit.occurred_at.astimezone(PARIS).strftime("%H:%M")


def is_urgent(visit: Visit) -> bool:
    return any(n.urgency == "urgent" for n in visit.needs)


def today_bounds(now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(PARIS)
    start = datetime.combine(local.date(), time.min, PARIS)
    return start, start + timedelta(days=1)


def waiting_today(user: Any, now: datetime | None = None) -> list[Waiting]:
    """The persons waiting today at ``user``'s site: urgent first, then the longest wait."""
    now = now or utcnow()
    start, end = today_bounds(now)
    visits = db.session.scalars(
        site_visits(user).options(selectinload(Visit.person), selectinload(Visit.needs))
        .where(Visit.outcome == "pending", Visit.occurred_at >= start, Visit.occurred_at < end)
        .order_by(Visit.occurred_at, Visit.id))
    queue = [Waiting(v, is_urgent(v), waited_minutes(v.occurred_at, now)) for v in visits]
    queue.sort(key=lambda w: (not w.urgent, w.visit.occurred_at))
    return queue


def waited_minutes(since: datetime, now: datetime) -> int:
    if since.tzinfo is None:  # SQLite gives naive UTC timestamps back
        since = since.replace(tzinfo=now.tzinfo)
    return max(0, int((now - since).total_seconds() // 60))


def count_waiting_today(user: Any, now: datetime | None = None) -> int:
    now = now or utcnow()
    start, end = today_bounds(now)
    query = site_visits(user).where(Visit.outcome == "pending", Visit.occurred_at >= start,
                                    Visit.occurred_at < end)
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
