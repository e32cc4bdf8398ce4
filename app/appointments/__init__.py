"""Appointments of an orientation: recorded by the partner, reminded to the person who asked
for news, their attendance, and what follows missed ones (issue 20)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.appointments import export, panels, scopes, services, slip  # noqa: F401 (scopes: the rules)
    from app.appointments.cli import appointments_cli
    from app.appointments.views import bp
    from app.orientation.next_appointment import register_finder
    from app.orientation.notify import register_status_hook

    panels.register()
    export.register()
    # The next appointment (date, time, place) on the slip and the follow-up page.
    register_finder(slip.next_for_person)
    # After a taking in charge with a first-appointment date, and at the orientation's end.
    register_status_hook(services.on_status_changed)
    app.cli.add_command(appointments_cli)
    app.register_blueprint(bp)
