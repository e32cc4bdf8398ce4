"""French formats (issue 24, item 8): dates JJ/MM/AAAA shown and typed (a text field with a
numeric keypad for birth dates, AAAA-MM-JJ still accepted), figures without ".0", plurals."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from app.core.forms import parse_date
from tests.helpers import csrf_token, login


@pytest.mark.parametrize(("typed", "expected"), [
    ("23/04/1985", date(1985, 4, 23)), ("3/4/1985", date(1985, 4, 3)),
    ("23041985", date(1985, 4, 23)), ("23.04.1985", date(1985, 4, 23)),
    ("23-04-1985", date(1985, 4, 23)), (" 23 04 1985 ", date(1985, 4, 23)),
    ("1985-04-23", date(1985, 4, 23)),
    ("31/02/1985", None), ("1985/04/23", None), ("04/1985", None), ("hier", None), ("", None),
])
def test_a_date_is_read_day_first(typed, expected):
    assert parse_date(typed) == expected


def test_filters_write_dates_and_figures_the_french_way(app):
    from app.core.i18n import fdate, fdatetime, fnumber, fpercent

    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert fdate(date(2026, 12, 4)) == "04/12/2026"
        assert fdatetime(datetime(2026, 12, 4, 9, 5)).startswith("04/12/2026 ")
        assert fpercent(0.0) == "0\u00a0%" and fpercent(12.5) == "12,5\u00a0%"
        assert fnumber(1234) == "1\u202f234" or fnumber(1234) == "1\u00a0234"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert fdate(date(2026, 12, 4)) == "04/12/2026"  # the same day for every reader
        assert fpercent(0.0) == "0%"


@pytest.fixture
def agent(client, build):
    user = build.user("accueil")
    login(client, user)
    return user


def _person_named(app, last_name):
    from app.accueil.models import Person
    from app.core.db import db

    with app.app_context():
        people = [(p.id, p.birth_date) for p in db.session.scalars(sa.select(Person)).all()
                  if p.last_name == last_name]
        db.session.remove()
        return people


def test_the_birth_date_is_typed_as_on_a_tablet(app, client, agent):
    page = client.get("/persons/new").get_data(as_text=True)
    assert 'id="birth_date"' in page and 'inputmode="numeric"' in page
    assert 'placeholder="JJ/MM/AAAA"' in page and 'type="date"' not in page
    token = csrf_token(client, "/persons/new")
    sent = client.post("/persons/new", data={"csrf_token": token, "first_name": "Inès",
                                             "last_name": "Carpentier", "birth_date": "23041985"})
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    ((person_id, born),) = _person_named(app, "Carpentier")
    assert born == date(1985, 4, 23)
    file = client.get(f"/persons/{person_id}").get_data(as_text=True)
    assert "23/04/1985" in file
    edit = client.get(f"/persons/{person_id}/edit").get_data(as_text=True)
    assert 'value="23/04/1985"' in edit


def test_an_iso_birth_date_is_still_accepted(app, client, agent):
    token = csrf_token(client, "/persons/new")
    sent = client.post("/persons/new", data={"csrf_token": token, "first_name": "Paul",
                                             "last_name": "Ravel", "birth_date": "1971-12-30"})
    assert sent.status_code == 302
    ((_, born),) = _person_named(app, "Ravel")
    assert born == date(1971, 12, 30)


def test_a_date_that_does_not_exist_says_how_to_write_it(app, client, agent):
    token = csrf_token(client, "/persons/new")
    sent = client.post("/persons/new", data={"csrf_token": token, "first_name": "Zoé",
                                             "last_name": "Marchal", "birth_date": "31/02/1985"})
    page = sent.get_data(as_text=True)
    assert sent.status_code == 200
    assert "Date non reconnue : écrivez-la au format JJ/MM/AAAA." in page
    assert 'value="31/02/1985"' in page and 'aria-invalid="true"' in page  # kept, tied
    assert _person_named(app, "Marchal") == []


def test_indicators_without_data_say_so(client, build):
    login(client, build.user("coordinateur", territory="Valence"))
    page = client.get("/pilotage/indicators").get_data(as_text=True)
    assert page.count("Pas encore de données sur cette période.") >= 3  # figures, months, domains
    assert 'id="months-chart-title"' not in page and "0 passages" not in page
    assert not re.search(r">\s*0\.0", page) and "0.0 %" not in page  # SVG coordinates aside


def test_indicators_say_one_in_the_singular(client, build):
    agent = build.user("accueil")
    structure = build.structure(name="Bailleur", domains=["logement"])
    for _ in range(5):
        build.orientation(build.person(agent), structure)
    login(client, build.user("coordinateur", territory="Valence"))
    page = client.get("/pilotage/indicators").get_data(as_text=True)
    kpis = page.split('id="totals-title"')[1].split("</section>")[0]
    assert "<strong>5</strong> orientations envoyées" in kpis
    assert "réorientation</li>" in kpis or "<strong>0</strong> réorientation" in kpis  # 0: singular
