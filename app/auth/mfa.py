"""The second factor: TOTP (pyotp) with a QR code, recovery codes, and who must use it.

The secret is stored encrypted; a code is accepted once (the last used time step is kept), with
one step of clock drift either way. Recovery codes are random, shown once, stored as hashes.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.auth.models import RecoveryCode, User
from app.core import audit
from app.core.crypto import token_digest
from app.core.db import db, utcnow
from app.core.errors import Conflict, ValidationFailed

ISSUER = "Passerelle"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def required_roles() -> set[str]:
    raw = current_app.config.get("PASSERELLE_MFA_REQUIRED_ROLES") or ""
    return {r.strip() for r in raw.split(",") if r.strip()}


def required_for(user: Any) -> bool:
    """Whether ``user``'s role must use a second factor (``PASSERELLE_MFA_REQUIRED_ROLES``)."""
    return user.role in required_roles()


def must_enrol(user: Any) -> bool:
    return required_for(user) and not user.totp_enabled


def vouched_by_provider() -> bool:
    """This page session was opened by a single sign-on whose provider vouched for a second
    factor (its acr/amr met the provider's ``_MFA_ACR`` / ``_MFA_AMR``: app.auth.oidc)."""
    from flask import has_request_context, session

    return has_request_context() and bool((session.get("sso") or {}).get("mfa"))


def start_enrolment(user: User) -> tuple[str, str]:
    """A new secret (pending until confirmed); returns (secret, otpauth URI)."""
    if user.totp_enabled:
        raise Conflict(_("La double authentification est déjà active sur ce compte."))
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_last_step = None
    audit.record("auth.mfa_enrolment_started", actor=user, object_type="user", object_id=user.id)
    return secret, provisioning_uri(user)


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode("utf-8")


def _check_totp(user: User, code: str) -> bool:
    if not user.totp_secret or not code or not code.strip().isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = utcnow()
    step_now = int(now.timestamp()) // totp.interval
    for drift in (0, -1, 1):
        step = step_now + drift
        if totp.at(step * totp.interval) == code.strip():
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # already used: no replay
            user.totp_last_step = step
            return True
    return False


def confirm_enrolment(user: User, code: Any) -> list[str]:
    """Check a first code; enable the factor and return the recovery codes (shown once)."""
    if user.totp_enabled:
        raise Conflict(_("La double authentification est déjà active sur ce compte."))
    if not user.totp_secret:
        raise Conflict(_("Commencez par demander un secret (étape 1)."))
    if not isinstance(code, str) or not _check_totp(user, code):
        raise ValidationFailed(_("Code incorrect : vérifiez l'heure de votre téléphone et réessayez."),
                               {"code": [_("Code incorrect.")]})
    user.totp_enabled_at = utcnow()
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "-".join("".join(secrets.choice(_ALPHABET) for _c in range(5)) for _p in range(2))
        codes.append(raw)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_digest(raw)))
    audit.record("auth.mfa_enabled", actor=user, object_type="user", object_id=user.id)
    return codes


def verify_second_factor(user: User, code: Any) -> bool:
    """A current TOTP code, or an unused recovery code (then spent)."""
    if not isinstance(code, str) or not code.strip():
        return False
    if _check_totp(user, code):
        return True
    row = db.session.scalars(sa.select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == token_digest(code.strip().lower()),
        RecoveryCode.used_at.is_(None))).first()
    if row is None:
        return False
    row.used_at = utcnow()
    audit.record("auth.recovery_code_used", actor=user, object_type="user", object_id=user.id)
    return True


def disable(user: User, actor: Any) -> None:
    """An administrator resets a lost second factor (the user enrols again)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("auth.mfa_reset", actor=actor, object_type="user", object_id=user.id)
