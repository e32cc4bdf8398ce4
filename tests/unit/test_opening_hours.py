"""Opening hours in OpenStreetMap syntax (data·inclusion's ``horaires_accueil``) told in plain
French; what is not understood is shown as written, never guessed, never an error (issue 20,
item 6)."""

from __future__ import annotations

import pytest

from app.directory.opening_hours import CLOSED, PH, Span, describe, parse, render


def said(text: str) -> str | None:
    """``describe`` with ordinary spaces (the module keeps "9 h" together with non-breaking
    spaces, checked once below)."""
    found = describe(text)
    return found.replace("\u00a0", " ") if found is not None else None


@pytest.mark.parametrize(("text", "expected"), [
    # the example, word for word
    ("Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00; PH off",
     "du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h ; le samedi de 9 h à 12 h ; "
     "fermé les jours fériés"),
    # one day, two days, a list, a list with a range, three spans
    ("Mo 14:00-16:00", "le lundi de 14 h à 16 h"),
    ("Mo-Tu 14:00-16:00", "le lundi et le mardi de 14 h à 16 h"),
    ("Mo,We,Fr 14:00-16:30", "le lundi, le mercredi et le vendredi de 14 h à 16 h 30"),
    ("Mo-We,Fr 08:30-12:00", "du lundi au mercredi et le vendredi de 8 h 30 à 12 h"),
    ("Tu 08:00-10:00,11:00-12:00,14:00-15:00",
     "le mardi de 8 h à 10 h, de 11 h à 12 h et de 14 h à 15 h"),
    # a range across the week's end is told in the week's order
    ("Sa-Mo 10:00-24:00", "le lundi, le samedi et le dimanche de 10 h à minuit"),
    # every day
    ("Mo-Su 09:00-17:00", "tous les jours de 9 h à 17 h"),
    ("09:00-17:00", "tous les jours de 9 h à 17 h"),
    ("24/7", "ouvert 24 h sur 24, 7 jours sur 7"),
    ("24/7; PH off", "tous les jours 24 h sur 24 ; fermé les jours fériés"),
    ("Mo-Fr 00:00-24:00", "du lundi au vendredi 24 h sur 24"),
    # closed days, said so
    ("Mo-Fr 09:00-12:00; Su,PH off",
     "du lundi au vendredi de 9 h à 12 h ; fermé le dimanche et les jours fériés"),
    ("Mo-Fr 09:00-12:00; Sa closed", "du lundi au vendredi de 9 h à 12 h ; fermé le samedi"),
    ("off", "fermé tous les jours"),
    # public holidays with hours
    ("Mo-Fr,PH 08:30-12:00", "du lundi au vendredi et les jours fériés de 8 h 30 à 12 h"),
    ("Mo-Fr 09:00-17:00; PH 10:00-12:00",
     "du lundi au vendredi de 9 h à 17 h ; les jours fériés de 10 h à 12 h"),
    # a later rule replaces what an earlier one said of the same day (OpenStreetMap's rule)
    ("Mo-Fr 09:00-17:00; We 09:00-12:00",
     "le lundi, le mardi, le jeudi et le vendredi de 9 h à 17 h ; le mercredi de 9 h à 12 h"),
    ("Mo-Sa 09:00-18:00; We off",
     "le lundi, le mardi et du jeudi au samedi de 9 h à 18 h ; fermé le mercredi"),
    # forgiving spelling: lower case, one-digit hours, spaces, "open", a trailing semicolon
    ("mo-fr 9:00-12:00", "du lundi au vendredi de 9 h à 12 h"),
    ("Mo - Fr 09:00 - 12:00 , 14:00 - 17:00 ;",
     "du lundi au vendredi de 9 h à 12 h et de 14 h à 17 h"),
    ("Mo-Fr 09:00-12:00 open", "du lundi au vendredi de 9 h à 12 h"),
    # past midnight: told as written
    ("Fr 22:00-02:00", "le vendredi de 22 h à 2 h"),
])
def test_common_rules_are_told_in_plain_french(text, expected):
    assert said(text) == expected


@pytest.mark.parametrize("text", [
    # outside the subset: months, weeks, school holidays, sun times, open ends, comments,
    # fallbacks, a comma between two rules, a partial "off", nth weekdays, dates
    "Jan-Jun Mo-Fr 09:00-12:00",
    "week 01-10 Mo 09:00-12:00",
    "SH off",
    "Mo-Fr sunrise-sunset",
    "Mo-Fr 09:00+",
    'Mo-Fr 08:00-12:00 "sur rendez-vous"',
    "Mo-Fr 09:00-12:00 || \"sur rendez-vous\"",
    "Mo-Fr 09:00-12:00, Sa 10:00-12:00",
    "Mo-Fr 09:00-18:00; Mo-Fr 12:00-14:00 off",
    "Mo[1] 09:00-12:00",
    "2026 Dec 25 off",
    "Mo-Fr",
    "Mo-Fr open",
    # a rule about holidays followed by one about week days would reopen some holidays
    "PH off; Mo-Fr 09:00-12:00",
    "Su,PH off; Mo-Sa 09:00-12:00",
    # impossible or empty spans
    "Mo-Fr 24:30-25:00",
    "Mo-Fr 24:00-10:00",
    "Mo-Fr 10:00-10:00",
    "Mo-Fr 9h-12h",
    # French free text (a site's hours typed by an administrator), other languages
    "du lundi au vendredi, 9 h - 17 h",
    "Lu-Ve 09:00-12:00",
    "sur rendez-vous",
    "",
    "   ",
    ";",
])
def test_anything_else_is_not_described(text):
    assert describe(text) is None


def test_what_is_not_understood_is_shown_as_written():
    assert render('Mo-Fr 08:00-12:00 "sur rendez-vous"') == 'Mo-Fr 08:00-12:00 "sur rendez-vous"'
    assert render("  du lundi au vendredi, 9 h - 17 h  ") == "du lundi au vendredi, 9 h - 17 h"
    assert render(None) == ""
    assert render("") == ""
    assert render(" ; ") == ";"


def test_render_never_raises(monkeypatch):
    import app.directory.opening_hours as module

    def broken(_week):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "words", broken)
    assert render("Mo-Fr 09:00-12:00") == "Mo-Fr 09:00-12:00"


def test_hours_are_kept_together_on_a_line():
    assert describe("Mo 09:30-12:00") == "le lundi de 9\u00a0h\u00a030 à 12\u00a0h"


def test_parse_applies_the_rules_in_order():
    week = parse("Mo-Fr 09:00-12:00,14:00-17:00; We off; PH off")
    assert week["Mo"] == (Span(540, 720), Span(840, 1020))
    assert week["We"] == CLOSED
    assert week[PH] == CLOSED
    assert "Sa" not in week and "Su" not in week  # nothing said, nothing told

