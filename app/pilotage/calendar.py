"""Filling the calendar table from the French public holidays (``holidays``)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.orientation.deadlines import is_working_day

_TABLE = sa.table("calendar_days", sa.column("id", sa.Uuid()), sa.column("day", sa.Date()),
                  sa.column("ordinal", sa.Integer()), sa.column("working_index", sa.Integer()),
                  sa.column("is_working", sa.Boolean()), sa.column("month", sa.String()))
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def calendar_rows(start: date, end: date, working_index: int = 0) -> list[dict]:
    rows, day = [], start
    while day <= end:
        working = is_working_day(day)
        if working:
            working_index += 1
        rows.append({"id": uuid.uuid4(), "day": day, "ordinal": day.toordinal(),
                     "working_index": working_index, "is_working": working,
                     "month": f"{day.year:04d}-{day.month:02d}"})
        day += timedelta(days=1)
    return rows


def _insert_missing(connection, rows: list[dict]) -> None:
    """Insert the days, skipping those a concurrent transaction has just inserted.

    Two requests may extend the calendar at the same time: each computes the same rows (a day's
    values depend only on the rows already there, which are never changed), so the second one
    skips the days on conflict instead of failing on the unique ``day``.
    """
    if not rows:
        return
    insert = _INSERTS.get(connection.dialect.name)
    if insert is None:  # another database: a plain insert
        connection.execute(_TABLE.insert(), rows)
        return
    connection.execute(insert(_TABLE).on_conflict_do_nothing(index_elements=["day"]), rows)


def calendar_covers(connection, start: date, end: date) -> bool:
    """Whether every day from ``start`` to ``end`` is in ``calendar_days`` (the table has no
    gaps: it is only ever extended at either end)."""
    first, last = connection.execute(sa.select(sa.func.min(_TABLE.c.day),
                                               sa.func.max(_TABLE.c.day))).one()
    if first is None:
        return False
    if isinstance(first, str):  # SQLite through a plain connection
        first, last = date.fromisoformat(first), date.fromisoformat(last)
    return first <= start and end <= last


def ensure_calendar(connection, start: date, end: date) -> None:
    """Make sure every day from ``start`` to ``end`` is in ``calendar_days`` (idempotent).

    ``working_index`` is a running count of working days: only differences between two days
    mean something, so days added before the first one get lower (possibly negative) indexes
    and the rows already there are never rewritten.
    """
    table = _TABLE
    first, last = connection.execute(sa.select(sa.func.min(table.c.day),
                                               sa.func.max(table.c.day))).one()
    if first is None:
        _insert_missing(connection, calendar_rows(start, end))
        return
    if isinstance(first, str):  # SQLite through a plain connection
        first, last = date.fromisoformat(first), date.fromisoformat(last)
    if end > last:
        index = connection.execute(sa.select(table.c.working_index).where(
            table.c.day == last)).scalar_one()
        _insert_missing(connection, calendar_rows(last + timedelta(days=1), end, index))
    if start < first:
        index, working = connection.execute(sa.select(table.c.working_index, table.c.is_working)
                                            .where(table.c.day == first)).one()
        before = calendar_rows(start, first - timedelta(days=1))
        # the day before ``first`` ends where ``first`` starts
        shift = index - int(bool(working)) - before[-1]["working_index"]
        for row in before:
            row["working_index"] += shift
        _insert_missing(connection, before)


def rebuild_calendar(connection) -> int:
    """Recompute every day already in ``calendar_days`` with the public holidays in force
    (``PASSERELLE_HOLIDAYS_SUBDIV``), in the caller's transaction; the number of days whose
    working status changed. For an installation whose subdivision setting changed: the table is
    otherwise only ever extended, never rewritten."""
    table = _TABLE
    before = dict(connection.execute(sa.select(table.c.day, table.c.is_working)).all())
    if not before:
        return 0
    days = sorted(date.fromisoformat(d) if isinstance(d, str) else d for d in before)
    working = {date.fromisoformat(d) if isinstance(d, str) else d: bool(w)
               for d, w in before.items()}
    rows = calendar_rows(days[0], days[-1])
    connection.execute(table.delete())
    _insert_missing(connection, rows)
    return sum(1 for row in rows if working.get(row["day"]) != row["is_working"])

