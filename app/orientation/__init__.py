"""Orientation: the partner directory, consent-scoped orientations, their state machine,
deadlines, reminders and notifications."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from app.core.nav import register_nav
    from app.orientation import contact, export, panels, scopes  # noqa: F401  (rules, hooks)
    from app.orientation.cli import orientations_cli
    from app.orientation.contact_views import bp as contact_bp
    from app.orientation.views import bp

    register_nav("directory.read", "orientation.directory_page", _l("Annuaire"), order=30)
    register_nav("orientation.inbox", "orientation.inbox", _l("Orientations reçues"), order=20)
    register_nav("orientation.send", "orientation.sent", _l("Orientations envoyées"), order=21)
    app.cli.add_command(orientations_cli)
    app.register_blueprint(bp)
    app.register_blueprint(contact_bp)
