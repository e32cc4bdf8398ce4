"""The person follows their own request: a follow-up code on the slip, a public status page,
and updates by SMS or e-mail when they asked for them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.followup import export, services, sms  # noqa: F401  (hooks, record, SMS sender)
    from app.followup.views import bp

    app.register_blueprint(bp)
