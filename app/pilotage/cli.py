"""``calendar rebuild``: the indicators' calendar after a change of PASSERELLE_HOLIDAYS_SUBDIV."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.db import db
from app.orientation.deadlines import subdivision
from app.pilotage.calendar import rebuild_calendar

calendar_cli = AppGroup("calendar", help="The working-day calendar of the indicators.")


@calendar_cli.command("rebuild")
def rebuild() -> None:
    """Recompute the calendar's working days with the public holidays now configured."""
    changed = rebuild_calendar(db.session.connection())
    db.session.commit()
    click.echo(f"public holidays: {subdivision() or 'metropolitan France'}")
    click.echo(f"days whose working status changed: {changed}")
