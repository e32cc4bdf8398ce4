"""The person's documents: attach, read, delete, share with an orientation, export, purge.

A file is accepted by what it is, not by what it says it is: its type is sniffed from its bytes
(libmagic, through python-magic) and must be PDF, JPEG or PNG; a name whose extension says
another of these types is refused (a PNG renamed ``.pdf``); the size is limited by
``PASSERELLE_DOCUMENT_MAX_BYTES``. Images are decoded and re-encoded by Pillow, which drops their
metadata (EXIF, GPS position, camera, comments) and turns them upright. The bytes are then
sealed under a data key of the document's own (``app.core.crypto``), the data key wrapped by the
key ring, and handed to the storage (``storage.py``) in the caller's transaction.

Every read of a document's content is audited (``document.download``, with the person's id: it
shows in the person's access log), as are attaching and deleting.
"""

from __future__ import annotations

import base64
import io
import uuid
import warnings
from datetime import date
from typing import Any

import magic
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from app.core import audit
from app.core.crypto import new_data_key, open_bytes, seal_bytes
from app.core.db import db, utcnow
from app.core.errors import ServiceError, ValidationFailed
from app.core.permissions import can
from app.core.validation import FieldErrors
from app.documents.models import KINDS, Document, OrientationDocument
from app.documents.scopes import documents_of_person
from app.documents.storage import store

KIND_LABELS = {
    "identity": _l("Pièce d'identité"),
    "income": _l("Justificatif de ressources"),
    "address": _l("Justificatif de domicile"),
    "eviction": _l("Avis d'expulsion"),
    "other": _l("Autre document"),
}
TYPE_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# What a name's extension claims: a name that claims one of our types must hold that type.
_CLAIMED = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg",
            "png": "image/png"}
MAX_FILENAME = 200
MAX_PIXELS = 60_000_000  # a 60-megapixel photo is already far beyond a tablet's camera


def max_bytes() -> int:
    return int(current_app.config["PASSERELLE_DOCUMENT_MAX_BYTES"])


def size_label(size: int) -> str:
    """A size in plain French units (Ko, Mo)."""
    if size >= 1024 * 1024:
        return _("%(n)s Mo", n=f"{size / (1024 * 1024):.1f}".replace(".", ","))
    return _("%(n)s Ko", n=max(1, round(size / 1024)))


def too_large_message() -> str:
    return _("Le fichier dépasse la taille maximale de %(max)s : scannez-le en moins haute "
             "résolution ou en noir et blanc, ou photographiez chaque page séparément.",
             max=size_label(max_bytes()))


def sniff(data: bytes) -> str:
    """The type of ``data`` read from its bytes (libmagic), e.g. ``application/pdf``."""
    return magic.from_buffer(data[:65536], mime=True)


def _clean_name(errors: FieldErrors, filename: Any, content_type: str | None) -> str:
    name = filename if isinstance(filename, str) else ""
    name = "".join(ch for ch in name.replace("\\", "/").rsplit("/", 1)[-1]
                   if ch.isprintable()).strip()[:MAX_FILENAME]
    stem, dot, extension = name.rpartition(".")
    claimed = _CLAIMED.get(extension.lower()) if dot else None
    if content_type is not None and claimed is not None and claimed != content_type:
        errors.add("file", _("Ce fichier n'est pas un %(claimed)s : son contenu est "
                             "un %(actual)s. Vérifiez que c'est le bon fichier, ou renommez-le "
                             "avec l'extension .%(ext)s.",
                             claimed=TYPE_LABELS[claimed],
                             actual=TYPE_LABELS[content_type], ext=EXTENSIONS[content_type]))
    if content_type is not None and claimed is None:  # no name, or no known extension
        name = f"{(stem if dot else name) or _('document')}.{EXTENSIONS[content_type]}"
    return name


