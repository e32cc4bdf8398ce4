"""Command-line entry points (``flask --app wsgi …``): the groups, and their one-line usage errors
(a service's refusal is reported by ``app.core.cli.run_service``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError
from flask import Flask
from flask.cli import AppGroup


def register_commands(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.charter.cli import charter_cli
    from app.core.cli import audit_cli, keys_cli
    from app.demo.cli import demo_cli
    from app.directory.cli import directory_cli, sites_cli, structures_cli

    for group in (sites_cli, structures_cli, directory_cli, users_cli, charter_cli, keys_cli,
                  audit_cli, demo_cli):
        app.cli.add_command(group)
    # Features register their own groups in their init_app, which has run by now.
    for command in app.cli.commands.values():
        if isinstance(command, AppGroup):
            one_line_usage_errors(command)


def _without_usage(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except NoArgsIsHelpError:
            raise  # a group named alone: its help, as asked
        except click.UsageError as error:
            error.ctx = None  # without its context, click prints the "Error: …" line only
            raise

    return wrapper


def one_line_usage_errors(group: click.Group) -> None:
    """Click answers a usage error (a missing option, a value of the wrong type, an unknown
    command) with Usage, Try and Error lines; a Passerelle command fails with one line.

    The group parses its own options in ``make_context`` and its commands' in ``invoke``.
    The groups are module-level objects, shared by every app this process creates: wrapped once.
    """
    if getattr(group, "passerelle_one_line_errors", False):
        return
    group.make_context = _without_usage(group.make_context)
    group.invoke = _without_usage(group.invoke)
    group.passerelle_one_line_errors = True
