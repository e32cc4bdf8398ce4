"""The schémas' indicators over a period, computed by SQL aggregation in the database.

Nothing here loads rows into Python: every figure is a COUNT or a SUM of a CASE, and a median
is read from a histogram of whole days (a few dozen rows); portable to SQLite and PostgreSQL. Working-day delays use the
``calendar_days`` table (French public holidays), joined on the Paris dates stored with each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import aliased

from app.accueil.models import Need, Person, Visit
from app.appointments.models import Appointment
from app.core import audit
from app.core.db import db, utcnow
from app.core.routing import read_connection, read_primary, replica_reads
from app.directory.models import Site, Structure
from app.followup.models import FollowUp
from app.notifications.models import OutboxMessage
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation
from app.orientation.status import OrientationStatus
from app.pilotage.calendar import calendar_covers, ensure_calendar
from app.pilotage.models import CalendarDay
from app.referents.models import Parcours, ParcoursEntry

GROUPINGS = ("site", "structure", "domain", "channel", "territory")
# Every figure of a row, with its value when nothing was counted.
METRICS: dict[str, Any] = {
    "persons_welcomed": 0, "persons_new": 0, "persons_returning": 0, "anonymous_share": None,
    "visits": 0, "answered_share": None, "orientations_sent": 0,
    "acknowledged_within_delay": None, "median_ack_working_days": None,
    "median_take_charge_working_days": None, "refusal_rate": None, "refusals": 0,
    "redirections": 0, "parcours_opened": 0, "parcours_closed": 0,
    "median_referent_designation_days": None, "meetings": 0, "meetings_person_present": None,
    "updates_requested_share": None, "updates_sent": 0, "updates_failed": 0,
    "appointments_kept": 0, "appointments_missed": 0, "orientations_with_kept_appointment": 0,
    "median_days_to_first_kept_appointment": None,
}
# The figures of each source, and the groupings each source can be split by. In a group row, a
# figure whose source cannot be split by the grouping is None ("does not apply"), not 0: a visit
# has no structure, a parcours has neither site, structure, domain nor channel.
VISIT_METRICS = ("persons_welcomed", "persons_new", "persons_returning", "anonymous_share",
                 "visits", "answered_share")
ORIENTATION_METRICS = ("orientations_sent", "acknowledged_within_delay",
                       "median_ack_working_days", "median_take_charge_working_days",
                       "refusal_rate", "refusals", "redirections")
PARCOURS_METRICS = ("parcours_opened", "parcours_closed", "median_referent_designation_days",
                    "meetings", "meetings_person_present")
UPDATE_METRICS = ("updates_requested_share", "updates_sent", "updates_failed")
# The appointments of the orientations sent in the period (issue 20): kept, missed, and the
# calendar days from sending to the first kept one (the seeds' measure, target one month).
APPOINTMENT_METRICS = ("appointments_kept", "appointments_missed",
                       "orientations_with_kept_appointment",
                       "median_days_to_first_kept_appointment")
APPLIES: dict[str, tuple[str, ...]] = {
    "site": VISIT_METRICS + ORIENTATION_METRICS + UPDATE_METRICS               # sender site
    + APPOINTMENT_METRICS,
    "structure": ORIENTATION_METRICS + UPDATE_METRICS + APPOINTMENT_METRICS,
    "domain": VISIT_METRICS + ORIENTATION_METRICS + UPDATE_METRICS             # visits: their needs
    + APPOINTMENT_METRICS,
    "channel": VISIT_METRICS + ORIENTATION_METRICS + UPDATE_METRICS            # orientations: their visit
    + APPOINTMENT_METRICS,
    "territory": VISIT_METRICS + ORIENTATION_METRICS + UPDATE_METRICS + PARCOURS_METRICS
    + APPOINTMENT_METRICS,
}
TARGETS = {"ack_working_days": 2, "take_charge_working_days": 22, "referent_designation_days": 30,
           "first_kept_appointment_days": 30}
ALL = "all"
# The dates a period may span: the calendar table is filled up to them, so they are bounded.
EARLIEST = date(2000, 1, 1)


def latest(today: date) -> date:
    """The last date a period may reach: one year after today."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def group_defaults(by: str) -> dict[str, Any]:
    """A group row before anything is counted: 0 or None where a figure applies, else None."""
    applies = APPLIES[by]
    return {name: (value if name in applies else None) for name, value in METRICS.items()}


