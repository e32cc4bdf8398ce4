"""``appointments remind``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.appointments import services

appointments_cli = AppGroup("appointments", help="Appointments of orientations.")


@appointments_cli.command("remind")
def remind() -> None:
    """Queue the reminders due to persons before their appointments (idempotent; run from cron
    every morning, weekends included)."""
    report = services.remind()
    click.echo(f"reminders queued: {report.queued}, without consent to messages: {report.skipped}")
    click.echo(report.queued)
