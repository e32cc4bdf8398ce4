"""The form to attach a document: the file (a scan or the tablet's camera), its kind, its
expiry date."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField
from wtforms.validators import Optional

from app.core.forms import FrenchDateField
from app.documents.services import KIND_LABELS
from app.orientation.forms import options

ACCEPT = "application/pdf,image/jpeg,image/png"


class DocumentForm(FlaskForm):
    file = FileField(_l("Fichier (PDF, JPEG ou PNG)"),
                     render_kw={"accept": ACCEPT, "capture": True})
    kind = SelectField(_l("Type de document"), choices=options(KIND_LABELS, blank=_l("Choisir…")))
    expires_on = FrenchDateField(_l("Valable jusqu'au (facultatif)"), validators=[Optional()],
                                 description=_l("Au format JJ/MM/AAAA."))
