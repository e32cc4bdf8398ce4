"""Page sessions a user can see and end, and the API tokens listed beside them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.auth.models import ApiToken, UserSession
from app.core import audit
from app.core.db import db, utcnow
from app.core.errors import NotFound

TOUCH_EVERY = timedelta(minutes=1)


def start(user: Any, ip: str | None, user_agent: str | None) -> UserSession:
    row = UserSession(user_id=user.id, ip=ip, user_agent=(user_agent or "")[:200] or None)
    db.session.add(row)
    return row


def is_live(sid: Any, user: Any) -> bool:
    """The session exists, belongs to the user and was not ended; its last use is kept."""
    try:
        row = db.session.get(UserSession, uuid.UUID(str(sid)))
    except (ValueError, TypeError):
        return False
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    now = utcnow()
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return True


def end(sid: Any, user: Any) -> None:
    try:
        row = db.session.get(UserSession, uuid.UUID(str(sid)))
    except (ValueError, TypeError):
        return
    if row is not None and row.user_id == user.id and row.revoked_at is None:
        row.revoked_at = utcnow()


def active_sessions(user: Any) -> list[UserSession]:
    return list(db.session.scalars(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())))


def active_tokens(user: Any) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > utcnow()).order_by(ApiToken.created_at.desc())))


def revoke_session(user: Any, session_id: uuid.UUID) -> None:
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound()
    row.revoked_at = utcnow()
    audit.record("auth.session_revoked", actor=user, object_type="user_session", object_id=row.id)


def revoke_token_by_id(user: Any, token_id: uuid.UUID) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound()
    row.revoked_at = utcnow()
    audit.record("auth.token_revoked", actor=user, object_type="api_token", object_id=row.id)


def end_all(user: Any) -> None:
    db.session.execute(sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
