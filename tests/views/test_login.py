"""Login page: success, failure, throttling, idle expiry, CSRF, logout, password change."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form


def test_login_page_answers_in_french(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.get_data(as_text=True)
    assert "Se connecter" in page.get_data(as_text=True)


def test_login_success_reaches_the_role_home(client, build):
    user = build.user("accueil")
    answer = login(client, user)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert user.display_name in home.get_data(as_text=True)


def test_login_failure_says_so_and_records_the_attempt(app, client, build):
    from app.auth.models import LoginAttempt
    from app.core.audit import AuditEntry
    from app.core.db import db

    user = build.user("partenaire")
    answer = login(client, user, password="wrong password entirely")
    assert answer.status_code == 401
    assert "mot de passe incorrect" in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous
    with app.app_context():
        outcomes = db.session.scalars(sa.select(LoginAttempt.outcome)).all()
        assert outcomes == ["failure"]
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
        assert "auth.login_failed" in actions


def test_unknown_email_answers_like_a_wrong_password(client):
    token = csrf_token(client)
    answer = client.post("/login", data={"email": "nobody@nowhere.test", "password": "whatever12345",
                                         "csrf_token": token})
    assert answer.status_code == 401
    assert "mot de passe incorrect" in answer.get_data(as_text=True)


def test_five_failures_lock_the_account_for_the_window(app, client, build):
    user = build.user("accueil")
    for _ in range(5):
        assert login(client, user, password="not the password").status_code == 401
    locked = login(client, user)  # the right password no longer helps
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.get_data(as_text=True)
    # Once the window has passed, the right password works again.
    from app.auth.models import LoginAttempt
    from app.core.db import db

    with app.app_context():
        for attempt in db.session.scalars(sa.select(LoginAttempt)):
            attempt.at -= timedelta(minutes=16)
        db.session.commit()
    assert login(client, user).status_code == 302


def test_another_account_is_not_locked_by_one_accounts_failures(client, build):
    victim, other = build.user("accueil"), build.user("accueil")
    for _ in range(6):
        login(client, victim, password="not the password")
    assert login(client, other).status_code == 302


def test_the_address_limit_is_separate(app, client, build):
    app.config["PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    try:
        users = [build.user("accueil") for _ in range(4)]
        for user in users[:3]:
            login(client, user, password="not the password")
        assert login(client, users[3]).status_code == 429
    finally:
        app.config["PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 30


def test_session_expires_after_idle_timeout(client, build):
    user = build.user("accueil")
    login(client, user)
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302  # logged out for good
    assert "expiré" in client.get("/login").get_data(as_text=True)


def test_activity_keeps_the_session_alive(client, build):
    user = build.user("accueil")
    login(client, user)
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 29 * 60
    assert client.get("/").status_code == 200


def test_post_without_csrf_token_is_refused(client, build):
    user = build.user("accueil")
    answer = client.post("/login", data={"email": user.email, "password": user.password})
    assert answer.status_code == 400
    assert client.get("/").status_code == 302
    login(client, user)
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_logout(client, build):
    user = build.user("accueil")
    login(client, user)
    answer = post_form(client, "/logout")
    assert answer.status_code == 302
    assert client.get("/").status_code == 302


def test_password_change_ends_other_sessions(app, build):
    user = build.user("accueil")
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    new_password = "a brand new long passphrase"
    answer = post_form(first, "/account/password", {
        "current_password": user.password, "new_password": new_password,
        "confirm_password": new_password})
    assert answer.status_code == 302
    assert first.get("/").status_code == 200       # the session that changed it continues
    assert second.get("/").status_code == 302      # the other one is closed
    fresh = app.test_client()
    assert login(fresh, user, password=new_password).status_code == 302


def test_password_change_refuses_short_password_and_keeps_the_old(client, build):
    user = build.user("accueil")
    login(client, user)
    answer = post_form(client, "/account/password", {
        "current_password": user.password, "new_password": "short", "confirm_password": "short"})
    assert answer.status_code == 200
    assert "au moins 12 caractères" in answer.get_data(as_text=True)
    client.get("/")
    post_form(client, "/logout")
    assert login(client, user).status_code == 302


def test_deactivated_user_cannot_log_in_and_loses_session(app, client, build):
    from app.auth.models import User
    from app.auth.services import deactivate_user
    from app.core.db import db

    user = build.user("accueil")
    login(client, user)
    with app.app_context():
        deactivate_user(db.session.get(User, user.id))
        db.session.commit()
    assert client.get("/").status_code == 302
    assert login(app.test_client(), user).status_code == 401


def test_open_redirect_is_refused(client, build):
    user = build.user("accueil")
    token = csrf_token(client, "/login?next=//evil.example")
    answer = client.post("/login", data={"email": user.email, "password": user.password,
                                         "csrf_token": token, "next": "https://evil.example/x"})
    assert answer.headers["Location"] == "/"
