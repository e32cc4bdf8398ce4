"""The audit trail: an append-only, hash-chained table of who did what to which record.

``record(action, ...)`` queues an entry in the current database session; the entries are chained
and inserted when the session commits, in the same transaction as the change they describe, so
an audited write and its audit entry land together or not at all. Each row holds the previous
row's hash and its own: SHA-256 over a canonical JSON encoding of its content. ``verify_chain``
walks the chain and reports the first broken link.

Writers never fork the chain: on PostgreSQL the append takes a transaction-scoped advisory lock
(and a trigger installed by the migration forbids UPDATE and DELETE on the table); on SQLite a
process lock serialises appends. In every case ``seq`` and ``prev_hash`` are unique, so two rows
can never claim the same predecessor.

Rows hold identifiers and codes, never names or free text: ``record`` refuses other values.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Model, db, utcnow

GENESIS = "0" * 64
_ADVISORY_LOCK_KEY = 0x5A55E11E  # "passerelle audit"
_SQLITE_LOCK = threading.Lock()
# Identifiers and codes: no spaces, no "@" (an e-mail address is personal data, not a code).
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/+\-]{0,100}$")


class AuditError(Exception):
    """Base class of the audit module's errors."""


class UnsafeAuditDetail(AuditError):
    """A detail value looked like free text; audit rows hold identifiers and codes only."""


