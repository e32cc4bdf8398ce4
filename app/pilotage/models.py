"""A calendar table, so that working-day delays and months are computed by SQL in the database."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Model


class CalendarDay(Model):
    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(unique=True)
    ordinal: Mapped[int] = mapped_column(index=True)     # days since 0001-01-01
    working_index: Mapped[int]    # running count of working days: only differences matter
    is_working: Mapped[bool]
    month: Mapped[str] = mapped_column(sa.String(7))     # "2026-11"
