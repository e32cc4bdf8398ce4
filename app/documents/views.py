"""The pages of the person's documents: attach one (a scan or the tablet's camera), download
one, delete one. Load → check → act, as everywhere (``app.core.spine``)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.accueil.models import Person
from app.core import spine
from app.core.errors import ServiceError, handle_http_exception, json_error, wants_json
from app.core.forms import ConfirmForm
from app.core.permissions import access
from app.core.spine import act, get_visible_or_404
from app.documents import services
from app.documents.forms import DocumentForm
from app.documents.models import Document
from app.documents.presenters import attachment

bp = Blueprint("documents", __name__, template_folder="templates")

# The routes that receive a file: their body may reach the document size limit (and a little
# more for the form around it), beyond the application's usual limit.
UPLOAD_ENDPOINTS = frozenset({"documents.new", "api_documents.attach"})
FORM_OVERHEAD = 64 * 1024


def allow_upload_size() -> None:
    """Before any other request hook reads the body (the CSRF check does): the upload routes
    accept a body up to the document limit."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = services.max_bytes() + FORM_OVERHEAD


def too_large(error: RequestEntityTooLarge):
    """A file beyond the limit: a clear message, never the bare 413 page. The API answers 413
    ``payload_too_large`` with the message; the page goes back to its form, the message shown."""
    if request.endpoint not in UPLOAD_ENDPOINTS:
        return handle_http_exception(error)
    message = services.too_large_message()
    if wants_json():
        return json_error(413, "payload_too_large", message, {"file": [message]})
    flash(message, "error")
    person_id = (request.view_args or {}).get("person_id")
    return redirect(url_for("documents.new", person_id=person_id)
                    if person_id else url_for("home.index"))


@bp.route("/persons/<uuid:person_id>/documents/new", methods=["GET", "POST"])
@access("document.attach")
def new(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "document.attach")
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read() if upload is not None and hasattr(upload, "read") else None
        try:
            services.attach(person, filename=getattr(upload, "filename", None), data=data,
                            kind=form.kind.data, expires_on=form.expires_on.data,
                            actor=current_user)
        except ServiceError as error:
            spine.refuse(error, form)
        else:
            # No file name: the session cookie is signed, not encrypted.
            flash(_("Document ajouté au dossier, chiffré. Il ne sera transmis à une structure "
                    "que si la personne le choisit lors d'une orientation."), "success")
            return redirect(url_for("accueil.person", person_id=person.id, _anchor="documents-title"))
    return render_template("documents/new.html", form=form, person=person,
                           max_label=services.size_label(services.max_bytes()))


@bp.route("/documents/<uuid:document_id>/download")
@access("document.read")
def download(document_id: uuid.UUID):
    document = get_visible_or_404(Document, document_id, "document.read")
    return attachment(document, services.download(document, current_user))


@bp.route("/documents/<uuid:document_id>/delete", methods=["POST"])
@access("document.delete")
def delete(document_id: uuid.UUID):
    document = get_visible_or_404(Document, document_id, "document.delete")
    person_id = document.person_id
    return act(document, ConfirmForm(), lambda d, _f: services.delete(d, current_user),
               _("Document supprimé du dossier. Les structures ne peuvent plus le télécharger."),
               back=lambda _d: url_for("accueil.person", person_id=person_id,
                                       _anchor="documents-title"))
