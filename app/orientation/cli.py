"""``orientations remind``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.orientation import reminders

orientations_cli = AppGroup("orientations", help="Orientations.")


@orientations_cli.command("remind")
def remind() -> None:
    """Queue reminders and escalations for stalled orientations (idempotent; run from cron)."""
    report = reminders.remind()
    click.echo(f"reminders: {report.reminders}, escalations: {report.escalations}")
    click.echo(report.reminders + report.escalations)
