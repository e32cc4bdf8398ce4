"""0012 encrypts the bodies already in the outbox, bound to their row, and downgrade gives them
back; the table keeps its constraints (SQLite rebuilds it to change the column)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

BEFORE, AFTER = "0011_indexes_stalls_visits", "0012_outbox_body_encrypted"

outbox = sa.table(
    "outbox_messages", sa.column("id", sa.Uuid()), sa.column("kind", sa.String()),
    sa.column("channel", sa.String()), sa.column("subject", sa.String()),
    sa.column("body", sa.Text()), sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("next_attempt_at", sa.DateTime(timezone=True)))


def _row(body: str, status: str = "pending") -> dict:
    now = datetime.now(UTC)
    return {"id": uuid.uuid4(), "kind": "test", "channel": "email", "subject": "Objet",
            "body": body, "status": status, "attempts": 0, "created_at": now,
            "next_attempt_at": now}


def _bodies(db) -> dict:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.select(outbox.c.id, outbox.c.body)).all())


def test_bodies_are_encrypted_in_place_and_decrypted_back(app):
    from flask_migrate import downgrade, upgrade

    from app.core.db import db, key_ring
    from app.notifications.models import OutboxMessage

    with app.app_context():
        downgrade(revision=BEFORE)
        try:
            rows = [_row("Votre code : 123456, lien /c/ZQXTOKEN"), _row("Deuxième message"),
                    _row("")]
            with db.engine.begin() as conn:
                conn.execute(outbox.insert(), rows)
            upgrade(revision=AFTER)
            stored = _bodies(db)
            assert all(v is None or v.startswith(key_ring().active_prefix())
                       for v in stored.values())
            assert stored[rows[2]["id"]] is None
            assert not any("ZQXTOKEN" in (v or "") for v in stored.values())
            db.session.remove()
            read = {r.id: r.body for r in db.session.scalars(sa.select(OutboxMessage))}
            assert read == {rows[0]["id"]: rows[0]["body"], rows[1]["id"]: rows[1]["body"],
                            rows[2]["id"]: None}
            db.session.remove()
            # The table kept its check constraint through the rebuild.
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(outbox.insert(), [_row("x", status="lost")])
            downgrade(revision=BEFORE)
            assert _bodies(db) == {row["id"]: row["body"] for row in rows}
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(outbox.insert(), [{**_row("x"), "body": None}])
        finally:
            db.session.remove()
            upgrade()
