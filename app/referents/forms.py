"""Parcours forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from app.core.forms import DataRequired, FrenchDateField
from app.orientation.forms import options

KIND_LABELS = {"meeting": _l("Réunion"), "call": _l("Appel"), "decision": _l("Décision"),
               "alert": _l("Alerte"), "note": _l("Note")}
VISIBILITY_LABELS = {"members": _l("Tous les membres"), "referent": _l("Le référent seulement")}
PRESENCE_LABELS = {"present": _l("présente"), "represented": _l("représentée"),
                   "absent": _l("absente")}
OUTCOME_LABELS = {"resolved": _l("Situation résolue"),
                  "partially_resolved": _l("Situation en partie résolue"),
                  "moved": _l("La personne a déménagé"),
                  "ended_by_person": _l("Arrêt à la demande de la personne"),
                  "other": _l("Autre")}


class ParcoursForm(FlaskForm):
    referent_id = SelectField(_l("Référent de parcours"), choices=[], validate_choice=False)
    member_ids = SelectMultipleField(_l("Membres (professionnels des structures concernées)"),
                                     choices=[], validate_choice=False,
                                     render_kw={"size": 8})
    members_reason = TextAreaField(
        _l("Pourquoi associer des structures vers lesquelles la personne n'a pas été orientée"),
        validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
    goals = TextAreaField(_l("Objectifs convenus avec la personne"),
                          validators=[Optional(), Length(max=10_000)], render_kw={"rows": 4})
    consent_given = BooleanField(_l("La personne est d'accord pour ce parcours et le partage d'informations entre ses membres"))


class EntryForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=options(KIND_LABELS))
    visibility = SelectField(_l("Visible par"), choices=options(VISIBILITY_LABELS))
    happened_on = FrenchDateField(_l("Date"), validators=[Optional()],
                                  description=_l("Au format JJ/MM/AAAA."))
    person_present = SelectField(_l("La personne était (réunions)"),
                                 choices=options(PRESENCE_LABELS, blank=_l("— sans objet —")))
    content = TextAreaField(_l("Contenu"), validators=[DataRequired(), Length(max=10_000)],
                            render_kw={"rows": 4})
    corrects_id = HiddenField(validators=[Optional(), Length(max=36)])


class HandoverForm(FlaskForm):
    referent_id = SelectField(_l("Nouveau référent"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Raison du changement"), validators=[DataRequired(), Length(max=1000)],
                           render_kw={"rows": 2})


class MemberForm(FlaskForm):
    user_id = SelectField(_l("Professionnel"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Raison (si sa structure n'a pas reçu d'orientation)"),
                           validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})


class CloseParcoursForm(FlaskForm):
    outcome = SelectField(_l("Issue"), choices=options(OUTCOME_LABELS))
    note = TextAreaField(_l("Commentaire (facultatif)"), validators=[Optional(), Length(max=2000)],
                         render_kw={"rows": 2})
