"""Key rotation: re-encrypt every encrypted field under the active key, in batches.

Rows still encrypted under another key are found by the key id in their ciphertext, so the work
is resumable: an interrupted run leaves every row readable (old rows decrypt with the old key,
which stays in the ring) and the next run picks up where it stopped. A row under a key the ring
does not hold stops the run before anything is re-encrypted.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from app.core import audit
from app.core.crypto import TOKEN_VERSION, DecryptionError
from app.core.db import analyze, db, encrypted_models, key_ring


def _stale_filter(model, prefix: str):
    columns = [getattr(model, field.storage) for field in model.__encrypted__.values()]
    return sa.or_(*(sa.and_(c.is_not(None), ~c.startswith(prefix, autoescape=True))
                    for c in columns))


def _unknown_key_filter(column, prefixes: list[str]):
    return sa.and_(column.is_not(None),
                   *(~column.startswith(prefix, autoescape=True) for prefix in prefixes))


def check_keys_present() -> None:
    """``DecryptionError`` naming the first column holding a ciphertext under a key that is not
    in the ring (or no ciphertext at all): rotation could not read it back."""
    ring = key_ring()
    prefixes = [f"{TOKEN_VERSION}:{key_id}:" for key_id in ring.keys]
    for model in encrypted_models():
        for name, field in model.__encrypted__.items():
            column = getattr(model, field.storage)
            token = db.session.scalar(sa.select(column).where(
                _unknown_key_filter(column, prefixes)).limit(1))
            if token is None:
                continue
            count = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(
                _unknown_key_filter(column, prefixes)))
            key_id = ring.key_id_of(token)
            what = f"key {key_id!r}" if key_id else "no known key (malformed ciphertext)"
            raise DecryptionError(
                f"{count} rows of {model.__tablename__}.{name} are encrypted under {what}, "
                "which is not in the key ring: add the old key to PASSERELLE_ENCRYPTION_KEYS "
                "(after the active one) and run again")


def count_stale() -> dict[str, int]:
    prefix = key_ring().active_prefix()
    return {
        model.__tablename__: db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(_stale_filter(model, prefix))
        )
        for model in encrypted_models()
    }


def rotate(batch_size: int = 500, max_batches: int | None = None,
           on_batch: Callable[[int], None] | None = None, check_keys: bool = True) -> int:
    """Re-encrypt stale rows, one committed transaction per batch; returns rows re-encrypted.

    ``max_batches`` stops early (the next run resumes); ``on_batch(n)`` reports progress. A row
    under a key missing from the ring raises ``DecryptionError`` before the first batch (unless
    the caller has just checked: ``check_keys``); a row that does not decrypt (tampered) raises
    it with its batch rolled back.
    """
    if check_keys:
        check_keys_present()
    ring = key_ring()
    prefix = ring.active_prefix()
    done = batches = 0
    for model in encrypted_models():
        stale = _stale_filter(model, prefix)
        while max_batches is None or batches < max_batches:
            # Locked until the batch commits (PostgreSQL; SQLite serialises writers anyway), so
            # that an edit made meanwhile is not overwritten by the value read here.
            rows = db.session.scalars(
                sa.select(model).where(stale).order_by(model.id).limit(batch_size)
                .with_for_update(of=model)
            ).all()
            if not rows:
                break
            try:
                for row in rows:
                    for name, field in model.__encrypted__.items():
                        token = getattr(row, field.storage)
                        if token and not token.startswith(prefix):
                            setattr(row, name, getattr(row, name))  # decrypt old, encrypt active
            except DecryptionError:
                db.session.rollback()
                raise
            audit.record("keys.rotate_batch", object_type=model.__tablename__,
                         details={"rows": len(rows), "key": ring.active_id})
            db.session.commit()
            db.session.expunge_all()
            done += len(rows)
            batches += 1
            if on_batch:
                on_batch(len(rows))
    if done:
        analyze([model.__tablename__ for model in encrypted_models()])
    return done
