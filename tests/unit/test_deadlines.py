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


@pytest.fixture
def alsace_moselle():
    deadlines.configure("57")
    yield
    deadlines.configure(None)


def test_metropolitan_france_works_on_good_friday_and_26_december():
    assert deadlines.subdivision() is None
    assert is_working_day(date(2026, 4, 3))        # Good Friday 2026
    assert is_working_day(date(2025, 12, 26))      # a Friday
    assert add_working_days(date(2025, 12, 24), 1) == date(2025, 12, 26)


@pytest.mark.parametrize("code", ["57", "6AE", "Moselle", "Alsace"])
def test_alsace_moselle_rests_on_good_friday_and_26_december(code):
    deadlines.configure(code)
    try:
        assert not is_working_day(date(2026, 4, 3))
        assert not is_working_day(date(2025, 12, 26))
        assert add_working_days(date(2025, 12, 24), 1) == date(2025, 12, 29)
        assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)   # Friday, Easter Monday
        assert working_days_between(date(2025, 12, 24), date(2025, 12, 29)) == 1
        assert working_days_between(date(1960, 1, 1), date(1960, 12, 31)) == \
            deadlines._count_by_day(date(1960, 1, 1), date(1960, 12, 31))
    finally:
        deadlines.configure(None)
    assert add_working_days(date(2025, 12, 24), 1) == date(2025, 12, 26)  # the caches follow
    assert working_days_between(date(2025, 12, 24), date(2025, 12, 29)) == 2


def test_an_overseas_departement_has_its_own_holidays():
    deadlines.configure("La Réunion")
    try:
        assert deadlines.subdivision() == "974"
        assert not is_working_day(date(2027, 12, 20))   # abolition of slavery, La Réunion
    finally:
        deadlines.configure(None)
    assert is_working_day(date(2027, 12, 20))


def test_the_calendar_table_follows_the_subdivision(alsace_moselle):
    from app.pilotage.calendar import calendar_rows

    rows = {row["day"]: row for row in calendar_rows(date(2025, 12, 24), date(2025, 12, 29))}
    assert not rows[date(2025, 12, 26)]["is_working"]
    assert rows[date(2025, 12, 29)]["working_index"] - rows[date(2025, 12, 24)]["working_index"] == 1


def test_an_unknown_subdivision_stops_the_start_with_one_line(monkeypatch):
    from app import create_app
    from config import ConfigError, from_environment

    monkeypatch.setenv("PASSERELLE_HOLIDAYS_SUBDIV", "Bretagne")
    with pytest.raises(ConfigError) as error:
        from_environment("test")
    message = str(error.value)
    assert "\n" not in message and "PASSERELLE_HOLIDAYS_SUBDIV" in message
    assert "'Bretagne'" in message and "6AE" in message
    with pytest.raises(ConfigError):
        create_app({"PASSERELLE_ENV": "test", "PASSERELLE_HOLIDAYS_SUBDIV": "99"})
    monkeypatch.setenv("PASSERELLE_HOLIDAYS_SUBDIV", "Moselle")
    assert from_environment("test").PASSERELLE_HOLIDAYS_SUBDIV == "Moselle"
    assert deadlines.subdivision() is None  # checking the settings configures nothing
