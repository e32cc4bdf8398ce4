"""Command-line entry points (``flask --app wsgi …``), and how they report refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from app.core.db import db
from app.core.errors import ServiceError


def describe(error: ServiceError) -> str:
    """One line: the message, then each field and what is wrong with it."""
    details = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.fields.items())
    return f"{error.message} {details}".strip() if details else error.message


def run_service(service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a service and commit; on refusal, roll back and exit 1 with one line."""
    try:
        result = service(*args, **kwargs)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(describe(error).replace("\n", " ")) from None
    return result


def register_commands(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.charter.cli import charter_cli
    from app.core.cli import audit_cli, keys_cli
    from app.demo.cli import demo_cli
    from app.directory.cli import directory_cli, sites_cli, structures_cli

    for group in (sites_cli, structures_cli, directory_cli, users_cli, charter_cli, keys_cli,
                  audit_cli, demo_cli):
        app.cli.add_command(group)
