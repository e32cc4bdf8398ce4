"""'Rester connecté' (issue 24, item 14; WCAG 2.2.1): a ping that refreshes the session's last
activity, behind CSRF, for every role; a session already idle too long is not revived."""

from __future__ import annotations

import time

from tests.helpers import csrf_token, login


def test_the_warning_is_on_every_signed_in_page(client, build):
    login(client, build.user("accueil"))
    page = client.get("/").get_data(as_text=True)
    assert 'role="alertdialog"' in page and "Rester connecté" in page
    assert 'data-idle-seconds="1800"' in page and 'data-keepalive-url="/session/keepalive"' in page
    assert 'aria-controls="header-menu"' in page and 'aria-expanded="false"' in page
    anonymous = build.user("accueil")  # the login page: neither the warning nor the menu
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login_page = client.get("/login").get_data(as_text=True)
    assert "alertdialog" not in login_page and "menu-toggle" not in login_page
    assert anonymous


def test_keepalive_refreshes_the_last_activity(app, client, build):
    login(client, build.user("partenaire"))
    token = csrf_token(client, "/")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 25 * 60  # 25 minutes idle of 30
    answer = client.post("/session/keepalive", headers={"X-CSRFToken": token})
    assert answer.status_code == 204 and answer.data == b""
    with client.session_transaction() as session:
        assert time.time() - session["last_seen"] < 5
    assert client.get("/").status_code == 200


def test_keepalive_needs_the_csrf_token(client, build):
    login(client, build.user("coordinateur"))
    assert client.post("/session/keepalive").status_code == 400


def test_keepalive_does_not_revive_an_expired_session(client, build):
    login(client, build.user("accueil"))
    token = csrf_token(client, "/")
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    answer = client.post("/session/keepalive", headers={"X-CSRFToken": token})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert client.get("/").status_code == 302
