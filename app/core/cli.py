"""Commands of the shared core: ``keys rotate`` and ``audit verify``; and how every feature's
command runs a service and reports its refusal (``run_service``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from flask.cli import AppGroup

from app.core import audit, keys
from app.core.crypto import CryptoError
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


keys_cli = AppGroup("keys", help="Encryption keys.")
audit_cli = AppGroup("audit", help="The audit trail.")


@keys_cli.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--max-batches", default=None, type=click.IntRange(1),
              help="Stop after this many batches; run again to resume.")
def rotate_command(batch_size: int, max_batches: int | None) -> None:
    """Re-encrypt every encrypted field under the active key (resumable)."""
    try:
        keys.check_keys_present()
        total = sum(keys.count_stale().values())
        # The bar only on a terminal: under cron or a script, stderr keeps the one-line error.
        with click.progressbar(length=total, label="re-encrypting", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            done = keys.rotate(batch_size=batch_size, max_batches=max_batches,
                               on_batch=bar.update, check_keys=False)
    except CryptoError as error:
        db.session.rollback()
        raise click.ClickException(f"keys rotate: {error}".replace("\n", " ")) from None
    remaining = sum(keys.count_stale().values())
    click.echo(f"re-encrypted {done} rows; {remaining} rows left under older keys")
    from app.core.db import key_ring

    click.echo(key_ring().active_id)


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the hash chain; exit 1 naming the first broken row."""
    try:
        count, head = audit.verify_chain(db.session)
    except audit.AuditChainBroken as broken:
        raise click.ClickException(str(broken)) from None
    click.echo(f"audit chain intact: {count} rows")
    click.echo(head)
