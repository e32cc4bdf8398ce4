"""Urgent orientations: the shorter clock of an orientation made from an urgent need.

An orientation is urgent when the need of its domain in the visit it comes from is ``urgent``
(nowhere to sleep tonight), or when the sender says so (API ``urgent: true``). Its deadlines are
counted on the urgent clock of ``PASSERELLE_URGENT_DEADLINES``, a JSON object by domain with a
``default`` entry::

    {"default": {"acknowledge": 0, "take_charge": 2, "escalation": 1},
     "logement": {"acknowledge": 0, "take_charge": 1}}

in working days: ``acknowledge`` 0 is the same working day (the next one when sent on a week-end
or a holiday), ``escalation`` the working days late after which the coordinators are told
(instead of ``ESCALATION_DELAY``). A domain's entry completes the default one.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, NamedTuple

from app.core.enums import Domain
from app.orientation.deadlines import add_working_days, is_working_day

KEYS = ("acknowledge", "take_charge", "escalation")
DEFAULT = {"acknowledge": 0, "take_charge": 2, "escalation": 1}


class UrgentClock(NamedTuple):
    acknowledge: int
    take_charge: int
    escalation: int


def parse(raw: str | None) -> dict[str, dict[str, int]]:
    """The setting as ``{domain or "default": {key: working days}}``; ValueError with one line
    for the operator when it is malformed."""
    if raw is None or not str(raw).strip():
        return {"default": dict(DEFAULT)}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"PASSERELLE_URGENT_DEADLINES is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("PASSERELLE_URGENT_DEADLINES must be a JSON object by domain, e.g. "
                         '{"default": {"acknowledge": 0, "take_charge": 2}}')
    parsed: dict[str, dict[str, int]] = {"default": dict(DEFAULT)}
    for name, entry in value.items():
        if name != "default" and name not in Domain._value2member_map_:
            raise ValueError(f"PASSERELLE_URGENT_DEADLINES: unknown domain {name!r} (use default "
                             f"or one of {', '.join(d.value for d in Domain)})")
        if not isinstance(entry, dict) or set(entry) - set(KEYS):
            raise ValueError(f"PASSERELLE_URGENT_DEADLINES[{name!r}] must be an object with "
                             f"{', '.join(KEYS)}")
        for key, days in entry.items():
            if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
                raise ValueError(f"PASSERELLE_URGENT_DEADLINES[{name!r}][{key!r}] must be a "
                                 f"number of working days from 0 to 60")
        parsed.setdefault(name, {}).update(entry)
    return parsed


def problem(raw: str | None) -> str | None:
    try:
        parse(raw)
    except ValueError as exc:
        return str(exc)
    return None


def clock(domain: str | None, raw: str | None = None) -> UrgentClock:
    """The urgent clock of ``domain`` (the app's setting unless ``raw`` is given)."""
    if raw is None:
        from flask import current_app

        raw = current_app.config.get("PASSERELLE_URGENT_DEADLINES")
    table = parse(raw)
    entry = {**table["default"], **table.get(domain or "", {})}
    return UrgentClock(entry["acknowledge"], entry["take_charge"], entry["escalation"])


def working_day_on_or_after(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def due(sent_on: date, days: int) -> date:
    """A due date on the urgent clock: 0 is the same working day (the next working day when
    sent on a day off), otherwise ``days`` working days later."""
    return working_day_on_or_after(sent_on) if days == 0 else add_working_days(sent_on, days)


def from_visit(visit: Any, domain: str | None) -> bool:
    """Whether the visit's need of ``domain`` is urgent."""
    if visit is None or not domain:
        return False
    return any(n.domain == domain and n.urgency == "urgent" for n in visit.needs)
