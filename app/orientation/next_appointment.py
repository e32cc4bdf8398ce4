"""The appointment the person's papers tell (the slip, the follow-up page): the next one, once
the partner has said it.

Orientation knows only ``first_appointment_on`` (a date). A later feature that records
appointments with a time and a place (app/appointments, issue 20) registers a finder from its
``init_app`` (orientation does not import it: it imports orientation); while one is registered,
its answer is the appointment, even None (no appointment to come).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any


@dataclass(frozen=True)
class NextAppointment:
    on: date
    at: time | None = None
    # Where: the address the person goes to, or None; ``by_phone``: the partner calls.
    place: str | None = None
    by_phone: bool = False


Finder = Callable[[Any], NextAppointment | None]
_FINDERS: list[Finder] = []


def register_finder(finder: Finder) -> None:
    if finder not in _FINDERS:
        _FINDERS.append(finder)


def next_appointment(orientation: Any) -> NextAppointment | None:
    """The registered finder's appointment for this orientation, else its first appointment's
    date when the partner gave one."""
    if _FINDERS:
        return _FINDERS[-1](orientation)
    if orientation.first_appointment_on:
        return NextAppointment(on=orientation.first_appointment_on)
    return None
