"""The person's documents: what each is (kind, name, type, size, expiry), its data key wrapped by
the key ring, the sealed bytes (behind ``storage.py``), and which orientations share it.

A document's bytes are sealed (AES-256-GCM) under a data key drawn for that document alone;
the data key is an encrypted attribute (``data_key``), so it is wrapped by the key ring like
every field and re-wrapped by ``keys rotate`` without touching the sealed bytes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Encrypted, Model, utcnow

KINDS = ("identity", "income", "address", "eviction", "other")
CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
STORAGE_DATABASE = "database"


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Document(Model):
    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", KINDS), name="kind"),
        sa.CheckConstraint(_in("content_type", CONTENT_TYPES), name="content_type"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    filename = Encrypted()            # the name it was given (personal: "cni-dupont.pdf")
    content_type: Mapped[str] = mapped_column(sa.String(40))  # sniffed from the content
    size: Mapped[int]                 # bytes of the plaintext as stored (after re-encoding)
    expires_on: Mapped[date | None]
    data_key = Encrypted()            # base64 of the document's own AES-256 key, wrapped
    storage: Mapped[str] = mapped_column(sa.String(20), default=STORAGE_DATABASE)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))


class DocumentBlob(Model):
    """The database storage's row: the sealed bytes of one document, keyed by its id."""

    __tablename__ = "document_blobs"

    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class OrientationDocument(Model):
    """A document the person chose, at the consent step, to share with an orientation's
    structure."""

    __tablename__ = "orientation_documents"
    __table_args__ = (sa.UniqueConstraint("orientation_id", "document_id"),)

    orientation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orientations.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)
