"""Review finding 3 (issue 23): the register cannot be listed by reception number.

Reception numbers are sequential; each user may search only so many times a minute and a day
(pages and API alike), a refused search is audited, the coordinators of the user's territory
are told by e-mail and see the burst on their stalled-work page, and the audit says whether a
search was by number or by name, never its words.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import api_token, bearer, login, search_persons


def _audit(app, action: str):
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return [(e.actor_id, e.details_dict()) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


def _messages(app, kind: str):
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.recipient, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind))]


def test_listing_the_register_by_number_through_the_api_is_refused(app, client, build,
                                                                    monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 5)
    agent = build.user("accueil")
    persons = [build.person(agent) for _ in range(8)]
    token = bearer(api_token(client, agent))
    statuses = [client.get(f"/api/v1/persons?q={p.reception_number}", headers=token)
                for p in persons]
    assert [r.status_code for r in statuses] == [200] * 5 + [429] * 3
    assert [r.get_json()[0]["reception_number"] for r in statuses[:5]] == \
        [p.reception_number for p in persons[:5]]
    refused = statuses[-1].get_json()["error"]
    assert refused["code"] == "too_many_requests" and "minute" in refused["message"]
    assert all(p.reception_number not in statuses[-1].get_data(as_text=True)
               for p in persons)
    # The audit keeps how each search was made (by number), never what was typed.
    searches = _audit(app, "person.search")
    assert [d["by"] for _actor, d in searches] == ["number"] * 5
    assert all(p.reception_number not in str(d) for _a, d in searches for p in persons)
    assert [(actor, d) for actor, d in _audit(app, "person.search_refused")] == \
        [(agent.id, {"by": "number", "limit": "minute"})] * 3


def test_a_name_search_is_audited_as_such(app, client, build):
    agent = build.user("accueil")
    build.person(agent, last_name="Lefebvre")
    login(client, agent)
    assert search_persons(client, "Lefebvre").status_code == 200
    [(actor, details)] = _audit(app, "person.search")
    assert actor == agent.id and details["by"] == "name" and "Lefebvre" not in str(details)


def test_the_page_says_so_in_french_with_a_429(app, client, build, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 2)
    agent = build.user("accueil")
    person = build.person(agent)
    login(client, agent)
    assert search_persons(client, person.reception_number).status_code == 200
    assert search_persons(client, person.reception_number).status_code == 200
    refused = search_persons(client, person.reception_number)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Trop de recherches en une minute" in page
    assert person.last_name not in page  # no result shown
    assert 'name="q"' in page  # the form is still there


def test_the_day_limit_holds_too(app, client, build, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_DAY", 3)
    agent = build.user("accueil")
    token = bearer(api_token(client, agent))
    answers = [client.get("/api/v1/persons?q=Martin", headers=token).status_code
               for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert _audit(app, "person.search_refused")[0][1] == {"by": "name", "limit": "day"}


def test_limits_are_per_user(app, client, build, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 1)
    site = build.site()
    first, second = build.user("accueil", site=str(site.id)), build.user("accueil",
                                                                         site=str(site.id))
    first_token = bearer(api_token(client, first))
    second_token = bearer(api_token(client, second))
    assert client.get("/api/v1/persons?q=Martin", headers=first_token).status_code == 200
    assert client.get("/api/v1/persons?q=Martin", headers=first_token).status_code == 429
    assert client.get("/api/v1/persons?q=Martin", headers=second_token).status_code == 200


def test_coordinators_of_the_territory_are_told_and_see_the_burst(app, client, build,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 2)
    site = build.site(territory="Valence", name="CMS Fontbarlettes")
    agent = build.user("accueil", site=str(site.id), display_name="Agent Pressé")
    coordinator = build.user("coordinateur", territory="Valence")
    elsewhere = build.user("coordinateur", territory="Diois")
    token = bearer(api_token(client, agent))
    for _ in range(6):
        client.get("/api/v1/persons?q=A-2026-000001", headers=token)

    # One e-mail per coordinator of the territory (not one per refused search), none elsewhere.
    messages = _messages(app, "person.search_burst")
    assert [recipient for recipient, _body in messages] == [coordinator.email]
    assert "Agent Pressé" in messages[0][1] and "CMS Fontbarlettes" in messages[0][1]
    assert "/pilotage/stalled" in messages[0][1]

    page = app.test_client()
    login(page, coordinator)
    shown = page.get("/pilotage/stalled").get_data(as_text=True)
    assert "Recherches inhabituelles" in shown
    section = shown.split("Recherches inhabituelles", 1)[1]
    assert "Agent Pressé" in section and "CMS Fontbarlettes" in section
    assert "<td>4</td>" in section  # six searches, two allowed, four refused

    other = app.test_client()
    login(other, elsewhere)
    shown = other.get("/pilotage/stalled").get_data(as_text=True)
    assert "Aucune recherche inhabituelle." in shown and "Agent Pressé" not in shown


def test_an_ordinary_day_shows_no_burst(app, client, build):
    agent = build.user("accueil")
    token = bearer(api_token(client, agent))
    for _ in range(10):
        assert client.get("/api/v1/persons?q=Martin", headers=token).status_code == 200
    coordinator = build.user("coordinateur", territory="Valence")
    login(client, coordinator)
    assert "Aucune recherche inhabituelle." in client.get("/pilotage/stalled").get_data(
        as_text=True)
    assert _messages(app, "person.search_burst") == []


def test_only_the_last_days_searches_are_kept_to_count(app, client, build, monkeypatch):
    """Every search leaves a hit to count; those older than the day's window are deleted by a
    later search of the user once ``FORGET_AFTER`` of them are that old (issue 21: not a DELETE
    on every search), so the table holds at most a day of searches and a few more per user."""
    from datetime import timedelta

    from app.core import ratelimit
    from app.core.db import db, utcnow
    from app.core.ratelimit import RateLimitHit

    monkeypatch.setattr(ratelimit, "FORGET_AFTER", 3)
    agent = build.user("accueil")
    token = bearer(api_token(client, agent))

    def age_all_and_search() -> int:
        with app.app_context():
            db.session.execute(sa.update(RateLimitHit).values(at=utcnow() - timedelta(days=2)))
            db.session.commit()
        assert client.get("/api/v1/persons?q=Martin", headers=token).status_code == 200
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit))

    for _ in range(2):
        client.get("/api/v1/persons?q=Martin", headers=token)
    assert age_all_and_search() == 3  # two old hits: kept (they count for nothing), one new
    assert age_all_and_search() == 1  # three old hits: deleted, the new one kept
