"""Working days with the French public holidays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.orientation import deadlines
from app.orientation.deadlines import add_working_days, is_working_day, working_days_between


@pytest.mark.parametrize("start, days, expected", [
    (date(2026, 11, 23), 2, date(2026, 11, 25)),   # Monday + 2 = Wednesday
    (date(2026, 11, 27), 2, date(2026, 12, 1)),    # Friday + 2 = Tuesday (weekend skipped)
    (date(2026, 12, 24), 2, date(2026, 12, 29)),   # Christmas and the weekend skipped
    (date(2026, 4, 30), 1, date(2026, 5, 4)),      # 1 May (Friday) then the weekend
    (date(2026, 5, 13), 1, date(2026, 5, 15)),     # Ascension Thursday 14 May 2026
    (date(2026, 7, 13), 1, date(2026, 7, 15)),     # 14 July
    (date(2026, 11, 10), 1, date(2026, 11, 12)),   # 11 November
    (date(2026, 11, 23), 22, date(2026, 12, 23)),  # about a month
    (date(2026, 11, 23), 0, date(2026, 11, 23)),
])
def test_add_working_days(start, days, expected):
    assert add_working_days(start, days) == expected


def test_holidays_and_weekends_are_not_working_days():
    assert not is_working_day(date(2026, 12, 25))
    assert not is_working_day(date(2026, 11, 28))  # Saturday
    assert not is_working_day(date(2026, 5, 25))   # Whit Monday
    assert is_working_day(date(2026, 11, 23))


def test_working_days_between():
    assert working_days_between(date(2026, 11, 27), date(2026, 12, 1)) == 2
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 29)) == 2
    assert working_days_between(date(2026, 12, 1), date(2026, 11, 27)) == 0
    assert working_days_between(date(2026, 11, 23), date(2026, 11, 23)) == 0


def test_negative_delay_is_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 1), -1)


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1960, 1, 1), max_value=date(2210, 12, 31)),
       st.integers(min_value=-40, max_value=2000))
def test_working_days_between_counts_as_the_calendar_does(start, span):
    """The year tables give the day-by-day count, across years, holidays and the table's ends."""
    end = start + timedelta(days=span)
    assert deadlines.working_days_between(start, end) == deadlines._count_by_day(start, end)
