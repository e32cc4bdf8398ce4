"""How the indicators read, alike on the page, in its charts and in the CSV (issue 24, item 12):
months in words ("mars 2026"), and a figure beyond its target said in words, not by colour only."""

from __future__ import annotations

from datetime import date
from typing import Any


def month_label(month: str) -> str:
    """"2026-03" as the reader's language writes the month: "mars 2026", "March 2026"."""
    from flask_babel import format_date

    try:
        year, number = (int(part) for part in str(month).split("-")[:2])
        return format_date(date(year, number, 1), "LLLL yyyy")
    except (TypeError, ValueError):
        return str(month)


def over_target(value: Any, target: float | None) -> bool:
    """A measured median beyond its target (a masked or missing one is not judged)."""
    return (target is not None and isinstance(value, int | float) and not isinstance(value, bool)
            and value > target)
