"""The person's documents: attached by the reception agent, downloaded by the partner the person
chose to share them with. The same services and rules as the pages (``app.documents``)."""

from __future__ import annotations

import uuid
from datetime import date

from flask import request
from flask_login import current_user
from marshmallow import fields

from app.accueil.models import Person
from app.api.base import Blueprint, StrictSchema
from app.core import audit
from app.core.db import db
from app.core.permissions import access
from app.core.spine import get_visible_or_404
from app.documents import services
from app.documents.models import CONTENT_TYPES, KINDS, Document
from app.documents.presenters import attachment
from app.documents.scopes import documents_of_person, visible_on_orientation
from app.orientation.models import Orientation

blp = Blueprint("api_documents", __name__, url_prefix="/api/v1", description="Documents")


class DocumentSchema(StrictSchema):
    id = fields.UUID()
    person_id = fields.UUID()
    kind = fields.String(metadata={"enum": list(KINDS)})
    filename = fields.String()
    content_type = fields.String(metadata={"enum": list(CONTENT_TYPES),
                                           "description": "sniffed from the content"})
    size = fields.Integer(metadata={"description": "bytes (images: after re-encoding)"})
    expires_on = fields.Date(allow_none=True)
    uploaded_at = fields.DateTime()
    uploaded_by_id = fields.UUID(allow_none=True)


UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "kind"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "PDF, JPEG or PNG (checked by content), at most "
                                "PASSERELLE_DOCUMENT_MAX_BYTES (default 10 MB); images are "
                                "re-encoded without their metadata"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "expires_on": {"type": "string", "format": "date"},
    }}}}}
BINARY = {"content": {t: {"schema": {"type": "string", "format": "binary"}}
                      for t in CONTENT_TYPES}}


def _date(raw: str | None):
    """A date of the form, or the raw text for the service to refuse; None when empty."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return raw


@blp.route("/persons/<uuid:person_id>/documents", methods=["GET"])
@access("document.list")
@blp.response(200, DocumentSchema(many=True))
def list_documents(person_id: uuid.UUID):
    """The person's documents, newest first (whoever opens the whole file)."""
    person = get_visible_or_404(Person, person_id, "document.list")
    rows = list(db.session.scalars(documents_of_person(person)))
    audit.record("document.list", actor=current_user, object_type="person", object_id=person.id,
                 person_id=person.id)
    return [services.metadata(d) for d in rows]


@blp.route("/persons/<uuid:person_id>/documents", methods=["POST"])
@access("document.attach")
@blp.doc(requestBody=UPLOAD_BODY)
@blp.response(201, DocumentSchema)
@blp.alt_response(413, schema="Error", description="The file is beyond the size limit")
@blp.alt_response(422, schema="Error", description="Not a PDF, JPEG or PNG; a name whose "
                  "extension says another type; a wrong kind or date")
def attach(person_id: uuid.UUID):
    """Attach a document (multipart/form-data: ``file``, ``kind``, ``expires_on``)."""
    person = get_visible_or_404(Person, person_id, "document.attach")
    upload = request.files.get("file")
    document = services.attach(
        person, filename=upload.filename if upload else None,
        data=upload.read() if upload else None, kind=request.form.get("kind"),
        expires_on=_date(request.form.get("expires_on")), actor=current_user)
    db.session.flush()
    return services.metadata(document)


@blp.route("/documents/<uuid:document_id>", methods=["GET"])
@access("document.read")
@blp.response(200, DocumentSchema)
def read(document_id: uuid.UUID):
    """A document's description: the file's agents, or the partner it was shared with (else
    404)."""
    document = get_visible_or_404(Document, document_id, "document.read")
    return services.metadata(services.read_metadata(document, current_user))


@blp.route("/documents/<uuid:document_id>/content", methods=["GET"])
@access("document.read")
@blp.doc(responses={"200": {"description": "The file, as an attachment, never cached",
                            **BINARY}})
def content(document_id: uuid.UUID):
    """Download the document (audited: it shows in the person's access log). A partner gets
    only the documents the person shared with an orientation to their structure that still
    shares the person; any other answers 404."""
    document = get_visible_or_404(Document, document_id, "document.read")
    return attachment(document, services.download(document, current_user))


@blp.route("/documents/<uuid:document_id>", methods=["DELETE"])
@access("document.delete")
@blp.response(204)
def delete_document(document_id: uuid.UUID):
    """Delete a document, its bytes and its shares (the reception agent)."""
    document = get_visible_or_404(Document, document_id, "document.delete")
    services.delete(document, current_user)


@blp.route("/orientations/<uuid:orientation_id>/documents", methods=["GET"])
@access("orientation.read")
@blp.response(200, DocumentSchema(many=True))
def orientation_documents(orientation_id: uuid.UUID):
    """The documents the person shared with this orientation's structure, as far as the caller
    downloads them (the partner while the orientation shares the person; the file's agents)."""
    orientation = get_visible_or_404(Orientation, orientation_id, "orientation.read")
    query = visible_on_orientation(current_user, orientation)
    rows = [] if query is None else list(db.session.scalars(query))
    audit.record("document.list", actor=current_user, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id)
    return [services.metadata(d) for d in rows]
