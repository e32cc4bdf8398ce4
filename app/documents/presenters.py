"""How a document is shown: one plain line (kind, type, size, expiry), the consent step's
choices, and the list an orientation's page gives its reader."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, url_for
from flask_babel import gettext as _

from app.core.db import db
from app.documents.models import Document
from app.documents.scopes import visible_on_orientation
from app.documents.services import KIND_LABELS, TYPE_LABELS, person_documents, size_label


def describe(document: Document) -> str:
    """One line: kind, type, size and expiry, in plain French."""
    parts = [str(KIND_LABELS.get(document.kind, document.kind)),
             TYPE_LABELS.get(document.content_type, document.content_type),
             size_label(document.size)]
    if document.expires_on is not None:
        parts.append(_("valable jusqu'au %(d)s", d=document.expires_on.strftime("%d/%m/%Y")))
    return " — ".join(parts)


def is_expired(document: Document, today: date | None = None) -> bool:
    return document.expires_on is not None and document.expires_on < (today or date.today())


def share_choices(person: Any) -> list[tuple[str, str]]:
    """The consent step's choices: every document of the person, none ticked by default."""
    return [(str(d.id), f"{d.filename} ({describe(d)})") for d in person_documents(person)]


def listing(orientation: Any, user: Any) -> list[dict[str, Any]]:
    """The orientation's shared documents this reader downloads, for its page."""
    query = visible_on_orientation(user, orientation)
    if query is None:
        return []
    return [{"id": d.id, "label": d.filename, "details": describe(d),
             "url": url_for("documents.download", document_id=d.id)}
            for d in db.session.scalars(query)]


def attachment(document: Document, data: bytes) -> Response:
    """A download: as an attachment, its sniffed type, never sniffed again nor cached."""
    response = Response(data, mimetype=document.content_type)
    response.headers.set("Content-Disposition", "attachment",
                         filename=document.filename or f"document-{document.id}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
