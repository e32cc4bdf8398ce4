"""``charter publish FILE``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.charter import services
from app.core.cli import run_service

charter_cli = AppGroup("charter", help="The confidentiality charter.")


@charter_cli.command("publish")
@click.argument("file", type=click.Path(dir_okay=False))
def publish(file):
    """Publish FILE (UTF-8 text) as a new charter version; prints its id."""
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {file}: {exc.__class__.__name__}") from None
    version = run_service(services.publish, text)
    click.echo(f"charter version {version.version} published")
    click.echo(version.id)
