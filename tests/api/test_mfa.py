"""Second factor: mandatory roles, enrolment through the API, tokens needing the code, recovery
codes, no replay; common passwords refused."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.helpers import api_token, bearer, csrf_token, login


@pytest.fixture
def mfa_required(app):
    app.config["PASSERELLE_MFA_REQUIRED_ROLES"] = "coordinateur,admin"
    yield
    app.config["PASSERELLE_MFA_REQUIRED_ROLES"] = ""


def _enrol(client, token) -> tuple[str, list[str]]:
    start = client.post("/api/v1/me/totp", headers=token)
    assert start.status_code == 200, start.get_json()
    body = start.get_json()
    assert body["otpauth_uri"].startswith("otpauth://totp/Passerelle")
    secret = body["secret"]
    wrong = client.post("/api/v1/me/totp/confirm", headers=token, json={"code": "000000"})
    assert wrong.status_code == 422
    done = client.post("/api/v1/me/totp/confirm", headers=token,
                       json={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["enabled"] is True and len(done.get_json()["recovery_codes"]) == 10
    return secret, done.get_json()["recovery_codes"]


def test_required_role_is_blocked_until_enrolled(client, build, mfa_required):
    coordinator = build.user("coordinateur")
    token = bearer(api_token(client, coordinator))
    for path in ("/api/v1/me", "/api/v1/orientations/stalled", "/api/v1/indicators"):
        answer = client.get(path, headers=token)
        assert answer.status_code == 403, path
        assert answer.get_json()["error"]["code"] == "mfa_enrollment_required"
    secret, codes = _enrol(client, token)
    assert client.get("/api/v1/me", headers=token).status_code == 200
    # From now on a token needs the code.
    no_code = client.post("/api/v1/auth/token", json={"email": coordinator.email,
                                                      "password": coordinator.password})
    assert no_code.status_code == 401
    time.sleep(0)  # the next code must be a new one: use a recovery code first
    with_recovery = client.post("/api/v1/auth/token", json={
        "email": coordinator.email, "password": coordinator.password, "totp": codes[0]})
    assert with_recovery.status_code == 200
    reused = client.post("/api/v1/auth/token", json={
        "email": coordinator.email, "password": coordinator.password, "totp": codes[0]})
    assert reused.status_code == 401


def test_a_code_is_accepted_once(app, client, build):
    user = build.user("accueil")
    token = bearer(api_token(client, user))
    secret, _codes = _enrol(client, token)
    # The confirmation used the current step: the same code cannot log in again.
    answer = client.post("/api/v1/auth/token", json={
        "email": user.email, "password": user.password, "totp": pyotp.TOTP(secret).now()})
    assert answer.status_code == 401
    from app.auth.models import User
    from app.core.db import db

    with app.app_context():
        db.session.get(User, user.id).totp_last_step -= 2
        db.session.commit()
    again = client.post("/api/v1/auth/token", json={
        "email": user.email, "password": user.password, "totp": pyotp.TOTP(secret).now()})
    assert again.status_code == 200


def test_enrolling_twice_is_a_conflict(client, build):
    token = bearer(api_token(client, build.user("accueil")))
    _enrol(client, token)
    assert client.post("/api/v1/me/totp", headers=token).status_code == 409


def test_optional_roles_are_not_blocked(client, build, mfa_required):
    token = bearer(api_token(client, build.user("accueil")))
    assert client.get("/api/v1/me", headers=token).status_code == 200


def test_page_login_with_second_factor(app, client, build, mfa_required):
    admin = build.user("admin")
    login(client, admin)
    assert client.get("/admin/sites").headers["Location"].startswith("/account/mfa")
    page = client.get("/account/mfa")
    token = csrf_token(client, "/account/mfa")
    started = client.post("/account/mfa", data={"csrf_token": token, "step": "start"})
    text = started.get_data(as_text=True)
    assert "<svg" in text
    import re

    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", text).group(1)
    confirmed = client.post("/account/mfa", data={"csrf_token": token,
                                                  "code": pyotp.TOTP(secret).now()})
    assert "codes de secours" in confirmed.get_data(as_text=True)
    assert client.get("/admin/sites").status_code == 200
    assert page.status_code == 200
    # A new login asks for the code.
    fresh = app.test_client()
    answer = login(fresh, admin)
    assert answer.headers["Location"] == "/login/code"
    assert fresh.get("/").status_code == 302
    wrong = fresh.post("/login/code", data={"csrf_token": csrf_token(fresh, "/login/code"),
                                            "code": "123456"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("password", ["password1234", "azertyuiop12", "123456789012",
                                      "MotDePasse2024!"])
def test_common_passwords_are_refused(app, build, password):
    from app.auth.services import password_problems

    with app.app_context():
        assert password_problems(password), password
        assert not password_problems("cheval agrafe pile correcte")


def test_sessions_are_listed_and_can_be_ended(app, build):
    user = build.user("accueil")
    mine, other = app.test_client(), app.test_client()
    login(mine, user)
    login(other, user)
    page = mine.get("/account/security").get_data(as_text=True)
    assert page.count("Fermer") == 1 and "cette session" in page
    import sqlalchemy as sa

    from app.auth.models import UserSession
    from app.core.db import db

    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession)).all()
        assert len(rows) == 2
    with mine.session_transaction() as s:
        current = s["sid"]
    victim = next(r for r in rows if str(r.id) != current)
    token = csrf_token(mine, "/account/security")
    mine.post(f"/account/sessions/{victim.id}/revoke", data={"csrf_token": token})
    assert other.get("/").status_code == 302
    assert mine.get("/").status_code == 200


def test_token_wrong_codes_count_and_lock_the_account(app, client, build):
    """The API checks the code with the password: a right password with a wrong code is a failed
    attempt, and nothing of a success is recorded until the code is right."""
    import sqlalchemy as sa

    from app.auth.models import LoginAttempt, User
    from app.core.db import db

    user = build.user("accueil")
    secret, _codes = _enrol(client, bearer(api_token(client, user)))
    with app.app_context():
        db.session.execute(sa.delete(LoginAttempt))
        db.session.commit()
    for _ in range(5):
        answer = client.post("/api/v1/auth/token", json={
            "email": user.email, "password": user.password, "totp": "000000"})
        assert answer.status_code == 401
    with app.app_context():
        db.session.get(User, user.id).totp_last_step = None  # the enrolment's code step is free
        db.session.commit()
    locked = client.post("/api/v1/auth/token", json={
        "email": user.email, "password": user.password, "totp": pyotp.TOTP(secret).now()})
    assert locked.status_code == 429
    assert locked.get_json()["error"]["code"] == "too_many_requests"
    with app.app_context():
        outcomes = db.session.scalars(sa.select(LoginAttempt.outcome)).all()
        assert sorted(set(outcomes)) == ["failure", "throttled"]
