"""The calendar table: two requests extending it at the same time do not fail on the unique day,
and working-day differences stay right across the days each one added."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.core.db import db
from app.orientation.deadlines import is_working_day
from app.pilotage import calendar


class _StaleConnection:
    """A connection whose first read of the calendar's bounds is the one made before another
    request extended it (what a concurrent request sees)."""

    def __init__(self, connection, bounds):
        self.connection, self.bounds, self.first = connection, bounds, True

    def execute(self, statement, *args, **kwargs):
        if self.first:
            self.first = False
            bounds = self.bounds
            return type("Result", (), {"one": lambda _self: bounds})()
        return self.connection.execute(statement, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.connection, name)


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def test_a_concurrent_fill_skips_the_days_already_inserted(app):
    table = calendar._TABLE
    with app.app_context(), db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            first, last = (_as_date(v) for v in conn.execute(
                sa.select(sa.func.min(table.c.day), sa.func.max(table.c.day))).one())
            start, end = first - timedelta(days=30), last + timedelta(days=60)
            # another request extends both ends first...
            calendar.ensure_calendar(conn, first - timedelta(days=10), last + timedelta(days=40))
            # ...while this one had read the bounds before: it must not fail on the unique day
            calendar.ensure_calendar(_StaleConnection(conn, (first, last)), start, end)
            rows = conn.execute(sa.select(table.c.day, table.c.working_index, table.c.is_working)
                                .where(table.c.day.between(start, end))
                                .order_by(table.c.day)).all()
        finally:
            transaction.rollback()
    days = [_as_date(r.day) for r in rows]
    assert days == [start + timedelta(days=i) for i in range((end - start).days + 1)]
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.working_index - before.working_index == int(is_working_day(
            _as_date(after.day))), after.day


def test_rebuild_follows_a_change_of_subdivision(app):
    """After PASSERELLE_HOLIDAYS_SUBDIV changes, ``calendar rebuild`` rewrites the days already
    there: Good Friday and 26 December stop being working days in Alsace-Moselle."""
    from app.orientation import deadlines

    table = calendar._TABLE
    good_friday, boxing_day = date(2026, 4, 3), date(2025, 12, 26)

    def working(conn, day):
        return bool(conn.execute(sa.select(table.c.is_working).where(table.c.day == day))
                    .scalar_one())

    def span(conn, start, end):
        index = dict((_as_date(d), i) for d, i in conn.execute(
            sa.select(table.c.day, table.c.working_index).where(table.c.day.in_([start, end]))))
        return index[end] - index[start]

    with app.app_context(), db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            calendar.ensure_calendar(conn, date(2025, 1, 1), date(2026, 12, 31))
            assert calendar.rebuild_calendar(conn) == 0
            assert working(conn, good_friday) and working(conn, boxing_day)
            deadlines.configure("57")
            changed = calendar.rebuild_calendar(conn)
            assert changed >= 2
            assert not working(conn, good_friday) and not working(conn, boxing_day)
            assert span(conn, date(2025, 12, 24), date(2025, 12, 29)) == 1
        finally:
            deadlines.configure(None)
            transaction.rollback()


def test_the_rebuild_command_says_what_it_did(app):
    result = app.test_cli_runner().invoke(args=["calendar", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "public holidays: metropolitan France" in result.output
    assert "days whose working status changed: 0" in result.output