@dataclass
class Query:
    date_from: date
    date_to: date
    territory: str | None = None
    by: str | None = None


@dataclass
class Report:
    query: Query
    totals: dict[str, Any]
    groups: list[dict[str, Any]]
    months: list[dict[str, Any]]
    refusal_reasons: list[dict[str, Any]]
    parcours_outcomes: list[dict[str, Any]]
    domains: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    targets: dict[str, int] = field(default_factory=lambda: dict(TARGETS))


def _pct(numerator, denominator) -> float | None:
    return round(100.0 * numerator / denominator, 1) if denominator else None


def _count_if(condition) -> sa.ColumnElement:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _median(values: sa.Select) -> dict[Any, float]:
    """Median of ``value`` per ``g`` for a select of (g, value).

    The values are whole days, so the database returns their histogram (one row per group and
    distinct value, a few dozen) and the median is read from its cumulative counts: the same
    figure as sorting every value, without sorting them.
    """
    v = values.subquery()
    histograms: dict[Any, list[tuple[int, int]]] = {}
    for g, value, n in db.session.execute(
            sa.select(v.c.g, v.c.value, sa.func.count()).group_by(v.c.g, v.c.value)):
        if value is not None:
            histograms.setdefault(g, []).append((value, n))
    return {g: _median_of(sorted(pairs)) for g, pairs in histograms.items()}


