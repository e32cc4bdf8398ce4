"""Deadlines in working days: Monday to Friday, French public holidays excluded (``holidays``).

A deadline is a date: an orientation sent on a Friday with a delay of 2 working days is due on
the Tuesday, and is overdue from the Wednesday on. All dates are the département's (Paris) dates.

The holidays are metropolitan France's unless ``PASSERELLE_HOLIDAYS_SUBDIV`` names one of the
subdivisions ``holidays`` knows (Alsace-Moselle: ``57`` or ``6AE``, with Good Friday and 26
December; an overseas département: ``971``…): ``create_app`` calls ``configure`` with it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")


_subdivision: str | None = None


def known_subdivisions() -> dict[str, str]:
    """The France subdivisions ``holidays`` knows: each code and alias, with its code."""
    known = {code: code for code in holidays.France.subdivisions}
    known.update(getattr(holidays.France, "subdivisions_aliases", None) or {})
    return known


def subdivision_problem(subdivision: str | None) -> str | None:
    """Why ``subdivision`` cannot be used (one line for the operator), or None."""
    if not subdivision or subdivision in known_subdivisions():
        return None
    return (f"PASSERELLE_HOLIDAYS_SUBDIV {subdivision!r} is not a France subdivision known to "
            f"holidays: use one of {', '.join(holidays.France.subdivisions)} (e.g. 57 Moselle, "
            f"6AE Alsace, 971 Guadeloupe, 974 La Réunion), or leave it unset for metropolitan "
            f"France")


def configure(subdivision: str | None) -> None:
    """Use the public holidays of ``subdivision`` (a code or alias of ``known_subdivisions``;
    None: metropolitan France) from now on, in this process."""
    global _subdivision
    problem = subdivision_problem(subdivision)
    if problem:
        raise ValueError(problem)
    _subdivision = known_subdivisions()[subdivision] if subdivision else None


def subdivision() -> str | None:
    return _subdivision


@lru_cache(maxsize=64)
def _french_holidays(year: int, subdivision: str | None = None) -> frozenset[date]:
    return frozenset(holidays.France(years=year, subdiv=subdivision).keys())


def is_working_day(day: date, subdivision: str | None = ...) -> bool:  # type: ignore[assignment]
    """Monday to Friday and not a public holiday (of ``subdivision``, default: the configured
    one)."""
    if subdivision is ...:
        subdivision = _subdivision
    return day.weekday() < 5 and day not in _french_holidays(day.year, subdivision)


def local_date(moment: datetime) -> date:
    """The Paris date of a timestamp."""
    return moment.astimezone(PARIS).date()


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself never counts)."""
    return _add_working_days(start, days, _subdivision)


@lru_cache(maxsize=100_000)
def _add_working_days(start: date, days: int, subdivision: str | None) -> date:
    if days < 0:
        raise ValueError("days must be positive")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current, subdivision):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    if end <= start:
        return 0
    if _EPOCH_YEAR <= start.year and end.year <= _LAST_YEAR:
        return _working_rank(end, _subdivision) - _working_rank(start, _subdivision)
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
def _year_ranks(year: int, subdivision: str | None = None) -> tuple[int, ...]:
    """For each day of ``year``, the working days from 1 January up to and including it."""
    ranks, count, day = [], 0, date(year, 1, 1)
    while day.year == year:
        count += is_working_day(day, subdivision)
        ranks.append(count)
        day += timedelta(days=1)
    return tuple(ranks)


@lru_cache(maxsize=256)
def _before_year(year: int, subdivision: str | None = None) -> int:
    """Working days from 1 January 1970 to the end of the year before ``year``."""
    if year <= _EPOCH_YEAR:
        return 0
    return _before_year(year - 1, subdivision) + _year_ranks(year - 1, subdivision)[-1]


def _working_rank(day: date, subdivision: str | None = None) -> int:
    return (_before_year(day.year, subdivision)
            + _year_ranks(day.year, subdivision)[day.timetuple().tm_yday - 1])
