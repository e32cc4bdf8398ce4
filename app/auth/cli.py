"""``users create``."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.auth import services
from app.core.cli import run_service

users_cli = AppGroup("users", help="User accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True)
@click.option("--password-stdin", is_flag=True,
              help="read the password from the first line of standard input")
@click.option("--name", "display_name")
@click.option("--site")
@click.option("--structure")
@click.option("--territory")
def create_user(email, role, password_stdin, display_name, site, structure, territory):
    """Create an account; prints its id."""
    if not password_stdin:
        raise click.ClickException("the password is read from standard input: pass --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    user = run_service(services.create_user, {
        "email": email, "role": role, "password": password, "display_name": display_name,
        "site": site, "structure": structure, "territory": territory,
    })
    click.echo(user.id)
