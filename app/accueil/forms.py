"""Accueil forms: search, identity, visit with its needs, break the glass, merge."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.core.enums import (
    ANSWERED_ACTION_LABELS,
    CHANNEL_LABELS,
    NEED_OUTCOME_LABELS,
    OUTCOME_LABELS,
)
from app.core.forms import DataRequired, FrenchDateField, MultiCheckboxField


def _options(labels: dict, blank: object | None = None) -> list[SelectChoice]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(code), label) for code, label in labels.items()]


class SearchForm(FlaskForm):
    """Sent by POST: a person's name never travels in a URL (history, proxies, Referer)."""

    q = SearchField(_l("Nom, prénom ou numéro d'accueil"), validators=[DataRequired(), Length(max=200)],
                    render_kw={"autofocus": True, "autocomplete": "off"})
    birth_date = FrenchDateField(_l("Date de naissance (facultatif)"), validators=[Optional()])


class PersonForm(FlaskForm):
    anonymous = BooleanField(_l("La personne souhaite rester anonyme"))
    pseudonym = StringField(_l("Pseudonyme (si anonyme)"), validators=[Optional(), Length(max=60)])
    first_name = StringField(_l("Prénom"), validators=[Optional(), Length(max=100)],
                             render_kw={"autocomplete": "off"})
    last_name = StringField(_l("Nom"), validators=[Optional(), Length(max=100)],
                            render_kw={"autocomplete": "off"})
    birth_name = StringField(_l("Nom de naissance"), validators=[Optional(), Length(max=100)],
                             render_kw={"autocomplete": "off"})
    birth_date = FrenchDateField(_l("Date de naissance"), validators=[Optional()])
    phone = TelField(_l("Téléphone"), validators=[Optional(), Length(max=30)],
                     render_kw={"autocomplete": "off"})
    email = EmailField(_l("Adresse électronique"), validators=[Optional(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    address = TextAreaField(_l("Adresse"), validators=[Optional(), Length(max=300)],
                            render_kw={"rows": 2, "autocomplete": "off"})
    confirm_duplicate = HiddenField()


class PersonEditForm(PersonForm):
    anonymous = None


class NeedForm(FlaskForm):
    """One domain of the needs assessment: a toggle, an "urgent" switch, what follows, a note."""

    class Meta:
        csrf = False

    domain = HiddenField()
    selected = BooleanField(_l("Besoin identifié"))
    urgent = BooleanField(_l("Urgent"))
    outcome = RadioField(_l("Suite pour ce besoin"), default="answered",
                         choices=_options({k: v for k, v in NEED_OUTCOME_LABELS.items()
                                           if k != "oriented"}))
    note = StringField(_l("Précision (facultatif)"), validators=[Optional(), Length(max=2000)])


class VisitForm(FlaskForm):
    channel = RadioField(_l("Canal"), choices=_options(CHANNEL_LABELS), default="in_person")
    summary = TextAreaField(_l("Résumé de l'échange (facultatif)"),
                            validators=[Optional(), Length(max=10_000)], render_kw={"rows": 3})
    # One entry per domain, in Domain's order (accueil.views fills them).
    needs = FieldList(FormField(NeedForm), min_entries=0, max_entries=12)
    answered_actions = MultiCheckboxField(_l("Ce qui a été fait sur place"),
                                          choices=_options(ANSWERED_ACTION_LABELS))
    next_steps = TextAreaField(
        _l("Prochaines étapes et documents à apporter (figurent sur le récapitulatif)"),
        validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})


class BreakGlassForm(FlaskForm):
    reason = TextAreaField(
        _l("Raison de l'accès"), validators=[DataRequired(), Length(max=500)],
        description=_l("Cet accès exceptionnel est limité à 24 heures, enregistré et contrôlé par les coordinateurs."),
        render_kw={"rows": 3})


class MergeForm(FlaskForm):
    other = StringField(_l("Numéro d'accueil du doublon à fusionner dans ce dossier"),
                        validators=[DataRequired(), Length(max=20)],
                        description=_l("Par exemple A-2026-000123. Les passages du doublon rejoindront ce dossier ; la fusion peut être annulée pendant 30 jours."))
    confirm = HiddenField()


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("Suite donnée"), choices=_options(OUTCOME_LABELS))
