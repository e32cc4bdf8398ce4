"""Accounts, login, throttling, API tokens."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import gettext as _


def init_app(app: Flask) -> None:
    from app.auth import mfa, oidc, oidc_views, services, sessions  # noqa: F401 (SSO routes)
    from app.auth.views import bp
    from app.core.access import Gate, register_gate
    from app.extensions import login_manager

    register_gate(Gate(
        name="mfa",
        applies=lambda permission: permission.name not in {"mfa.enroll", "session.end",
                                                           "session.keepalive"},
        passes=lambda user: not mfa.must_enrol(user) or mfa.vouched_by_provider(),
        api_code="mfa_enrollment_required",
        api_message=lambda: _("Votre rôle exige la double authentification : activez-la d'abord "
                              "(POST /api/v1/me/totp puis /api/v1/me/totp/confirm)."),
        page_endpoint="auth.mfa",
    ))
    # A temporary password (set by an administrator, who therefore knows it) opens nothing but
    # the account pages, the second factor and logout until the user has chosen their own.
    register_gate(Gate(
        name="password",
        applies=lambda permission: permission.name not in {
            "account.manage", "mfa.enroll", "session.end", "session.keepalive", "me.read"},
        # A single sign-on session never used the temporary password.
        passes=lambda user: not user.must_change_password or bool(session.get("sso")),
        api_code="password_change_required",
        api_message=lambda: _("Votre mot de passe est provisoire : choisissez-en un nouveau "
                              "(page « Changer de mot de passe » de Passerelle) avant de "
                              "continuer."),
        page_endpoint="auth.change_password",
    ))

    @login_manager.user_loader
    def _load_from_session(session_id: str):
        if request.path.startswith("/api/"):
            return None  # the API answers bearer tokens only, never a session cookie
        user = services.load_session_user(session_id)
        if user is None or not sessions.is_live(session.get("sid"), user):
            return None
        return user

    @login_manager.request_loader
    def _load_from_token(req):
        if not req.path.startswith("/api/"):
            return None
        scheme, _sep, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return services.user_for_token(token.strip())

    oidc.configured(app.config)  # incomplete provider settings stop the start here
    app.jinja_env.globals["sso_buttons"] = oidc.login_buttons
    app.jinja_env.globals["sso_identities"] = oidc.identities  # the account's admin page
    app.jinja_env.globals["sso_siret_mismatch"] = oidc.siret_mismatch
    app.jinja_env.globals["sso_revocations"] = oidc.revocations
    app.register_blueprint(bp)
