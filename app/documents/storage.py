"""Where a document's sealed bytes live, behind a small interface: ``put`` / ``get`` / ``delete``
by the document's id. The bytes handed over are already sealed (``app.core.crypto.seal_bytes``):
a store never sees a plaintext, so an object store can be added later without changing what is
protected.

The default, ``DatabaseStorage``, keeps them in the table ``document_blobs`` of the application's
database, in the caller's transaction: one backup holds everything, and a document and its
bytes are written or rolled back together.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import sqlalchemy as sa

from app.core.db import db
from app.documents.models import STORAGE_DATABASE, DocumentBlob


class StorageError(Exception):
    """A store could not give back what it was asked for."""


class Storage(Protocol):
    name: str

    def put(self, blob_id: uuid.UUID, data: bytes) -> None: ...

    def get(self, blob_id: uuid.UUID) -> bytes: ...

    def delete(self, blob_id: uuid.UUID) -> None: ...


class DatabaseStorage:
    """Sealed bytes in ``document_blobs`` (PostgreSQL ``bytea``, SQLite ``BLOB``)."""

    name = STORAGE_DATABASE

    def put(self, blob_id: uuid.UUID, data: bytes) -> None:
        db.session.add(DocumentBlob(id=blob_id, data=data))

    def get(self, blob_id: uuid.UUID) -> bytes:
        data = db.session.scalar(sa.select(DocumentBlob.data).where(DocumentBlob.id == blob_id))
        if data is None:
            raise StorageError(f"no stored bytes for document {blob_id}")
        return bytes(data)

    def delete(self, blob_id: uuid.UUID) -> None:
        db.session.execute(sa.delete(DocumentBlob).where(DocumentBlob.id == blob_id)
                           .execution_options(synchronize_session=False))


_STORES: dict[str, Storage] = {STORAGE_DATABASE: DatabaseStorage()}


def store(name: str = STORAGE_DATABASE) -> Storage:
    """The store of this name (a document records the one its bytes went to)."""
    try:
        return _STORES[name]
    except KeyError:
        raise StorageError(f"unknown document storage {name!r}") from None
