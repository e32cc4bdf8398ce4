"""Login throttling: too many failures for an account or from an address refuse further tries.

Every attempt is recorded (``login_attempts``, the e-mail kept only as a blind index). An attempt
is refused without checking the password while, within the window (15 minutes by default), the
account has 5 failures since its last success, or the address has reached its own limit
(``PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS``, 30 by default: the agents of a reception site
usually share one public address, and five typos among them must not lock the whole site out).
Refused attempts are recorded as ``throttled`` and do not extend the window.

The address is the real client's (``PASSERELLE_PROXY_HOPS`` tells how many proxies' forwarded
headers to trust), so one client's failures never slow another's. And the address limit, an
anonymous one, never refuses an account to a browser that has already logged into it (a signed
"known device" cookie set at each login, ``DEVICE_COOKIE``, 90 days, bound to the account's
``auth_version``: a password reset or a deactivation forgets it): colleagues behind the same
address as a guesser keep logging in; the account's own limit still protects their password.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.auth.models import LoginAttempt
from app.core import ratelimit
from app.core.db import db, key_ring, utcnow
from app.core.names import normalise

FAILURE, SUCCESS, THROTTLED = "failure", "success", "throttled"
DEVICE_COOKIE = "passerelle_device"
DEVICE_DAYS = 90
DEVICE_ACCOUNTS = 5  # accounts remembered by one browser (a shared desk computer)


def email_index(email: str) -> str:
    return key_ring().blind_index("login-email", normalise(email).replace(" ", ""))


def _window_start(now: datetime) -> datetime:
    return now - timedelta(minutes=current_app.config["PASSERELLE_LOGIN_WINDOW_MINUTES"])


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="passerelle-login-device")


def known_accounts(cookie: str | None) -> list[str]:
    """The accounts (blind indexes) this browser has logged into: none when the cookie is
    missing, forged or older than ``DEVICE_DAYS``."""
    if not cookie:
        return []
    try:
        value = _device_serializer().loads(cookie, max_age=DEVICE_DAYS * 86400)
    except (BadSignature, ValueError, TypeError):
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _device_entry(email: str, auth_version: int) -> str:
    """One remembered account: its blind index and its ``auth_version``, so that a password
    reset or a deactivation (which bump it) forgets every browser that knew the account."""
    return f"{email_index(email)}:{auth_version}"


def is_known_device(email: str, cookie: str | None, auth_version: int | None) -> bool:
    """``auth_version``: the account's current one (None: no such account, never known)."""
    if auth_version is None:
        return False
    return _device_entry(email, auth_version) in known_accounts(cookie)


def remember_device(email: str, auth_version: int, cookie: str | None) -> str:
    """The new value of the cookie after a login to ``email`` (the latest accounts first)."""
    entry = _device_entry(email, auth_version)
    index = entry.rsplit(":", 1)[0]
    accounts = [entry] + [a for a in known_accounts(cookie)
                          if a.rsplit(":", 1)[0] != index]
    return _device_serializer().dumps(accounts[:DEVICE_ACCOUNTS])


def is_throttled(email: str, ip: str | None, now: datetime | None = None,
                 known_device: bool = False) -> bool:
    """``known_device``: this browser has logged into this account before (see the module's
    docstring): the address limit does not apply, the account's does."""
    now = now or utcnow()
    since = _window_start(now)
    index = email_index(email)
    # Concurrent tries on one account count one after the other (until the commit of the one
    # before, which records its failure): 40 at once are checked against the limit, not past it.
    ratelimit.serialise(f"login-account:{index}")
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
    if ip is None or known_device:
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
