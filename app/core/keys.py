"""Key rotation: re-encrypt every encrypted field under the active key, in batches.

Rows still encrypted under another key are found by the key id in their ciphertext, so the work
is resumable: an interrupted run leaves every row readable (old rows decrypt with the old key,
which stays in the ring) and the next run picks up where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from app.core import audit
from app.core.db import db, encrypted_models, key_ring


def _stale_filter(model, prefix: str):
    columns = [getattr(model, field.storage) for field in model.__encrypted__.values()]
    return sa.or_(*(sa.and_(c.is_not(None), ~c.startswith(prefix, autoescape=True))
                    for c in columns))


def count_stale() -> dict[str, int]:
    prefix = key_ring().active_prefix()
    return {
        model.__tablename__: db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(_stale_filter(model, prefix))
        )
        for model in encrypted_models()
    }


def rotate(batch_size: int = 500, max_batches: int | None = None,
           on_batch: Callable[[int], None] | None = None) -> int:
    """Re-encrypt stale rows, one committed transaction per batch; returns rows re-encrypted.

    ``max_batches`` stops early (the next run resumes); ``on_batch(n)`` reports progress.
    """
    ring = key_ring()
    prefix = ring.active_prefix()
    done = batches = 0
    for model in encrypted_models():
        stale = _stale_filter(model, prefix)
        while max_batches is None or batches < max_batches:
            rows = db.session.scalars(
                sa.select(model).where(stale).order_by(model.id).limit(batch_size)
            ).all()
            if not rows:
                break
            for row in rows:
                for name, field in model.__encrypted__.items():
                    token = getattr(row, field.storage)
                    if token and not token.startswith(prefix):
                        setattr(row, name, getattr(row, name))  # decrypt old, encrypt active
            audit.record("keys.rotate_batch", object_type=model.__tablename__,
                         details={"rows": len(rows), "key": ring.active_id})
            db.session.commit()
            db.session.expunge_all()
            done += len(rows)
            batches += 1
            if on_batch:
                on_batch(len(rows))
    return done
