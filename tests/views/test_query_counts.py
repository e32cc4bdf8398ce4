"""No N+1 on list pages: the number of SQL statements of a list does not grow with its rows.

Each case measures a list with two rows, adds four more, and measures again: the counts must be
equal (a query per row would add four or more)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, login, search_persons


@contextmanager
def counting(app):
    from app.core.db import db

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _stall(app, orientation_id) -> None:
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.get(Orientation, orientation_id).acknowledge_due = \
            date.today() - timedelta(days=9)
        db.session.commit()


@pytest.fixture
def world(app, client, build):
    agent = build.user("accueil")
    structure = build.structure(domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    coordinator = build.user("coordinateur", territory="Valence")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    admin = build.user("admin")

    def add_row():
        """One more row in every list below."""
        person = build.person(agent, first_name="Camille", last_name="Martin")
        build.visit(person)
        orientation = build.orientation(person, structure)
        _stall(app, orientation.id)
        build.parcours(person, referent, members=[partner])
        build.structure(domains=["logement"])
        build.user("accueil", site=str(agent.site_id))

    return type("World", (), dict(agent=agent, partner=partner, coordinator=coordinator,
                                  referent=referent, admin=admin, add_row=add_row))


PAGES = [
    ("agent", "POST /persons/search Camille Martin"),
    ("agent", "/orientations"),
    ("agent", "/site/day"),
    ("agent", "/directory?domain=logement"),
    ("partner", "/inbox"),
    ("coordinator", "/pilotage/stalled"),
    ("referent", "/parcours"),
    ("partner", "/parcours"),  # a member: the person's name through the partner's shares
    ("admin", "/admin/users"),
    ("admin", "/admin/structures"),
    ("agent", "/"),  # the homes (issue 24): the site's queue, what to acknowledge
    ("partner", "/"),
]
API = [
    ("agent", "/api/v1/persons?q=Camille+Martin"),
    ("agent", "/api/v1/orientations"),
    ("partner", "/api/v1/orientations?status=sent"),
    ("coordinator", "/api/v1/orientations/stalled"),
    ("referent", "/api/v1/parcours"),
    ("partner", "/api/v1/parcours"),
]


def _measure(app, fetch) -> tuple[int, object]:
    with counting(app) as statements:
        answer = fetch()
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return len(statements), answer


@pytest.mark.parametrize("who, path", PAGES, ids=[p for _w, p in PAGES])
def test_list_pages_query_count_does_not_grow(app, client, world, who, path):
    for _ in range(2):
        world.add_row()
    login(client, getattr(world, who))
    if path.startswith("POST /persons/search "):  # the search is sent by POST (no name in URLs)
        def fetch():
            return search_persons(client, path.removeprefix("POST /persons/search "))
    else:
        def fetch():
            return client.get(path)
    fetch()  # the first page view may load what the session caches
    before, first = _measure(app, fetch)
    for _ in range(4):
        world.add_row()
    after, second = _measure(app, fetch)
    assert len(second.get_data()) > len(first.get_data())  # the rows are there
    assert after == before, f"{path}: {before} statements with 2 rows, {after} with 6"


@pytest.mark.parametrize("who, path", API, ids=[p for _w, p in API])
def test_list_api_query_count_does_not_grow(app, client, world, who, path):
    for _ in range(2):
        world.add_row()
    headers = bearer(api_token(client, getattr(world, who)))
    client.get(path, headers=headers)
    before, first = _measure(app, lambda: client.get(path, headers=headers))
    for _ in range(4):
        world.add_row()
    after, second = _measure(app, lambda: client.get(path, headers=headers))
    assert len(second.get_json()) > len(first.get_json())
    assert after == before, f"{path}: {before} statements with 2 rows, {after} with 6"
