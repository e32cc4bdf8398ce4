"""Orientation: the partner directory, consent-scoped orientations, their state machine,
deadlines, reminders and notifications."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from app.core.nav import register_nav
    from app.orientation import contact, export, notify, panels, scopes
    from app.orientation.cli import orientations_cli
    from app.orientation.contact_views import bp as contact_bp
    from app.orientation.views import bp

    # What orientation adds to earlier features' registries (scopes' import also attaches the
    # object rules of the permissions).
    panels.register()
    export.register()
    scopes.register()
    # Structures without accounts: their link replaces the plain message and the reminder.
    notify.register_contact_hook(contact.on_new_orientation)
    notify.register_contact_reminder_hook(contact.remind)
    register_nav("directory.read", "orientation.directory_page", _l("Annuaire"), order=30)
    register_nav("orientation.inbox", "orientation.inbox", _l("Orientations reçues"), order=20)
    register_nav("orientation.send", "orientation.sent", _l("Orientations envoyées"), order=21)
    app.cli.add_command(orientations_cli)

    @app.template_global()
    def orientation_opens(orientation_id) -> bool:
        from flask_login import current_user

        return scopes.opens_to(current_user, orientation_id)

    app.register_blueprint(bp)
    app.register_blueprint(contact_bp)
