"""Orientation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SearchField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.core.enums import DOMAIN_LABELS
from app.core.forms import DataRequired, FrenchDateField, MultiCheckboxField

SHARE_LABELS = {
    "first_name": _l("Prénom"), "last_name": _l("Nom"), "birth_date": _l("Date de naissance"),
    "phone": _l("Téléphone"), "email": _l("Adresse électronique"), "address": _l("Adresse"),
    "needs": _l("Besoins identifiés lors du passage"),
}
REFUSAL_LABELS = {
    "not_competent": _l("Hors de nos compétences"),
    "outside_territory": _l("Hors de notre territoire"),
    "already_followed": _l("Personne déjà suivie ailleurs"),
    "unreachable": _l("Personne injoignable"),
    "declined_by_person": _l("La personne a décliné"),
    "no_capacity": _l("Pas de place disponible"),
    "other": _l("Autre raison"),
    "missed_appointments": _l("La personne n'est pas venue à deux rendez-vous"),
}


def options(labels: dict, blank=None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(str(k), v) for k, v in labels.items()]


class OrientationForm(FlaskForm):
    domain = SelectField(_l("Domaine"), choices=options(DOMAIN_LABELS))
    structure_id = SelectField(_l("Structure partenaire"), choices=[], validate_choice=False)
    referent_id = SelectField(_l("Référent souhaité (facultatif)"), choices=[],
                              validate_choice=False)
    motive = TextAreaField(_l("Motif de l'orientation"), validators=[
        DataRequired(message=_l("Indiquez le motif de l'orientation.")), Length(max=5000)],
                           render_kw={"rows": 4})
    coverage_override = TextAreaField(
        _l("Raison du choix d'une structure qui ne couvre pas ce domaine"),
        validators=[Optional(), Length(max=500)], render_kw={"rows": 2})
    consent_given = BooleanField(_l("La personne est d'accord pour cette orientation et pour le partage des informations cochées"))
    # The needs are chosen one by one below (shared_needs), not as one block.
    shared_fields = MultiCheckboxField(_l("Informations partagées avec la structure"),
                                       choices=options({k: v for k, v in SHARE_LABELS.items()
                                                        if k != "needs"}))
    shared_needs = MultiCheckboxField(_l("Besoins partagés avec la structure"), choices=[],
                                      validate_choice=False)
    # The person's documents (app/documents, through orientation.sharing), chosen one by one.
    shared_documents = MultiCheckboxField(_l("Documents que la structure pourra télécharger"),
                                          choices=[], validate_choice=False)
    accepts_redirect = BooleanField(_l("La personne accepte que l'orientation et ces informations soient transmises à une autre structure si celle-ci la réoriente"))
    consent_purpose = TextAreaField(_l("Dans quel but (dit à la personne)"),
                                    validators=[Optional(), Length(max=500)], render_kw={"rows": 2})
    visit_id = HiddenField()


class ConsentForm(FlaskForm):
    """The sender asks the person again after a redirect they had not accepted."""
    consent_given = OrientationForm.consent_given
    shared_fields = OrientationForm.shared_fields
    shared_needs = OrientationForm.shared_needs
    shared_documents = OrientationForm.shared_documents
    accepts_redirect = OrientationForm.accepts_redirect
    consent_purpose = OrientationForm.consent_purpose


class InboxSearchForm(FlaskForm):
    """Sent by POST, like the person search: a name never travels in a URL."""

    q = SearchField(_l("Nom, prénom ou numéro d'accueil"),
                    validators=[DataRequired(), Length(max=200)],
                    render_kw={"autocomplete": "off"})


class TakeChargeForm(FlaskForm):
    first_appointment_on = FrenchDateField(_l("Date du premier rendez-vous (facultatif)"),
                                           validators=[Optional()], description=_l("Au format JJ/MM/AAAA."))


class RefuseForm(FlaskForm):
    # "missed_appointments" is the code of a hand back after two missed appointments
    # (app/appointments), not a reason to choose here.
    reason_code = SelectField(_l("Motif du refus"), choices=options(
        {k: v for k, v in REFUSAL_LABELS.items() if k != "missed_appointments"}))
    # Own ids (the posted name stays "reason"): the refusal and the redirection forms share a
    # page, and two fields with one id would leave the second without its label.
    reason = TextAreaField(_l("Explication"), validators=[DataRequired(), Length(max=2000)],
                           id="refuse-reason", render_kw={"rows": 3})


class RedirectForm(FlaskForm):
    structure_id = SelectField(_l("Nouvelle structure"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Raison de la réorientation"),
                           validators=[DataRequired(), Length(max=2000)], id="redirect-reason",
                           render_kw={"rows": 3})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Raison"), validators=[DataRequired(), Length(max=2000)],
                           render_kw={"rows": 2})


class CloseForm(FlaskForm):
    outcome = TextAreaField(_l("Bilan de l'accompagnement"),
                            validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 3})


class ReferentForm(FlaskForm):
    user_id = SelectField(_l("Référent partenaire"), choices=[], validate_choice=False)
    domain = SelectField(_l("Pour le domaine"), choices=options(DOMAIN_LABELS, blank=_l("Tous les domaines")))
