"""``notifications send``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.notifications import services

notifications_cli = AppGroup("notifications", help="Outgoing messages.")


@notifications_cli.command("send")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000))
def send(batch: int) -> None:
    """Deliver queued messages, retrying failed ones; safe to run twice or concurrently."""
    try:
        report = services.deliver(batch=batch)
    except services.NotConfigured as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"sent {report.sent}, failed {report.failed}, not yet delivered {report.pending}")
    click.echo(report.sent)
