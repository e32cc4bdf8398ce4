"""Opening hours in plain words, for the slip and the pages a person reads.

data·inclusion's ``horaires_accueil`` (and so ``structures.opening_hours``) is written in
OpenStreetMap's opening_hours syntax: ``Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00; PH off``.
A person should read "du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h ; le samedi de 9 h à
12 h ; fermé les jours fériés".

No library on PyPI renders that syntax in French: ``opening-hours-py`` (maintained) parses and
evaluates it but only prints it back in the same syntax; ``osm-opening-hours-humanized`` is a
beta whose parser dependency (``lark-parser``) is no longer maintained. So this module reads the
common subset itself:

- rules separated by ``;``, each ``[days] times``, ``[days] off`` (or ``closed``), or ``24/7``;
- days: ``Mo`` … ``Su``, ranges (``Mo-Fr``, ``Sa-Mo``), lists (``Mo,We,Fr``), ``PH`` (public
  holidays);
- times: one or more ``HH:MM-HH:MM`` spans separated by commas (``24:00`` as an end).

Anything else (months, weeks, school holidays ``SH``, ``sunrise``, comments, ``||``, a comma
between two rules, a partial ``off``…) is not understood, and then ``describe`` answers None
and ``render`` gives the text as written: never a guess, never an error.

The rules are applied as OpenStreetMap does (a later rule replaces what an earlier one said
of the same days: ``Mo-Fr 09:00-17:00; We 09:00-12:00`` opens Wednesday mornings only), and the
week is then told day by day, grouping the days that have the same hours. A rule about public
holidays followed by a rule about week days is not understood: the later rule would reopen the
holidays falling on those days, which no short sentence says.

Every word goes through Flask-Babel (French source), so the slip printed in English reads
English once the catalogue has the strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from flask_babel import gettext as _

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
PH = "PH"
DAY_MINUTES = 24 * 60

_TIME = r"(?:[01]?\d|2[0-4]):[0-5]\d"
_SPAN = rf"{_TIME}\s*-\s*{_TIME}"
_DAY = r"(?:mo|tu|we|th|fr|sa|su)"
_DAY_ITEM = rf"(?:{_DAY}(?:\s*-\s*{_DAY})?|ph)"
_RULE = re.compile(
    rf"^(?:(?P<days>{_DAY_ITEM}(?:\s*,\s*{_DAY_ITEM})*)\s+)?"
    rf"(?:(?P<times>{_SPAN}(?:\s*,\s*{_SPAN})*)(?:\s+open)?|(?P<off>off|closed))$",
    re.IGNORECASE)
_ALL_WEEK = re.compile(r"^24\s*/\s*7$")


class NotUnderstood(ValueError):
    """A rule outside the subset this module reads."""


@dataclass(frozen=True)
class Span:
    start: int  # minutes since midnight
    end: int  # minutes since midnight, 1440 for 24:00; before ``start``: past midnight


# A day's hours: a tuple of spans (open), CLOSED (said closed), or absent (nothing said).
CLOSED: tuple[Span, ...] = ()
Week = dict[str, tuple[Span, ...]]


def _minutes(text: str, *, end: bool) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and (minutes or not end):
        raise NotUnderstood(text)
    return hours * 60 + minutes


def _spans(text: str) -> tuple[Span, ...]:
    spans = []
    for part in text.split(","):
        start, end = (piece.strip() for piece in part.split("-"))
        span = Span(_minutes(start, end=False), _minutes(end, end=True))
        if span.start == span.end:
            raise NotUnderstood(part)
        spans.append(span)
    return tuple(spans)


def _days(text: str | None) -> list[str]:
    if text is None:
        return list(DAYS)
    found: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if item.upper() == PH:
            found.append(PH)
            continue
        first, _dash, last = (part.strip().capitalize() for part in item.partition("-"))
        last = last or first
        i, j = DAYS.index(first), DAYS.index(last)
        while True:  # a range may wrap past Sunday (Sa-Mo)
            found.append(DAYS[i])
            if i == j:
                break
            i = (i + 1) % 7
    return found


def parse(text: str | None) -> Week:
    """The hours of each day (``Mo`` … ``Su``, and ``PH`` when the text speaks of public
    holidays: otherwise they follow their week day); NotUnderstood when a rule is outside the
    subset."""
    rules = [rule.strip() for rule in (text or "").split(";")]
    rules = [rule for rule in rules if rule]
    if not rules:
        raise NotUnderstood(text)
    week: Week = {}
    holidays_said = False
    for rule in rules:
        if _ALL_WEEK.match(rule):
            days, hours = list(DAYS), (Span(0, DAY_MINUTES),)
        else:
            match = _RULE.match(rule)
            if match is None:
                raise NotUnderstood(rule)
            days = _days(match["days"])
            hours = CLOSED if match["off"] else _spans(match["times"])
        if holidays_said and any(day != PH for day in days):
            raise NotUnderstood(rule)  # would reopen (or close) holidays falling on these days
        holidays_said = holidays_said or PH in days
        for day in days:
            week[day] = hours
    return week


# -- words --------------------------------------------------------------------------------------
def _day_name(day: str) -> str:
    return {"Mo": _("lundi"), "Tu": _("mardi"), "We": _("mercredi"), "Th": _("jeudi"),
            "Fr": _("vendredi"), "Sa": _("samedi"), "Su": _("dimanche")}[day]


def _enumerate(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("%(items)s et %(last)s", items=", ".join(items[:-1]), last=items[-1])


def _time(minutes: int) -> str:
    if minutes in (0, DAY_MINUTES):
        return _("minuit")
    hours, minutes = divmod(minutes, 60)
    if minutes:
        return _("%(h)d\u00a0h\u00a0%(m)02d", h=hours, m=minutes)
    return _("%(h)d\u00a0h", h=hours)


def clock(value: time | None) -> str:
    """A time of day as French says it ("9 h 30", "14 h"): an appointment's time on the slip."""
    return _time(value.hour * 60 + value.minute) if value is not None else ""


