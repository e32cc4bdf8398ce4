"""API authentication: tokens, /me, expiry, revocation, throttling."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.helpers import api_token, bearer


def test_token_then_me(client, build):
    user = build.user("partenaire")
    answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": user.password})
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"token", "expires_at"}
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    data = me.get_json()
    assert data["id"] == str(user.id)
    assert data["email"] == user.email and data["role"] == "partenaire"
    assert data["structure_id"] == str(user.structure_id) and data["site_id"] is None
    assert {"id", "email", "display_name", "role", "site_id", "structure_id"} <= set(data)


def test_token_is_stored_hashed(app, client, build):
    from app.auth.models import ApiToken
    from app.core.db import db

    token = api_token(client, build.user("accueil"))
    with app.app_context():
        stored = db.session.scalars(sa.select(ApiToken.token_hash)).one()
    assert token not in stored and len(stored) == 64


def test_wrong_credentials_answer_401(client, build):
    user = build.user("accueil")
    answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": "nope nope nope"})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthenticated"


def test_too_many_attempts_answer_429(client, build):
    user = build.user("accueil")
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"email": user.email, "password": "nope nope nope"})
    answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": user.password})
    assert answer.status_code == 429
    assert answer.get_json()["error"]["code"] == "too_many_requests"


def test_missing_bad_and_foreign_scheme_tokens_answer_401(client):
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic abc"}):
        answer = client.get("/api/v1/me", headers=headers)
        assert answer.status_code == 401
        assert answer.get_json()["error"]["code"] == "unauthenticated"


def test_expired_token_answers_401(app, client, build):
    from app.auth.models import ApiToken
    from app.core.db import db

    token = api_token(client, build.user("accueil"))
    with app.app_context():
        row = db.session.scalars(sa.select(ApiToken)).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_token_expires_after_12_hours(app, client, build):
    from app.auth.models import ApiToken
    from app.core.db import db

    api_token(client, build.user("accueil"))
    with app.app_context():
        row = db.session.scalars(sa.select(ApiToken)).one()
        assert row.expires_at - row.created_at == timedelta(hours=12)


def test_revoked_token_answers_401(client, build):
    token = api_token(client, build.user("accueil"))
    assert client.delete("/api/v1/auth/token", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_deactivation_revokes_tokens(app, client, build):
    from app.auth.models import User
    from app.auth.services import deactivate_user
    from app.core.db import db

    user = build.user("accueil")
    token = api_token(client, user)
    with app.app_context():
        deactivate_user(db.session.get(User, user.id))
        db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    again = client.post("/api/v1/auth/token", json={"email": user.email, "password": user.password})
    assert again.status_code == 401


def test_session_cookie_is_not_accepted_by_the_api(client, build):
    from tests.helpers import login

    login(client, build.user("accueil"))
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401