def _median_of(histogram: list[tuple[int, int]]) -> float:
    """The median of a sorted histogram of (value, count): the mean of the two middle ranks.
    A duration is never negative: a value below zero (an inconsistent row, such as a first
    request dated after the parcours it led to) counts as 0 days."""
    total = sum(n for _value, n in histogram)
    middle = ((total + 1) // 2, (total + 2) // 2)  # 1-based ranks; equal when total is odd
    found, seen = [], 0
    for value, n in histogram:
        seen += n
        while len(found) < 2 and seen >= middle[len(found)]:
            found.append(max(0, value))
    return round(float(found[0] + found[1]) / 2, 1)


# -- the group key of each source, for a grouping -----------------------------------------------
def _visit_key(by: str | None):
    """A visit counts in the domain of each of its needs (once per domain)."""
    return {None: sa.literal(ALL), "site": Visit.site_id, "channel": Visit.channel,
            "domain": Need.domain, "territory": Site.territory}.get(by)


def _orientation_key(by: str | None):
    """An orientation counts in the channel of the visit it was sent from (None without one)."""
    return {None: sa.literal(ALL), "site": Orientation.sender_site_id,
            "structure": Orientation.structure_id, "domain": Orientation.domain,
            "channel": Visit.channel, "territory": Orientation.territory}.get(by)


def _from_orientations(query: sa.Select, by: str | None) -> sa.Select:
    """``query`` reading orientations, joined to their visit when the key needs it."""
    query = query.select_from(Orientation)
    if by == "channel":
        query = query.outerjoin(Visit, Visit.id == Orientation.visit_id)
    return query


def _parcours_key(by: str | None):
    return {None: sa.literal(ALL), "territory": Parcours.territory}.get(by)


# -- sources ------------------------------------------------------------------------------------
def _visits(q: Query) -> dict[Any, dict]:
    """Visits of the period grouped per person first (one row per person and group), then
    counted per group. A person is new when no visit of theirs precedes the period, that is when
    their first visit (``persons.first_visit_on``, kept by the database) falls within it; the
    new and the anonymous are read as sets of identifiers from two indexes and joined by hash,
    instead of probing each person's visits."""
    key = _visit_key(q.by)
    if key is None:
        return {}
    if q.by == "domain":  # one row per need: a visit with two needs of a domain counts once
        visits = sa.func.count(sa.distinct(Visit.id))
        answered = sa.func.count(sa.distinct(sa.case((Visit.outcome == "answered", Visit.id))))
    else:
        visits, answered = sa.func.count(), _count_if(Visit.outcome == "answered")
    per_person = (sa.select(
        key.label("g"), Visit.person_id.label("person_id"), visits.label("visits"),
        answered.label("answered"),
    ).select_from(Visit).join(Site, Site.id == Visit.site_id)
        .where(Visit.occurred_on.between(q.date_from, q.date_to))
        .group_by(key, Visit.person_id))
    if q.by == "domain":
        per_person = per_person.join(Need, Need.visit_id == Visit.id)
    if q.territory:
        per_person = per_person.where(Site.territory == q.territory)
    per_person = per_person.subquery()
    first_here = (sa.select(Person.id.label("id"))
                  .where(Person.first_visit_on.between(q.date_from, q.date_to)).subquery())
    anonymous = sa.select(Person.id.label("id")).where(Person.anonymous).subquery()  # partial index
    query = (sa.select(
        per_person.c.g, sa.func.sum(per_person.c.visits).label("visits"),
        sa.func.count().label("persons"),
        sa.func.count(first_here.c.id).label("new"),
        sa.func.count(anonymous.c.id).label("anonymous"),
        sa.func.sum(per_person.c.answered).label("answered"),
    ).select_from(per_person)
        .outerjoin(first_here, first_here.c.id == per_person.c.person_id)
        .outerjoin(anonymous, anonymous.c.id == per_person.c.person_id)
        .group_by(per_person.c.g))
    out = {}
    for row in db.session.execute(query):
        visits, answered = int(row.visits or 0), int(row.answered or 0)
        out[row.g] = {"visits": visits, "persons_welcomed": row.persons,
                      "persons_new": int(row.new or 0),
                      "persons_returning": row.persons - int(row.new or 0),
                      "anonymous_share": _pct(int(row.anonymous or 0), row.persons),
                      "answered_share": _pct(answered, visits)}
    return out


# Orientations created by a redirection: one rule everywhere. Each is an orientation sent
# (a structure receives it and must answer it within its own delays), so it counts in
# ``orientations_sent``, the delays, the refusals, the months and the messages sent to the
# person. What is counted per *person oriented* counts a redirection chain once, on its first
# orientation, which carries the person's follow-up: the share of persons asking for updates.
def _orientations(q: Query, today: date) -> dict[Any, dict]:
    key = _orientation_key(q.by)
    if key is None:
        return {}
    sent_day, ack_day, take_day = (aliased(CalendarDay) for _ in range(3))
    due_passed = sa.or_(Orientation.acknowledged_on.is_not(None),
                        Orientation.acknowledge_due < today)
    base = _sent_in(q)
    query = _from_orientations(sa.select(
        key.label("g"), sa.func.count().label("sent"),
        _count_if(sa.and_(Orientation.acknowledged_on.is_not(None),
                          Orientation.acknowledged_on <= Orientation.acknowledge_due))
        .label("on_time"),
        _count_if(sa.and_(Orientation.status != OrientationStatus.CANCELLED, due_passed))
        .label("measurable"),
        _count_if(Orientation.status == OrientationStatus.REFUSED).label("refused"),
        _count_if(Orientation.status == OrientationStatus.REDIRECTED).label("redirected"),
    ), q.by).where(*base).group_by(key)
    ack = _median(_from_orientations(
        sa.select(key.label("g"), (ack_day.working_index - sent_day.working_index).label("value")),
        q.by).join(sent_day, sent_day.day == Orientation.sent_on)
        .join(ack_day, ack_day.day == Orientation.acknowledged_on).where(*base))
    take = _median(_from_orientations(
        sa.select(key.label("g"),
                  (take_day.working_index - sent_day.working_index).label("value")),
        q.by).join(sent_day, sent_day.day == Orientation.sent_on)
        .join(take_day, take_day.day == Orientation.taken_charge_on).where(*base))
    out = {}
    for row in db.session.execute(query):
        out[row.g] = {"orientations_sent": row.sent,
                      "acknowledged_within_delay": _pct(row.on_time, row.measurable),
                      "median_ack_working_days": ack.get(row.g),
                      "median_take_charge_working_days": take.get(row.g),
                      "refusal_rate": _pct(row.refused, row.sent), "refusals": row.refused,
                      "redirections": row.redirected}
    return out


def _parcours(q: Query) -> dict[Any, dict]:
    key = _parcours_key(q.by)
    if key is None:
        return {}
    opened_day, first_day = aliased(CalendarDay), aliased(CalendarDay)
    opened = [Parcours.opened_on.between(q.date_from, q.date_to)]
    closed = [Parcours.closed_on.between(q.date_from, q.date_to)]
    if q.territory:
        opened.append(Parcours.territory == q.territory)
        closed.append(Parcours.territory == q.territory)
    counts = dict(db.session.execute(
        sa.select(key, sa.func.count()).where(*opened).group_by(key)).all())
    closures = dict(db.session.execute(
        sa.select(key, sa.func.count()).where(*closed).group_by(key)).all())
    delays = _median(sa.select(key.label("g"),
                               (opened_day.ordinal - first_day.ordinal).label("value"))
                     .select_from(Parcours)
                     .join(opened_day, opened_day.day == Parcours.opened_on)
                     .join(first_day, first_day.day == Parcours.first_request_on).where(*opened))
    meetings_q = (sa.select(key.label("g"), sa.func.count().label("meetings"),
                            _count_if(ParcoursEntry.person_presence == "present").label("present"))
                  .select_from(ParcoursEntry).join(Parcours, Parcours.id == ParcoursEntry.parcours_id)
                  .where(ParcoursEntry.kind == "meeting",
                         ParcoursEntry.happened_on.between(q.date_from, q.date_to))
                  .group_by(key))
    if q.territory:
        meetings_q = meetings_q.where(Parcours.territory == q.territory)
    meetings = {r.g: r for r in db.session.execute(meetings_q)}
    out: dict[Any, dict] = {}
    for g in set(counts) | set(closures) | set(meetings):
        m = meetings.get(g)
        out[g] = {"parcours_opened": counts.get(g, 0), "parcours_closed": closures.get(g, 0),
                  "median_referent_designation_days": delays.get(g),
                  "meetings": m.meetings if m else 0,
                  "meetings_person_present": _pct(m.present, m.meetings) if m else None}
    return out


def _sent_in(q: Query) -> list:
    """The conditions of the orientations sent in the period (and the territory, if any)."""
    period = [Orientation.sent_on.between(q.date_from, q.date_to)]
    if q.territory:
        period.append(Orientation.territory == q.territory)
    return period


def _updates(q: Query) -> dict[Any, dict]:
    """The person's own follow-up: who asked for updates, messages sent, delivery failures.

    The share is per person oriented, on first orientations only (the rule above
    ``_orientations``); the messages are those of every orientation, redirected ones included.
    """
    key = _orientation_key(q.by)
    if key is None:
        return {}
    period = _sent_in(q)
    asked = {row.g: row for row in db.session.execute(_from_orientations(
        sa.select(key.label("g"), sa.func.count(Orientation.id).label("oriented"),
                  sa.func.count(FollowUp.updates_channel).label("asked")), q.by)
        .outerjoin(FollowUp, FollowUp.orientation_id == Orientation.id)
        .where(*period, Orientation.redirected_from_id.is_(None)).group_by(key))}
    messages: dict[Any, dict[str, int]] = {}
    for g, status, n in db.session.execute(_from_orientations(
            sa.select(key, OutboxMessage.status, sa.func.count()), q.by)
            .join(OutboxMessage, OutboxMessage.related_id == Orientation.id)
            .where(OutboxMessage.kind == "followup.update", *period)
            .group_by(key, OutboxMessage.status)):
        messages.setdefault(g, {})[status] = n
    out = {}
    for g in set(asked) | set(messages):
        row, by_status = asked.get(g), messages.get(g, {})
        out[g] = {"updates_requested_share": _pct(row.asked, row.oriented) if row else None,
                  "updates_sent": by_status.get("sent", 0),
                  "updates_failed": by_status.get("failed", 0)}
    return out


def _appointments(q: Query) -> dict[Any, dict]:
    """The appointments of the period's orientations: kept and missed, and the median of the
    calendar days from sending to the first kept appointment (one value per orientation)."""
    key = _orientation_key(q.by)
    if key is None:
        return {}
    period = _sent_in(q)
    counts = {row.g: row for row in db.session.execute(_from_orientations(
        sa.select(key.label("g"), _count_if(Appointment.status == "came").label("kept"),
                  _count_if(Appointment.status == "no_show").label("missed")), q.by)
        .join(Appointment, Appointment.orientation_id == Orientation.id)
        .where(*period).group_by(key))}
    first = (sa.select(Appointment.orientation_id.label("orientation_id"),
                       sa.func.min(Appointment.scheduled_on).label("first_on"))
             .where(Appointment.status == "came").group_by(Appointment.orientation_id)
             .subquery())
    sent_day, kept_day = aliased(CalendarDay), aliased(CalendarDay)
    values = (_from_orientations(
        sa.select(key.label("g"), (kept_day.ordinal - sent_day.ordinal).label("value")), q.by)
        .join(first, first.c.orientation_id == Orientation.id)
        .join(sent_day, sent_day.day == Orientation.sent_on)
        .join(kept_day, kept_day.day == first.c.first_on).where(*period))
    # One histogram gives both the median and the number of orientations it is taken over.
    v = values.subquery()
    histograms: dict[Any, list[tuple[int, int]]] = {}
    for g, value, n in db.session.execute(
            sa.select(v.c.g, v.c.value, sa.func.count()).group_by(v.c.g, v.c.value)):
        if value is not None:
            histograms.setdefault(g, []).append((value, n))
    medians = {g: _median_of(sorted(pairs)) for g, pairs in histograms.items()}
    reached = {g: sum(n for _value, n in pairs) for g, pairs in histograms.items()}
    out = {}
    for g, row in counts.items():
        out[g] = {"appointments_kept": int(row.kept or 0),
                  "appointments_missed": int(row.missed or 0),
                  "orientations_with_kept_appointment": reached.get(g, 0),
                  "median_days_to_first_kept_appointment": medians.get(g)}
    return out


# -- breakdowns -----------------------------------------------------------------------------------
def _visits_by_month_and_channel(q: Query) -> dict[tuple[str, str], int]:
    """The period's visits counted per (month, channel): one read of the visits' index for
    both the monthly series and the channels."""
    query = (sa.select(CalendarDay.month, Visit.channel, sa.func.count())
             .select_from(Visit).join(CalendarDay, CalendarDay.day == Visit.occurred_on)
             .join(Site, Site.id == Visit.site_id)
             .where(Visit.occurred_on.between(q.date_from, q.date_to))
             .group_by(CalendarDay.month, Visit.channel))
    if q.territory:
        query = query.where(Site.territory == q.territory)
    return {(month, channel): n for month, channel, n in db.session.execute(query)}


def _months(q: Query, visit_counts: dict[tuple[str, str], int]) -> list[dict]:
    visits: dict[str, int] = {}
    for (month, _channel), n in visit_counts.items():
        visits[month] = visits.get(month, 0) + n
    orient_q = (sa.select(CalendarDay.month, sa.func.count())
                .select_from(Orientation).join(CalendarDay, CalendarDay.day == Orientation.sent_on)
                .where(Orientation.sent_on.between(q.date_from, q.date_to))
                .group_by(CalendarDay.month))
    if q.territory:
        orient_q = orient_q.where(Orientation.territory == q.territory)
    orientations = dict(db.session.execute(orient_q).all())
    return [{"month": m, "visits": visits.get(m, 0), "orientations": orientations.get(m, 0)}
            for m in sorted(set(visits) | set(orientations))]


def _simple(query: sa.Select, name: str) -> list[dict]:
    return [{name: key, "count": n} for key, n in db.session.execute(query).all()]


def _refusals(q: Query) -> list[dict]:
    query = (sa.select(Orientation.refusal_code, sa.func.count())
             .where(Orientation.status == OrientationStatus.REFUSED,
                    Orientation.sent_on.between(q.date_from, q.date_to))
             .group_by(Orientation.refusal_code).order_by(sa.func.count().desc()))
    if q.territory:
        query = query.where(Orientation.territory == q.territory)
    return _simple(query, "code")


def _outcomes(q: Query) -> list[dict]:
    query = (sa.select(Parcours.outcome, sa.func.count())
             .where(Parcours.closed_on.between(q.date_from, q.date_to))
             .group_by(Parcours.outcome).order_by(sa.func.count().desc()))
    if q.territory:
        query = query.where(Parcours.territory == q.territory)
    return _simple(query, "outcome")


def _domains(q: Query) -> list[dict]:
    orient_q = (sa.select(Orientation.domain, sa.func.count())
                .where(Orientation.sent_on.between(q.date_from, q.date_to))
                .group_by(Orientation.domain))
    # Needs carry their visit's site and date (migration 0015): read from their own index.
    needs_q = (sa.select(Need.domain, sa.func.count()).select_from(Need)
               .join(Site, Site.id == Need.site_id)
               .where(Need.occurred_on.between(q.date_from, q.date_to)).group_by(Need.domain))
    if q.territory:
        orient_q = orient_q.where(Orientation.territory == q.territory)
        needs_q = needs_q.where(Site.territory == q.territory)
    orientations, needs = dict(db.session.execute(orient_q).all()), \
        dict(db.session.execute(needs_q).all())
    return sorted(({"domain": d, "needs": needs.get(d, 0), "orientations": orientations.get(d, 0)}
                   for d in set(orientations) | set(needs)),
                  key=lambda row: -(row["needs"] + row["orientations"]))


def _channels(visit_counts: dict[tuple[str, str], int]) -> list[dict]:
    channels: dict[str, int] = {}
    for (_month, channel), n in visit_counts.items():
        channels[channel] = channels.get(channel, 0) + n
    return [{"channel": channel, "count": n}
            for channel, n in sorted(channels.items(), key=lambda item: -item[1])]


def _labels(by: str | None, keys) -> dict:
    ids = [k for k in keys if k is not None and k != ALL]
    if by == "site" and ids:
        return dict(db.session.execute(sa.select(Site.id, Site.name).where(Site.id.in_(ids))).all())
    if by == "structure" and ids:
        return dict(db.session.execute(
            sa.select(Structure.id, Structure.name).where(Structure.id.in_(ids))).all())
    return {}


# PostgreSQL's default of 4 MB per sort or hash made a territory's year (340 000 persons at 1 M,
# BENCHMARKS.md) spill its per-person aggregate to disk in 9 batches, and its JIT compiled each
# of these short aggregates for longer than it saved (0.87 s against 0.69 s without): the
# indicators' own transaction gets more memory and no JIT, other requests keep the server's.
WORK_MEM = "64MB"
JIT = "off"


def compute(q: Query, today: date | None = None) -> Report:
    """The figures of ``q``, read on the replica when one is set and recent enough
    (``app.core.routing``; a caller wrapping this in its own ``replica_reads()`` block gets the
    route, to say how recent the figures are)."""
    with replica_reads():
        return _compute(q, today)


def _compute(q: Query, today: date | None = None) -> Report:
    today = today or local_date(utcnow())
    primary, reads = db.session.connection(), read_connection()
    for connection in [primary] + ([reads] if reads is not primary else []):
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
            connection.exec_driver_sql(f"SET LOCAL jit = {JIT}")
    start = min(q.date_from, today).replace(month=1, day=1)
    end = max(q.date_to, today).replace(month=12, day=31)
    ensure_calendar(primary, start, end)  # a write: on the primary, in the request's transaction
    if reads is not primary and not calendar_covers(reads, start, end):
        read_primary()  # days just added to the calendar have not reached the replica yet
    total_q = Query(q.date_from, q.date_to, q.territory, None)
    totals: dict[str, Any] = dict(METRICS)
    for part in (_visits(total_q), _orientations(total_q, today), _parcours(total_q),
                 _updates(total_q), _appointments(total_q)):
        totals.update(part.get(ALL, {}))
    groups: list[dict[str, Any]] = []
    if q.by:
        parts = [_visits(q), _orientations(q, today), _parcours(q), _updates(q),
                 _appointments(q)]
        keys = {k for part in parts for k in part}
        labels = _labels(q.by, keys)
        defaults = group_defaults(q.by)
        for key in sorted(keys, key=lambda k: str(labels.get(k, k))):
            row: dict[str, Any] = {"key": str(key) if key is not None else None,
                                   "label": str(labels.get(key, key) if key is not None else "—"),
                                   **defaults}
            for part in parts:
                row.update(part.get(key, {}))
            groups.append(row)
    visit_counts = _visits_by_month_and_channel(q)
    return Report(query=q, totals=totals, groups=groups, months=_months(q, visit_counts),
                  refusal_reasons=_refusals(q), parcours_outcomes=_outcomes(q),
                  domains=_domains(q), channels=_channels(visit_counts))


def record_export(q: Query, table: str, actor: Any) -> None:
    """Audit a CSV export of the indicators (aggregates only, no person)."""
    audit.record("indicators.export", actor=actor, object_type="indicators", object_id=table,
                 details={"from": q.date_from.isoformat(), "to": q.date_to.isoformat(),
                          "by": q.by})


# -- what is published: small counts masked the same way on every face --------------------------
# A count from 1 to SMALL - 1 could point at a person (one orientation from a small site on a
# given week); it is never shown, on the page, in the CSV or in the API, and neither is a share
# or a median computed from such a count (100 % refusals of one orientation is one refusal).
SMALL = 5
COUNTS = {"persons_welcomed", "persons_new", "persons_returning", "visits", "orientations_sent",
          "refusals", "redirections", "parcours_opened", "parcours_closed", "meetings",
          "updates_sent", "updates_failed", "needs", "orientations", "count",
          "appointments_kept", "appointments_missed", "orientations_with_kept_appointment"}
BASES = {"anonymous_share": "persons_welcomed", "answered_share": "visits",
         "acknowledged_within_delay": "orientations_sent",
         "median_ack_working_days": "orientations_sent",
         "median_take_charge_working_days": "orientations_sent",
         "refusal_rate": "orientations_sent", "updates_requested_share": "orientations_sent",
         "median_referent_designation_days": "parcours_opened",
         "meetings_person_present": "meetings",
         "median_days_to_first_kept_appointment": "orientations_with_kept_appointment"}


class Masked:
    """A figure withheld: a small count reads ``< 5`` on the page and in the CSV, a share or a
    median computed from one reads ``masqué``; both are ``null`` (with ``masked: true``) in the
    API."""

    def __init__(self, count: bool) -> None:
        self.count = count

    def __str__(self) -> str:
        return f"< {SMALL}" if self.count else gettext("masqué")

    def __repr__(self) -> str:  # no translation: readable outside a request
        return f"Masked(count={self.count})"


MASKED = Masked(count=True)          # a count from 1 to SMALL - 1
MASKED_DERIVED = Masked(count=False)  # a share or median of such a count


def is_masked(value: Any) -> bool:
    return isinstance(value, Masked)


def is_small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < SMALL


def _mask_row(row: dict[str, Any]) -> dict[str, Any]:
    small = {name for name, value in row.items() if name in COUNTS and is_small(value)}
    derived = {name for name, base in BASES.items()
               if name in row and row[name] is not None and is_small(row.get(base))}
    return {name: MASKED if name in small else MASKED_DERIVED if name in derived else value
            for name, value in row.items()}


def mask(report: Report) -> Report:
    """The report as it may be published: every small count replaced by ``MASKED``, every share
    or median computed from a small count by ``MASKED_DERIVED``."""
    return Report(query=report.query, totals=_mask_row(report.totals),
                  groups=[_mask_row(g) for g in report.groups],
                  months=[_mask_row(m) for m in report.months],
                  refusal_reasons=[_mask_row(r) for r in report.refusal_reasons],
                  parcours_outcomes=[_mask_row(o) for o in report.parcours_outcomes],
                  domains=[_mask_row(d) for d in report.domains],
                  channels=[_mask_row(c) for c in report.channels], targets=dict(report.targets))


def publish(q: Query) -> Report:
    """The indicators of ``q`` as every face shows them (page, CSV, API): masked."""
    return mask(compute(q))


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """A published row for the API: a masked figure is ``null``; ``masked`` says whether any
    figure of the row was withheld and ``masked_fields`` which."""
    withheld = [name for name, value in row.items() if isinstance(value, Masked)]
    return {**{name: (None if isinstance(value, Masked) else value)
               for name, value in row.items()},
            "masked": bool(withheld), "masked_fields": withheld}


def too_short(q: Query, min_days: int) -> bool:
    """Grouped figures over fewer than ``min_days`` days are refused: a day's count by site or
    structure, even above the threshold, follows persons from one day to the next."""
    return q.by is not None and (q.date_to - q.date_from).days + 1 < min_days
