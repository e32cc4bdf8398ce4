"""Append-only tables: rows that code adds, and never changes or deletes.

A model registered here (the parcours journal, the events of an orientation) is guarded in the
unit of work and against bulk UPDATE/DELETE. Two writes stay possible: re-encrypting an encrypted
field to the same plaintext (key rotation) and erasing an encrypted field (retention). Anything
else needs ``allow_purge(session)``, which holds until the session's transaction ends.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.db import key_ring

PURGE = "append_only_purge"
_MODELS: list[type] = []


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete a row of an append-only table: add a new row instead."""


def register(model: type) -> type:
    """Guard ``model``: a class decorator, so that the guard holds wherever the model is
    imported, with or without the application's features."""
    if model not in _MODELS:
        _MODELS.append(model)
    return model


def allow_purge(session: Session) -> None:
    """Let this transaction change or delete append-only rows (retention, demo data set-up)."""
    session.info[PURGE] = True


def _guarded(obj: Any) -> bool:
    return isinstance(obj, tuple(_MODELS))


def _same_plaintext(obj: Any, field: Any, old: str | None, new: str | None) -> bool:
    if old is None or new is None:
        return new is None  # erasing is allowed, writing into an erased field is not
    ring = key_ring()
    return ring.decrypt(old, field.aad(obj)) == ring.decrypt(new, field.aad(obj))


def _changes(obj: Any) -> bool:
    fields = {f.storage: f for f in type(obj).__encrypted__.values()}
    for attr in sa.inspect(obj).attrs:
        history = attr.history
        if not history.has_changes():
            continue
        field = fields.get(attr.key)
        if field is None or not _same_plaintext(
                obj, field, (history.deleted or history.unchanged or [None])[0],
                (history.added or [None])[0]):
            return True
    return False


@sa.event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _context, _instances) -> None:
    if session.info.get(PURGE) or not _MODELS:
        return
    for obj in session.deleted:
        if _guarded(obj):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} rows are never deleted")
    for obj in session.dirty:
        if _guarded(obj) and _changes(obj):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} rows are never changed")


def _erases_only(model: type, statement) -> bool:
    """A bulk UPDATE that only sets encrypted columns to NULL (retention's erasure)."""
    fields = model.__encrypted__.values()
    attributes, columns = {f.storage for f in fields}, {f.name for f in fields}
    values = getattr(statement, "_values", None) or {}
    if not values or getattr(statement, "_multi_values", None) or getattr(
            statement, "_ordered_values", None):
        return False
    for key, value in values.items():
        if not (key in attributes if isinstance(key, str) else (
                getattr(key, "table", None) is model.__table__ and key.name in columns)):
            return False
        if not (isinstance(value, sa.sql.elements.Null) or (
                isinstance(value, sa.sql.elements.BindParameter) and value.value is None)):
            return False
    return True


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state) -> None:
    if not (state.is_update or state.is_delete) or state.session.info.get(PURGE):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ not in _MODELS:
        return
    if state.is_delete or not _erases_only(mapper.class_, state.statement):
        raise AppendOnlyViolation(
            f"{mapper.class_.__tablename__} rows are never changed or deleted in bulk")


@sa.event.listens_for(Session, "after_transaction_end")
def _end_purge(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(PURGE, None)