def reencode_image(data: bytes, content_type: str) -> bytes:
    """The image decoded and encoded again, without any of its metadata (EXIF, GPS, comments,
    ICC profile), turned upright as its EXIF orientation said. ``ValidationFailed`` when it
    does not decode."""
    refused = ValidationFailed(_("Le fichier n'a pas pu être lu comme une image."),
                               fields={"file": [_("Cette image est illisible ou abîmée : "
                                                  "photographiez ou scannez le document à "
                                                  "nouveau.")]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                if source.width * source.height > MAX_PIXELS:
                    raise refused
                source.load()
                image = ImageOps.exif_transpose(source)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise refused from exc
    out = io.BytesIO()
    if content_type == "image/jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90, optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _aad(document_id: Any) -> str:
    return f"documents:content:{document_id}"


def seal_content(document_id: Any, data_key: bytes, plain: bytes) -> bytes:
    """The bytes handed to the storage for this document: ``plain`` sealed under its data key,
    bound to its id (``demo generate`` seals its documents with this, as ``attach`` does)."""
    return seal_bytes(data_key, plain, _aad(document_id))


def attach(person: Any, *, filename: Any, data: Any, kind: Any, expires_on: Any,
           actor: Any) -> Document:
    """Attach a file to the person's file; refused (422, by field) when its type, size, kind or
    date is wrong."""
    errors = FieldErrors()
    if kind not in KINDS:
        errors.add("kind", _("Choisissez le type de document."))
    if expires_on is not None and not isinstance(expires_on, date):
        errors.add("expires_on", _("Date invalide : écrivez-la au format JJ/MM/AAAA."))
    content_type = None
    if not isinstance(data, bytes | bytearray) or not data:
        errors.add("file", _("Choisissez un fichier (PDF, JPEG ou PNG)."))
    elif len(data) > max_bytes():
        errors.add("file", too_large_message())
    else:
        sniffed = sniff(bytes(data))
        if sniffed in TYPE_LABELS:
            content_type = sniffed
        else:
            errors.add("file", _("Ce type de fichier n'est pas accepté : seuls les PDF, JPEG et "
                                 "PNG le sont (photo ou scan du document)."))
    name = _clean_name(errors, filename, content_type)
    if getattr(person, "merged_into_id", None) is not None:
        errors.add("person_id", _("Ce dossier a été fusionné : ajoutez le document au dossier "
                                  "conservé."))
    errors.raise_if_any()
    plain = bytes(data)
    if content_type in ("image/jpeg", "image/png"):
        plain = reencode_image(plain, content_type)
    document = Document(id=uuid.uuid4(), person_id=person.id, kind=kind,
                        content_type=content_type, size=len(plain), expires_on=expires_on,
                        uploaded_at=utcnow(), uploaded_by_id=getattr(actor, "id", None))
    key = new_data_key()
    document.filename = name
    document.data_key = base64.b64encode(key).decode("ascii")
    storage = store(document.storage)
    db.session.add(document)
    db.session.flush()
    storage.put(document.id, seal_content(document.id, key, plain))
    audit.record("document.attach", actor=actor, object_type="document", object_id=document.id,
                 person_id=person.id, details={"kind": kind, "type": content_type,
                                               "size": len(plain)})
    return document


def content(document: Document) -> bytes:
    """The plaintext bytes of the document (no audit: the callers' business)."""
    key = base64.b64decode(document.data_key)
    return open_bytes(key, store(document.storage).get(document.id), _aad(document.id))


def download(document: Document, actor: Any) -> bytes:
    """The document's bytes for ``actor`` (whose access the caller checked), audited: the read
    shows in the person's access log."""
    data = content(document)
    audit.record("document.download", actor=actor, object_type="document",
                 object_id=document.id, person_id=document.person_id,
                 details={"kind": document.kind})
    return data


def read_metadata(document: Document, actor: Any) -> Document:
    audit.record("document.read", actor=actor, object_type="document", object_id=document.id,
                 person_id=document.person_id)
    return document


def delete(document: Document, actor: Any) -> None:
    """Delete the document, its bytes and its shares; audited."""
    person_id, document_id = document.person_id, document.id
    _delete_rows([document_id], document.storage)
    audit.record("document.delete", actor=actor, object_type="document", object_id=document_id,
                 person_id=person_id)


def _delete_rows(ids: list[Any], storage_name: str | None = None) -> None:
    if not ids:
        return
    names = dict(db.session.execute(sa.select(Document.id, Document.storage)
                                    .where(Document.id.in_(ids))).all())
    db.session.execute(sa.delete(OrientationDocument).where(
        OrientationDocument.document_id.in_(ids)).execution_options(synchronize_session=False))
    for document_id in ids:
        store(names.get(document_id) or storage_name or "database").delete(document_id)
    # ORM-enabled: the rows loaded in this session are marked deleted too.
    db.session.execute(sa.delete(Document).where(Document.id.in_(ids)))


def purge_person(person_id: Any) -> int:
    """Delete every document of the person (retention); returns how many."""
    ids = list(db.session.scalars(sa.select(Document.id).where(Document.person_id == person_id)))
    _delete_rows(ids)
    return len(ids)


def metadata(document: Document) -> dict[str, Any]:
    """What the API and the export tell of a document (never its key)."""
    return {"id": document.id, "person_id": document.person_id, "kind": document.kind,
            "filename": document.filename, "content_type": document.content_type,
            "size": document.size, "expires_on": document.expires_on,
            "uploaded_at": document.uploaded_at, "uploaded_by_id": document.uploaded_by_id}


# -- sharing at an orientation's consent (registered with orientation.sharing) ------------------
def person_documents(person: Any) -> list[Document]:
    return list(db.session.scalars(documents_of_person(person)))


def clean_share(errors: FieldErrors, person: Any, value: Any, actor: Any = None) -> list[str]:
    """The documents chosen: the person's own, by id; absent or empty: none. Only an ``actor``
    who may list the person's documents (``document.list``: the whole file) shares any; None is
    the system (commands, the demo)."""
    if value in (None, "") or value == []:
        return []
    if actor is not None and (person is None or not can(actor, "document.list", person)):
        errors.add("consent.shared_documents", _("Vous ne pouvez pas partager les documents de "
                                                 "cette personne : seul un agent qui ouvre tout "
                                                 "son dossier le peut."))
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add("consent.shared_documents", _("Donnez la liste des identifiants des documents "
                                                 "partagés."))
        return []
    own = {str(i) for i in db.session.scalars(sa.select(Document.id).where(
        Document.person_id == person.id))} if person is not None else set()
    chosen = []
    for raw in value:
        try:
            cleaned = str(uuid.UUID(raw))
        except ValueError:
            cleaned = None
        if cleaned is None or cleaned not in own:
            errors.add("consent.shared_documents", _("Ce document n'appartient pas au dossier de "
                                                     "la personne."))
            return []
        if cleaned not in chosen:
            chosen.append(cleaned)
    return chosen


def save_share(orientation: Any, values: list[str], actor: Any) -> None:
    """Record the documents shared with the orientation (those already there stay)."""
    if not values:
        return  # nothing to add (a new orientation sharing no document: no query)
    present = {str(i) for i in db.session.scalars(sa.select(OrientationDocument.document_id)
                                                  .where(OrientationDocument.orientation_id
                                                         == orientation.id))}
    for value in values:
        if value not in present:
            db.session.add(OrientationDocument(orientation_id=orientation.id,
                                               document_id=uuid.UUID(value), shared_at=utcnow()))
    if values:
        audit.record("document.share", actor=actor, object_type="orientation",
                     object_id=orientation.id, person_id=orientation.person_id,
                     details={"documents": len(values)})


def carry_share(old: Any, new: Any) -> None:
    save_share(new, shared_ids(old), None)


def shared_ids(orientation: Any) -> list[str]:
    return [str(i) for i in db.session.scalars(
        sa.select(OrientationDocument.document_id)
        .where(OrientationDocument.orientation_id == orientation.id)
        .order_by(OrientationDocument.shared_at, OrientationDocument.document_id))]


# -- the person's record (RGPD access right) ---------------------------------------------------
def export_documents(person: Any) -> list[dict[str, Any]]:
    """Every document with its content, base64-encoded, and the orientations it was shared
    with."""
    rows = person_documents(person)
    shares: dict[Any, list[Any]] = {}
    if rows:
        for document_id, orientation_id in db.session.execute(
                sa.select(OrientationDocument.document_id, OrientationDocument.orientation_id)
                .where(OrientationDocument.document_id.in_([d.id for d in rows]))):
            shares.setdefault(document_id, []).append(orientation_id)
    return [{**metadata(d), "shared_with_orientations": shares.get(d.id, []),
             "content_base64": base64.b64encode(content(d)).decode("ascii")} for d in rows]


def refuse_too_large() -> ServiceError:
    """The refusal of a request whose body is beyond the limit (HTTP 413)."""
    return ServiceError(too_large_message(), fields={"file": [too_large_message()]},
                        code="payload_too_large", status=413)