class AuditChainBroken(AuditError):
    """``verify_chain`` found a row whose hash or link does not match."""

    def __init__(self, seq: int, reason: str):
        super().__init__(f"audit chain broken at row {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class AuditEntry(Model):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hash: Mapped[str] = mapped_column(sa.String(64))

    def details_dict(self) -> dict[str, Any]:
        return json.loads(self.details or "{}")


@dataclass
class _Pending:
    at: datetime
    actor_id: uuid.UUID | None
    actor_kind: str
    action: str
    object_type: str | None
    object_id: str | None
    person_id: uuid.UUID | None
    details: str
    ip: str | None


def _check_details(details: dict[str, Any]) -> str:
    for key, value in details.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is None or isinstance(item, (bool, int)):
                continue
            if isinstance(item, uuid.UUID):
                continue
            if not isinstance(item, str) or not _SAFE_VALUE.match(item):
                raise UnsafeAuditDetail(f"audit detail {key!r} must be an identifier or a code")
    return canonical(details)


def _check_object_id(object_id: Any) -> str | None:
    if object_id is None:
        return None
    text = str(object_id)
    if not _SAFE_VALUE.match(text):
        raise UnsafeAuditDetail("audit object_id must be an identifier")
    return text


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def record(
    action: str,
    *,
    actor: Any = None,
    actor_kind: str | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    person_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
    session: Session | None = None,
) -> None:
    """Queue an audit entry; it is chained and written when the session commits.

    ``actor`` is a user (anything with ``id``) or None; ``actor_kind`` defaults to ``user`` when
    an actor is given and ``system`` otherwise (``anonymous`` for failed logins).
    """
    session = session or db.session()
    entry = _Pending(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_kind=actor_kind or ("user" if actor is not None else "system"),
        action=action,
        object_type=object_type,
        object_id=_check_object_id(object_id),
        person_id=person_id,
        details=_check_details(details or {}),
        ip=request.remote_addr if has_request_context() else None,
    )
    session.connection()  # begin the transaction now, so that a rollback forgets the entry
    # Tagged with the innermost savepoint, so that rolling it back forgets just its entries.
    session.info.setdefault("audit_pending", []).append((session.get_nested_transaction(), entry))


def compute_hash(row: AuditEntry | _Pending, seq: int, prev_hash: str) -> str:
    payload = canonical(
        {
            "seq": seq,
            "at": row.at.isoformat(timespec="microseconds"),
            "actor_id": str(row.actor_id) if row.actor_id else None,
            "actor_kind": row.actor_kind,
            "action": row.action,
            "object_type": row.object_type,
            "object_id": row.object_id,
            "person_id": str(row.person_id) if row.person_id else None,
            "details": row.details,
            "ip": row.ip,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


# PostgreSQL: the chain's lock and the head in one round trip. The head read here may be stale:
# a statement reads with the snapshot taken when it began, before it waited for the lock, so a
# row committed by the previous holder meanwhile is not seen. The insert that follows (a new
# statement, its snapshot taken with the lock held) therefore checks that nothing lies past this
# head, and the append starts again from a fresh head when something does.
_LOCKED_HEAD = sa.text(
    "WITH chain_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(:key)) "
    "SELECT head.seq, head.hash FROM chain_lock LEFT JOIN LATERAL "
    "(SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1) AS head ON true")


def _head(session: Session) -> tuple[int, str]:
    head = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (head.seq, head.hash) if head else (0, GENESIS)


def _lock_chain(session: Session) -> tuple[int, str] | None:
    """Take the chain's lock; on PostgreSQL also return the head (maybe stale, see above)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        head = session.execute(_LOCKED_HEAD, {"key": _ADVISORY_LOCK_KEY}).one()
        return (head.seq, head.hash) if head.seq is not None else (0, GENESIS)
    if not session.info.get("audit_lock_held"):
        _SQLITE_LOCK.acquire()
        session.info["audit_lock_held"] = True
    return None


def _release_lock(session: Session) -> None:
    if session.info.pop("audit_lock_held", False):
        _SQLITE_LOCK.release()


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the entries wait for the real commit
    pending: list[_Pending] = [entry for _tag, entry in session.info.pop("audit_pending", [])]
    if not pending:
        return
    # Write the transaction's own changes first, so that the chain lock (held until the commit)
    # covers only the audit rows: concurrent requests then wait for a few index updates, not for
    # each other's whole flush.
    session.flush()
    head = _lock_chain(session)
    if head is not None:  # PostgreSQL: two statements when no other append came in between
        if _insert_after(session, _chained(pending, *head), head[0]):
            return
    # One INSERT of plain rows: the entries are never read back in this session, so the
    # unit of work has nothing to track.
    session.execute(sa.insert(AuditEntry), _chained(pending, *_head(session)))


def _chained(pending: list[_Pending], seq: int, prev: str) -> list[dict[str, Any]]:
    rows = []
    for item in pending:
        seq += 1
        digest = compute_hash(item, seq, prev)
        rows.append({"id": uuid.uuid4(), "seq": seq, "prev_hash": prev, "hash": digest,
                     **vars(item)})
        prev = digest
    return rows


_GUARDED_ROWS = 50  # more entries in one transaction (a bulk command): head read again instead
_COLUMNS = ("id", "seq", "prev_hash", "hash", "at", "actor_id", "actor_kind", "action",
            "object_type", "object_id", "person_id", "details", "ip")


@functools.lru_cache(maxsize=_GUARDED_ROWS)
def _insert_after_sql(count: int) -> sa.TextClause:
    """INSERT … SELECT of ``count`` rows, all of them or none: none when a row lies past
    ``:head_seq`` (the head read with the lock was stale; 0 for an empty chain). Written once per number of rows: a
    statement built of VALUES is not cached by SQLAlchemy, and compiling it cost a millisecond."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    types = {name: AuditEntry.__table__.c[name].type.compile(dialect=dialect)
             for name in _COLUMNS}
    values = ", ".join(
        "(" + ", ".join(f"CAST(:{name}_{i} AS {types[name]})" for name in _COLUMNS) + ")"
        for i in range(count))
    # Only the model's own column names and types and numbered parameters: no input.
    return sa.text(
        f"INSERT INTO audit_entries ({', '.join(_COLUMNS)}) "  # noqa: S608
        f"SELECT * FROM (VALUES {values}) AS new_entries "
        # The chain's last seq read through its unique index (one index entry whatever the
        # table's size). Written ``NOT EXISTS (… WHERE seq > :head_seq)``, the planner scanned
        # the whole table for a row it expected to find at once: 3–7 ms at 20 000 entries,
        # growing with the trail, on every audited request (issue 21). Entries are never
        # deleted, so the last seq equals the head exactly when nothing came after it.
        "WHERE coalesce((SELECT max(seq) FROM audit_entries), 0) = :head_seq RETURNING seq")


def _insert_after(session: Session, rows: list[dict[str, Any]], head_seq: int) -> bool:
    """Whether ``rows`` were inserted after ``head_seq`` (see ``_insert_after_sql``)."""
    if len(rows) > _GUARDED_ROWS:
        return False
    params = {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in _COLUMNS}
    return session.execute(_insert_after_sql(len(rows)),
                           {**params, "head_seq": head_seq}).first() is not None


def _within(tag, transaction) -> bool:
    while tag is not None:
        if tag is transaction:
            return True
        tag = tag.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    """A rollback forgets the entries recorded in what it rolled back, and only those."""
    if not previous_transaction.nested:
        session.info.pop("audit_pending", None)
        return
    session.info["audit_pending"] = [
        (tag, entry) for tag, entry in session.info.get("audit_pending", [])
        if not _within(tag, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _end_of_transaction(session: Session, transaction) -> None:
    if transaction.parent is None:
        _release_lock(session)


def iter_chain(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> tuple[int, str]:
    """Walk the chain; return (rows checked, head hash) or raise ``AuditChainBroken``."""
    expected_seq, prev = 1, GENESIS
    count = 0
    for row in iter_chain(session):
        if row.seq != expected_seq:
            raise AuditChainBroken(expected_seq, f"row {expected_seq} is missing (next is {row.seq})")
        if row.prev_hash != prev:
            raise AuditChainBroken(row.seq, "does not link to the previous row (deleted or inserted)")
        if compute_hash(row, row.seq, row.prev_hash) != row.hash:
            raise AuditChainBroken(row.seq, "content does not match its hash (changed)")
        prev = row.hash
        expected_seq += 1
        count += 1
    return count, prev


def entries_for_person(person_id: uuid.UUID, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.person_id == person_id)
            .order_by(AuditEntry.seq.desc())
            .limit(limit)
            .offset(offset)
        )
    )
