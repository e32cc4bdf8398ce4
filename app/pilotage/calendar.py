"""Filling the calendar table from the French public holidays (``holidays``)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from app.orientation.deadlines import is_working_day


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


def ensure_calendar(connection, start: date, end: date) -> None:
    """Make sure every day from ``start`` to ``end`` is in ``calendar_days`` (idempotent)."""
    table = sa.table("calendar_days", sa.column("id", sa.Uuid()), sa.column("day", sa.Date()),
                     sa.column("ordinal", sa.Integer()), sa.column("working_index", sa.Integer()),
                     sa.column("is_working", sa.Boolean()), sa.column("month", sa.String()))
    first, last = connection.execute(sa.select(sa.func.min(table.c.day),
                                               sa.func.max(table.c.day))).one()
    if first is None:
        connection.execute(table.insert(), calendar_rows(start, end))
        return
    if isinstance(first, str):  # SQLite through a plain connection
        first, last = date.fromisoformat(first), date.fromisoformat(last)
    if end > last:
        index = connection.execute(sa.select(table.c.working_index).where(
            table.c.day == last)).scalar_one()
        connection.execute(table.insert(), calendar_rows(last + timedelta(days=1), end, index))
    if start < first:
        before = calendar_rows(start, first - timedelta(days=1))
        shift = before[-1]["working_index"]
        connection.execute(table.update().values(working_index=table.c.working_index + shift))
        connection.execute(table.insert(), before)
