"""Outbox message bodies encrypted at rest, like their recipient

A body may hold a one-time contact link, a 6-digit code, a follow-up stop link (all stored only
hashed elsewhere) and the name of the structure a person was sent to. The column keeps its name
(an encrypted attribute stores its ciphertext in the column of the same name) and becomes
nullable, as every encrypted column is; the existing rows are encrypted in place with the
application's key ring, bound to their row (``outbox_messages:body:<id>``). Downgrade decrypts
them again.

Revision ID: 0012_outbox_body_encrypted
Revises: 0011_indexes_stalls_visits
Create Date: 2026-11-24 10:00:00

"""
from alembic import context, op
import sqlalchemy as sa


revision = '0012_outbox_body_encrypted'
down_revision = '0011_indexes_stalls_visits'
branch_labels = None
depends_on = None

CHUNK = 1000
outbox = sa.table('outbox_messages', sa.column('id', sa.Uuid()), sa.column('body', sa.Text()))


def _aad(row_id):
    return f"outbox_messages:body:{row_id}"


def _rewrite(change):
    """Apply ``change(id, body) -> new body`` to every row, in chunks in id order."""
    if context.is_offline_mode():
        raise RuntimeError("0012 encrypts existing rows with the key ring: run it online")
    conn = op.get_bind()
    update = (sa.update(outbox).where(outbox.c.id == sa.bindparam('row_id'))
              .values(body=sa.bindparam('new_body')))
    last = None
    while True:
        query = sa.select(outbox.c.id, outbox.c.body).order_by(outbox.c.id).limit(CHUNK)
        if last is not None:
            query = query.where(outbox.c.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        changes = [{'row_id': row_id, 'new_body': change(row_id, body)} for row_id, body in rows]
        conn.execute(update, changes)
        last = rows[-1][0]


def _already_encrypted(ring, row_id, body):
    """A rerun after a partial run leaves what is already encrypted alone."""
    if ring.key_id_of(body) not in ring.keys:
        return False
    try:
        ring.decrypt(body, _aad(row_id))
    except Exception:  # noqa: BLE001 - not one of ours: plaintext that looks like a token
        return False
    return True


def upgrade():
    from app.core.db import key_ring

    ring = key_ring()
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)

    def encrypt(row_id, body):
        if not body:
            return None  # an empty encrypted attribute is stored as NULL
        if _already_encrypted(ring, row_id, body):
            return body
        return ring.encrypt(body, _aad(row_id))

    _rewrite(encrypt)


def downgrade():
    from app.core.db import key_ring

    ring = key_ring()
    _rewrite(lambda row_id, body: ring.decrypt(body, _aad(row_id)) if body else '')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
