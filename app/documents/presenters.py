"""How a document is shown: one plain line (kind, type, size, expiry), the consent step's
choices, and the list an orientation's page gives its reader."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any
from urllib.parse import quote

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


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "’": "'"})


def disposition_names(name: str, fallback: str) -> dict[str, str]:
    """The ``Content-Disposition`` parameters of a download named ``name``, as Werkzeug's
    ``send_file`` writes them (it has no helper of its own to call): the name itself when it is
    ASCII; otherwise an ASCII ``filename`` (accents dropped; ``fallback`` when nothing is left,
    an Arabic name) and the whole name in ``filename*`` (RFC 6266, UTF-8 percent-encoded).
    A header must encode in Latin-1: ``’``, ``œ`` or Arabic raw in it made gunicorn answer 500
    after the download's audit was written."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name.translate(_LIGATURES))
        simple = simple.encode("ascii", "ignore").decode("ascii")
        stem, dot, extension = simple.rpartition(".")
        if not (stem if dot else simple).strip(" ._-"):
            simple = f"{fallback}.{extension}" if dot and extension else fallback
        return {"filename": simple,
                "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"}
    return {"filename": name}


def attachment(document: Document, data: bytes) -> Response:
    """A download: as an attachment, its sniffed type, never sniffed again nor cached."""
    response = Response(data, mimetype=document.content_type)
    response.headers.set("Content-Disposition", "attachment", **disposition_names(
        document.filename or f"document-{document.id}", f"document-{document.id}"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
