"""The page's second factor: a login is recorded as a success only once the code is right, wrong
codes count as failed attempts, and the code step is throttled like the password."""

from __future__ import annotations

import pyotp
import sqlalchemy as sa

from tests.helpers import csrf_token, login


def _with_second_factor(app, build) -> tuple:
    from app.auth.models import User
    from app.core.db import db, utcnow

    user = build.user("accueil")
    secret = pyotp.random_base32()
    with app.app_context():
        row = db.session.get(User, user.id)
        row.totp_secret = secret
        row.totp_enabled_at = utcnow()
        db.session.commit()
    return user, secret


def _code(client, code: str):
    return client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                            "code": code})


def _outcomes(app) -> list[str]:
    from app.auth.models import LoginAttempt
    from app.core.db import db

    with app.app_context():
        return list(db.session.scalars(sa.select(LoginAttempt.outcome).order_by(LoginAttempt.at)))


def _actions(app) -> list[str]:
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.action)))


def test_the_password_alone_records_no_success(app, client, build):
    from app.auth.models import User
    from app.core.db import db

    user, secret = _with_second_factor(app, build)
    assert login(client, user).headers["Location"] == "/login/code"
    assert "success" not in _outcomes(app)
    assert "auth.login" not in _actions(app)
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is None
    assert _code(client, "000000").status_code == 401
    assert _outcomes(app) == ["failure"]
    answer = _code(client, pyotp.TOTP(secret).now())
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert _outcomes(app) == ["failure", "success"]
    assert _actions(app).count("auth.login") == 1
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None


def test_wrong_codes_lock_the_account_and_end_the_pending_login(app, client, build):
    user, secret = _with_second_factor(app, build)
    login(client, user)
    for _ in range(5):
        assert _code(client, "000000").status_code == 401
    locked = _code(client, pyotp.TOTP(secret).now())  # the right code no longer helps
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "mfa_user" not in session
    assert client.get("/login/code").headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert login(client, user).status_code == 429  # the password step is locked too
    assert "throttled" in _outcomes(app)


def test_logging_in_again_does_not_restart_the_count(app, client, build):
    user, secret = _with_second_factor(app, build)
    login(client, user)
    for _ in range(3):
        assert _code(client, "000000").status_code == 401
    fresh = app.test_client()
    assert login(fresh, user).headers["Location"] == "/login/code"
    for _ in range(2):
        assert _code(fresh, "000000").status_code == 401
    assert _code(fresh, pyotp.TOTP(secret).now()).status_code == 429
    assert "success" not in _outcomes(app)
