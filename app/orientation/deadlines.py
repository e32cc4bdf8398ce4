"""Deadlines in working days: Monday to Friday, French public holidays excluded (``holidays``).

A deadline is a date: an orientation sent on a Friday with a delay of 2 working days is due on
the Tuesday, and is overdue from the Wednesday on. All dates are the département's (Paris) dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=64)
def _french_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _french_holidays(day.year)


def local_date(moment: datetime) -> date:
    """The Paris date of a timestamp."""
    return moment.astimezone(PARIS).date()


@lru_cache(maxsize=100_000)
def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself never counts)."""
    if days < 0:
        raise ValueError("days must be positive")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    if end <= start:
        return 0
    if _EPOCH_YEAR <= start.year and end.year <= _LAST_YEAR:
        return _working_rank(end) - _working_rank(start)
    return _count_by_day(start, end)


_EPOCH_YEAR, _LAST_YEAR = 1970, 2200


def _count_by_day(start: date, end: date) -> int:
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


@lru_cache(maxsize=256)
def _year_ranks(year: int) -> tuple[int, ...]:
    """For each day of ``year``, the working days from 1 January up to and including it."""
    ranks, count, day = [], 0, date(year, 1, 1)
    while day.year == year:
        count += is_working_day(day)
        ranks.append(count)
        day += timedelta(days=1)
    return tuple(ranks)


@lru_cache(maxsize=256)
def _before_year(year: int) -> int:
    """Working days from 1 January 1970 to the end of the year before ``year``."""
    if year <= _EPOCH_YEAR:
        return 0
    return _before_year(year - 1) + _year_ranks(year - 1)[-1]


def _working_rank(day: date) -> int:
    return _before_year(day.year) + _year_ranks(day.year)[day.timetuple().tm_yday - 1]
