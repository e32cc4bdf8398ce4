"""Finding 1 of issue 23: behind a balancer every client used to be one address, so one client's
failures locked everybody out. Throttles key on the real client (``PASSERELLE_PROXY_HOPS``,
werkzeug's ProxyFix): a forged ``X-Forwarded-For`` gains nothing, a trusted one separates
clients; and the login's address limit never refuses an account to a browser that logged into
it before."""

from __future__ import annotations

import html
import re

import pytest

from app import create_app
from tests.conftest import make_settings
from tests.helpers import csrf_token, login

A, B = "203.0.113.5", "198.51.100.7"


@pytest.fixture(scope="module")
def proxied(app, database_url, tmp_path_factory):
    """The same database, served behind one trusted proxy."""
    application = create_app(make_settings(database_url, tmp_path_factory.mktemp("proxied"),
                                           PASSERELLE_PROXY_HOPS=1))
    application.config["PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    yield application
    from app.core.db import db

    with application.app_context():
        db.engine.dispose()


def _from(application, address: str):
    """A browser whose requests reach us through the balancer, which appends ``address``."""
    client = application.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def _fail_three_logins(client, build) -> None:
    for _ in range(3):
        assert login(client, build.user("accueil"), password="not the password").status_code == 401


def test_one_clients_failed_logins_do_not_lock_another_client_out(proxied, build):
    guesser, colleague = _from(proxied, A), _from(proxied, B)
    _fail_three_logins(guesser, build)
    victim = build.user("accueil")
    assert login(guesser, victim).status_code == 429   # the address that failed is refused
    assert login(colleague, victim).status_code == 302  # another client is not


def test_a_forged_forwarded_for_does_not_escape_the_limit(proxied, build):
    guesser = _from(proxied, A)
    _fail_three_logins(guesser, build)
    # What the client writes comes first; the balancer appends the real address: only the
    # last hop is trusted.
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = f"{B}, {A}"
    assert login(guesser, build.user("accueil")).status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(app, client, build):
    app.config["PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    try:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = A
        _fail_three_logins(client, build)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = B  # forged: changes nothing
        assert login(client, build.user("accueil")).status_code == 429
    finally:
        app.config["PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 30


def test_a_browser_that_logged_in_before_is_not_refused_by_the_address_limit(proxied, build):
    """Behind one address (a site's public address), a colleague's browser keeps logging in to
    its own account while the address is over its limit; the account's own limit still holds."""
    colleague = build.user("accueil")
    desk = _from(proxied, A)
    assert login(desk, colleague).status_code == 302
    desk.post("/logout", data={"csrf_token": csrf_token(desk, "/")})
    _fail_three_logins(_from(proxied, A), build)
    assert login(_from(proxied, A), colleague).status_code == 429  # a new browser waits
    assert login(desk, colleague).status_code == 302             # the known one does not
    desk.post("/logout", data={"csrf_token": csrf_token(desk, "/")})
    other = build.user("accueil")
    assert login(desk, other).status_code == 429  # the cookie is for that account only
    for _ in range(5):
        login(desk, colleague, password="not the password")
    assert login(desk, colleague).status_code == 429  # the account's limit applies to everyone


def test_a_forged_device_cookie_is_ignored(proxied, build):
    _fail_three_logins(_from(proxied, A), build)
    forger = _from(proxied, A)
    forger.set_cookie("passerelle_device", "WyJhYmMiXQ.forged.signature")
    assert login(forger, build.user("accueil")).status_code == 429


def _followup_code(client, agent, orientation) -> str:
    from tests.helpers import api_token, bearer

    answer = client.post(f"/api/v1/orientations/{orientation.id}/followup",
                         headers=bearer(api_token(client, agent)), json={})
    return answer.get_json()["code"]


def _look(client, code):
    return client.post("/suivi", data={"csrf_token": csrf_token(client, "/suivi"), "code": code})


def test_wrong_followup_codes_slow_only_the_client_that_typed_them(proxied, build):
    agent = build.user("accueil")
    orientation = build.orientation(build.person(agent), build.structure())
    code = _followup_code(_from(proxied, "192.0.2.1"), agent, orientation)
    guesser, person = _from(proxied, A), _from(proxied, B)
    for i in range(10):
        assert _look(guesser, f"CCCCC-CCCC{i}").status_code == 404
    assert _look(guesser, code).status_code == 404   # even the right code, from this client
    assert _look(person, code).status_code == 200    # another client is not refused


def test_guessed_contact_links_slow_only_the_client_that_guessed(proxied, build):
    agent = build.user("accueil")
    structure = build.structure(contact_email="asso@village.test")
    build.orientation(build.person(agent), structure)
    from tests.views.test_contact_links import _link

    token = _link(proxied)
    guesser, partner = _from(proxied, A), _from(proxied, B)
    for i in range(30):
        guesser.get(f"/contact/guess-{i}")
    assert guesser.get(f"/contact/{token}").status_code == 429
    opened = partner.get(f"/contact/{token}")
    assert opened.status_code == 200
    assert re.search("code", html.unescape(opened.get_data(as_text=True)))


def test_the_device_cookie_is_forgotten_when_the_account_is_deactivated(proxied, build):
    """Security review (finding 5): the known-device cookie is bound to the account's
    ``auth_version``: a deactivation (or a password reset) ends what the browser knew."""
    from app.auth import services
    from app.auth.models import User
    from app.core.db import db

    colleague = build.user("accueil")
    desk = _from(proxied, A)
    assert login(desk, colleague).status_code == 302
    desk.post("/logout", data={"csrf_token": csrf_token(desk, "/")})
    with proxied.app_context():
        user = db.session.get(User, colleague.id)
        services.deactivate_user(user)
        services.reactivate_user(user)
        db.session.commit()
    _fail_three_logins(_from(proxied, A), build)
    assert login(desk, colleague).status_code == 429  # the old cookie no longer counts
    assert login(_from(proxied, B), colleague).status_code == 302
