"""Finding 10 of issue 23: counters of tries were read, compared and written back by each
request, so 40 wrong codes sent at once on one contact link were checked 14 times against a
limit of 5. Each try is now taken by one conditional ``UPDATE … RETURNING`` (contact-link codes)
or under the bucket's lock (follow-up codes, login attempts, every ``ratelimit`` bucket)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.helpers import csrf_token, login
from tests.views.test_contact_links import _audit, _code, _link, _send_code

CONCURRENT = 40


@pytest.fixture
def linked(app, build):
    """An orientation to a structure with no account, only a contact address: a link is sent."""
    agent = build.user("accueil")
    structure = build.structure(contact_email="asso@village.test")
    return build.orientation(build.person(agent), structure)


def _wrong(app) -> str:
    code = _code(app)
    return "000000" if code != "000000" else "111111"


def _link_row(app):
    from app.core.db import db
    from app.orientation.models import ContactLink

    with app.app_context():
        return db.session.scalars(sa.select(ContactLink)).one()


def test_a_stale_count_cannot_grant_a_sixth_try(app, client, linked):
    """Sequential, on both databases: the request's copy of the link says 4 tries while another
    request has meanwhile used the fifth; the try must be refused, and the count stay at 5."""
    from app.core.db import db
    from app.orientation import contact
    from app.orientation.models import ContactLink

    token = _link(app)
    _send_code(client, token)
    right = _code(app)
    with app.test_request_context():
        db.session.execute(sa.update(ContactLink).values(code_attempts=4))
        db.session.commit()
        link = contact.find_valid(token)
        assert link.code_attempts == 4
        with db.engine.begin() as other:  # another request takes the fifth try meanwhile
            other.execute(sa.update(ContactLink).values(code_attempts=5))
        assert contact.check_code(link, right, "203.0.113.5") is False
        db.session.commit()
    assert _link_row(app).code_attempts == 5
    assert _audit(app, "orientation.contact_code_ok") == []


def test_a_right_code_opens_one_session_only(app, client, linked):
    """Two requests loaded the link while its code was unused; the first uses it: the second,
    whose copy still holds the code's hash, must be refused."""
    from app.core.db import db
    from app.orientation import contact

    token = _link(app)
    _send_code(client, token)
    right = _code(app)
    def other_request():  # in a thread of its own: its own context, its own session
        with app.test_request_context():
            results.append(contact.check_code(contact.find_valid(token), right))
            db.session.commit()

    results: list = []
    with app.test_request_context():
        stale = contact.find_valid(token)
        assert stale.code_hash is not None
        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join(30)
        assert results == [True]
        assert stale.code_hash is not None  # this request's copy does not know
        assert contact.check_code(stale, right) is False
        db.session.commit()
    assert len(_audit(app, "orientation.contact_code_ok")) == 1


def test_wrong_codes_one_after_the_other_stop_at_five(app, client, linked):
    token = _link(app)
    _send_code(client, token)
    wrong = _wrong(app)
    statuses = [client.post(f"/contact/{token}", data={
        "csrf_token": csrf_token(client, f"/contact/{token}"), "code": wrong}).status_code
        for _ in range(7)]
    assert statuses == [401] * 7
    assert _link_row(app).code_attempts == 5
    assert len(_audit(app, "orientation.contact_code_failed")) == 5


def _at_once(calls) -> list:
    """Run the callables in threads released together; their results, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(isinstance(r, Exception) for r in results), results
    return results


@pytest.mark.postgres_only
def test_concurrent_wrong_codes_on_a_contact_link_are_checked_five_times(app, client, linked):
    token = _link(app)
    _send_code(client, token)
    wrong = _wrong(app)
    clients = [app.test_client() for _ in range(CONCURRENT)]
    tokens = [csrf_token(c, f"/contact/{token}") for c in clients]
    statuses = _at_once([
        (lambda c=c, t=t: c.post(f"/contact/{token}", data={"csrf_token": t, "code": wrong})
         .status_code) for c, t in zip(clients, tokens, strict=True)])
    assert set(statuses) <= {401, 404, 429} and 500 not in statuses
    assert _link_row(app).code_attempts == 5
    assert len(_audit(app, "orientation.contact_code_failed")) == 5


@pytest.mark.postgres_only
def test_concurrent_wrong_followup_codes_count_against_the_limit(app, client, build):
    from app.core.db import db
    from app.core.ratelimit import RateLimitHit
    from app.followup import services

    agent = build.user("accueil")
    orientation = build.orientation(build.person(agent), build.structure())
    clients = [app.test_client() for _ in range(CONCURRENT)]
    tokens = [csrf_token(c, "/suivi") for c in clients]
    statuses = _at_once([
        (lambda c=c, t=t, i=i: c.post("/suivi", data={"csrf_token": t, "code": f"CCCCC-CC{i:03d}"})
         .status_code) for i, (c, t) in enumerate(zip(clients, tokens, strict=True))])
    assert set(statuses) == {404}
    with app.app_context():
        hits = db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit))
    assert hits == services.TRIES_PER_HOUR
    assert orientation  # the code space was not the one guessed: only the count matters


@pytest.mark.postgres_only
def test_concurrent_wrong_passwords_count_against_the_account_limit(app, client, build):
    from app.auth.models import LoginAttempt
    from app.core.db import db

    user = build.user("accueil")
    clients = [app.test_client() for _ in range(CONCURRENT)]
    tokens = [csrf_token(c, "/login") for c in clients]
    statuses = _at_once([
        (lambda c=c, t=t: c.post("/login", data={"email": user.email, "password": "not it at all",
                                                 "csrf_token": t}).status_code)
        for c, t in zip(clients, tokens, strict=True)])
    assert sorted(set(statuses)) == [401, 429]
    with app.app_context():
        failures = db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.outcome == "failure"))
    assert failures == app.config["PASSERELLE_LOGIN_MAX_FAILURES"]
    assert login(client, user).status_code == 429


@pytest.mark.postgres_only
def test_a_recovery_code_sent_twice_at_once_opens_one_token(app, client, build):
    """The second factor is checked under the account's lock too: a recovery code read as
    unused by two requests at once cannot be spent twice."""
    from tests.api.test_mfa import _enrol
    from tests.helpers import api_token, bearer

    user = build.user("accueil")
    _secret, codes = _enrol(client, bearer(api_token(client, user)))
    clients = [app.test_client() for _ in range(8)]
    statuses = _at_once([
        (lambda c=c: c.post("/api/v1/auth/token", json={
            "email": user.email, "password": user.password, "totp": codes[0]}).status_code)
        for c in clients])
    assert statuses.count(200) == 1 and set(statuses) <= {200, 401, 429}
