"""The person follows their own request: a follow-up code on the slip, a public status page,
and updates by SMS or e-mail when they asked for them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.accueil.panels import register_panel
    from app.followup import export, services, sms, views
    from app.notifications.services import register_sender
    from app.orientation.notify import register_status_hook

    register_panel(views.slip_panel)
    export.register()
    register_status_hook(services.on_status_changed)  # the person's own updates
    register_sender("sms", sms.send)
    app.register_blueprint(views.bp)
