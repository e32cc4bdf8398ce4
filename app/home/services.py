"""What each role's home page starts the day with (issue 24, item 1).

Every list and count is read through the features' scopes, never from a query of all rows:
the site's queue through ``accueil.scopes.site_visits``, orientations through
``orientation.scopes.visible_orientations``, appointments through the orientations of that scope
and the ``appointment.record`` rule, parcours through the pilotage's territory list, break-the-
glass accesses through ``accueil.scopes`` (the rule of ``break_glass.review``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.accueil import queue
from app.accueil.scopes import unreviewed_grants_count
from app.appointments.models import SCHEDULED, Appointment
from app.core.db import db, utcnow
from app.core.permissions import can
from app.orientation import reminders
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation
from app.orientation.news import site_news
from app.orientation.presenters import orientation_view, preload
from app.orientation.scopes import visible_orientations
from app.orientation.status import OrientationStatus
from app.pilotage.services import silent_parcours_page

HOME_ROWS = 10  # each list of a home page shows its first rows and links to the whole list


def reception(user: Any) -> dict[str, Any]:
    """The agent's home: the persons waiting today at their site, urgent first."""
    waiting = queue.waiting_today(user)
    return {"waiting": waiting[:HOME_ROWS], "waiting_total": len(waiting),
            "news": site_news(user, limit=HOME_ROWS)}


@dataclass
class AppointmentDue:
    appointment: Appointment
    orientation: Orientation
    view: dict[str, Any]


def partner(user: Any, today: date | None = None) -> dict[str, Any]:
    """The partner's home: the orientations to acknowledge (urgent first, then by due date) and
    the appointments passed without an outcome, with their dates."""
    today = today or local_date(utcnow())
    to_ack = visible_orientations(user).where(Orientation.status == OrientationStatus.SENT)
    ack_total = db.session.scalar(sa.select(sa.func.count()).select_from(to_ack.subquery()))
    rows = list(db.session.scalars(to_ack.order_by(
        Orientation.urgent.desc(), Orientation.acknowledge_due, Orientation.sent_at)
        .limit(HOME_ROWS)))
    needs = preload(rows)
    to_acknowledge = [orientation_view(o, user, with_events=False, needs_by_visit=needs)
                      for o in rows]
    scope = visible_orientations(user).with_only_columns(Orientation.id).subquery()
    passed = db.session.execute(
        sa.select(Appointment, Orientation)
        .join(Orientation, Orientation.id == Appointment.orientation_id)
        .where(Appointment.status == SCHEDULED, Appointment.scheduled_on < today,
               Orientation.status.in_([OrientationStatus.ACKNOWLEDGED,
                                       OrientationStatus.IN_CHARGE]),
               Orientation.id.in_(sa.select(scope.c.id)))
        .order_by(Orientation.urgent.desc(), Appointment.scheduled_on, Appointment.id)
        .limit(HOME_ROWS * 5)).all()
    # Who records an appointment's outcome is the rule of ``appointment.record``.
    passed = [(a, o) for a, o in passed if can(user, "appointment.record", o)][:HOME_ROWS]
    needs = preload([o for _a, o in passed])
    appointments = [AppointmentDue(a, o, orientation_view(o, user, with_events=False,
                                                          needs_by_visit=needs))
                    for a, o in passed]
    return {"to_acknowledge": to_acknowledge, "ack_total": ack_total,
            "appointments": appointments, "today": today}


def coordinator(user: Any, today: date | None = None) -> dict[str, Any]:
    """The coordinator's home: three counts, each the length of a list of their territory."""
    _rows, late = reminders.stalls_page(visible_orientations(user), today=today, limit=0)
    _rows, silent = silent_parcours_page(user.territory, limit=0, offset=0)
    return {"late": late, "silent": silent, "unreviewed": unreviewed_grants_count(user)}