def _hours(spans: tuple[Span, ...]) -> str:
    if spans == (Span(0, DAY_MINUTES),):
        return _("24\u00a0h sur 24")
    return _enumerate([_("de %(start)s à %(end)s", start=_time(s.start), end=_time(s.end))
                       for s in spans])


def _days_phrase(days: list[str], *, holidays: bool = False) -> str:
    """``["Mo", "Tu", "We", "Fr"]`` -> "du lundi au mercredi et le vendredi"."""
    runs: list[list[str]] = []
    for day in sorted(days, key=DAYS.index):
        if runs and DAYS.index(day) == DAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    items: list[str] = []
    for run in runs:
        if len(run) >= 3:
            items.append(_("du %(first)s au %(last)s", first=_day_name(run[0]),
                           last=_day_name(run[-1])))
        else:
            items.extend(_("le %(day)s", day=_day_name(day)) for day in run)
    if holidays:
        items.append(_("les jours fériés"))
    return _enumerate(items)


def words(week: Week) -> str:
    """The week in plain words: open days grouped by their hours, in the week's order (the
    public holidays with the days that have their hours), then the closed days."""
    groups: dict[tuple[Span, ...], list[str]] = {}
    for day in DAYS:
        if day in week:
            groups.setdefault(week[day], []).append(day)
    holidays = week.get(PH)
    phrases = []
    for hours, days in groups.items():
        if hours == CLOSED:
            continue
        with_holidays = holidays == hours
        if len(days) == 7:  # holidays with other hours are told apart below
            phrases.append(_("ouvert 24\u00a0h sur 24, 7 jours sur 7")
                           if hours == (Span(0, DAY_MINUTES),) and PH not in week else
                           _("tous les jours %(hours)s", hours=_hours(hours)))
        else:
            phrases.append(_("%(days)s %(hours)s", hours=_hours(hours),
                             days=_days_phrase(days, holidays=with_holidays)))
    if holidays and holidays not in groups:
        phrases.append(_("%(days)s %(hours)s", days=_("les jours fériés"),
                         hours=_hours(holidays)))
    closed = groups.get(CLOSED, [])
    if len(closed) == 7:
        phrases.append(_("fermé les autres jours") if holidays else _("fermé tous les jours"))
    elif closed or holidays == CLOSED:
        phrases.append(_("fermé %(days)s", days=_days_phrase(closed,
                                                             holidays=holidays == CLOSED)))
    return " ; ".join(phrases)


def describe(text: str | None) -> str | None:
    """The text in plain words, or None when it is outside the subset (or empty)."""
    try:
        return words(parse(text)) or None
    except (NotUnderstood, ValueError, IndexError):
        return None


def render(text: str | None) -> str:
    """What a page shows: the plain words, else the text as written (never an error)."""
    if not text or not text.strip():
        return ""
    try:
        described = describe(text)
    except Exception:  # noqa: BLE001 - a slip must print whatever the directory holds
        described = None
    return described or text.strip()
