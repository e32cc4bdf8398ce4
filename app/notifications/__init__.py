"""Notifications that cannot be lost: an outbox written in the same transaction as the change,
delivered by ``notifications send`` (SMTP, or files under instance/outbox in development)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.notifications.cli import notifications_cli

    app.cli.add_command(notifications_cli)
