"""``demo seed``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.commands import run_service
from app.demo import seed as demo_seed

demo_cli = AppGroup("demo", help="Demo and synthetic data.")


@demo_cli.command("seed")
def seed():
    """Create the demo sites, structures and users once; print the logins."""
    if current_app.config["PASSERELLE_ENV"] == "production":
        raise click.ClickException("demo seed refuses to run in production")
    report = run_service(demo_seed.seed)
    click.echo(f"demo data: {report.created} records created")
    click.echo("Demo logins (role, e-mail, password):")
    for role, email, password in report.logins:
        click.echo(f"  {role:<18} {email:<40} {password}")
