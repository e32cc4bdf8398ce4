"""``retention purge [--apply]``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.db import db
from app.core.routing import replica_reads
from app.retention import services

retention_cli = AppGroup("retention", help="Retention periods.")


@retention_cli.command("purge")
@click.option("--apply", "apply_", is_flag=True, help="purge and anonymise (default: list only)")
def purge(apply_: bool) -> None:
    """List what passed its retention period; with --apply, purge or anonymise it."""
    if apply_:
        todo = services.apply()  # what it purges is read on the primary, in its transaction
    else:
        with replica_reads():  # a listing: the replica when one is set
            todo = services.plan()
    verb = "anonymised" if apply_ else "to anonymise"
    for row in todo.persons:
        click.echo(f"person {row.reception_number}: {verb}")
    click.echo(f"persons {verb}: {len(todo.persons)}")
    click.echo(f"login attempts {'deleted' if apply_ else 'to delete'}: {todo.login_attempts}")
    click.echo(f"delivered messages {'deleted' if apply_ else 'to delete'}: {todo.outbox_messages}")
    click.echo(f"ended sessions {'deleted' if apply_ else 'to delete'}: {todo.sessions}")
    click.echo(f"expired tokens {'deleted' if apply_ else 'to delete'}: {todo.tokens}")
    if apply_:
        db.session.commit()
    else:
        db.session.rollback()
        click.echo("dry run: nothing changed (use --apply)")
    click.echo(len(todo.persons) + todo.login_attempts + todo.outbox_messages + todo.sessions
               + todo.tokens)
