"""Login throttling: too many failures for an account or from an address refuse further tries.

Every attempt is recorded (``login_attempts``, the e-mail kept only as a blind index). An attempt
is refused without checking the password while, within the window (15 minutes by default), the
account has 5 failures since its last success, or the address has reached its own limit
(``PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS``, 30 by default: the agents of a reception site
usually share one public address, and five typos among them must not lock the whole site out).
Refused attempts are recorded as ``throttled`` and do not extend the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.auth.models import LoginAttempt
from app.core.db import db, key_ring, utcnow
from app.core.names import normalise

FAILURE, SUCCESS, THROTTLED = "failure", "success", "throttled"


def email_index(email: str) -> str:
    return key_ring().blind_index("login-email", normalise(email).replace(" ", ""))


def _window_start(now: datetime) -> datetime:
    return now - timedelta(minutes=current_app.config["PASSERELLE_LOGIN_WINDOW_MINUTES"])


def is_throttled(email: str, ip: str | None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    since = _window_start(now)
    index = email_index(email)
    last_success = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.email_index == index, LoginAttempt.outcome == SUCCESS
        )
    )
    if last_success and last_success > since:
        since = last_success
    account_failures = db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.email_index == index,
            LoginAttempt.outcome == FAILURE,
            LoginAttempt.at > since,
        )
    )
    if account_failures >= current_app.config["PASSERELLE_LOGIN_MAX_FAILURES"]:
        return True
    if ip is None:
        return False
    address_failures = db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip,
            LoginAttempt.outcome == FAILURE,
            LoginAttempt.at > _window_start(now),
        )
    )
    return address_failures >= current_app.config["PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS"]


def record_attempt(email: str, ip: str | None, outcome: str, user_id=None) -> None:
    db.session.add(
        LoginAttempt(email_index=email_index(email), ip=ip, outcome=outcome, user_id=user_id)
    )
