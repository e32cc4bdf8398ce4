"""Accounts, login, throttling, API tokens."""

from __future__ import annotations

from flask import Flask, request


def init_app(app: Flask) -> None:
    from app.auth import services
    from app.auth.views import bp
    from app.extensions import login_manager

    @login_manager.user_loader
    def _load_from_session(session_id: str):
        if request.path.startswith("/api/"):
            return None  # the API answers bearer tokens only, never a session cookie
        return services.load_session_user(session_id)

    @login_manager.request_loader
    def _load_from_token(req):
        if not req.path.startswith("/api/"):
            return None
        scheme, _sep, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return services.user_for_token(token.strip())

    app.register_blueprint(bp)
