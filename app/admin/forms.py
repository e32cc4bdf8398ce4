"""Administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.enums import DOMAIN_LABELS, ROLE_LABELS, SITE_KIND_LABELS, STRUCTURE_KIND_LABELS, choices
from app.core.forms import MultiCheckboxField


class SiteForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Type de site"), choices=choices(SITE_KIND_LABELS))
    territory = StringField(_l("Territoire"), validators=[DataRequired(), Length(max=100)])
    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=40)])
    opening_hours = StringField(_l("Horaires d'ouverture"), validators=[Optional(), Length(max=300)])


class StructureForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Type de structure"), choices=choices(STRUCTURE_KIND_LABELS))
    domains = MultiCheckboxField(_l("Domaines couverts"), choices=choices(DOMAIN_LABELS))
    territories = StringField(
        _l("Territoires"), validators=[DataRequired(), Length(max=500)],
        description=_l("Séparés par des virgules, par exemple : Valence, Drôme Nord"),
    )
    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=300)])
    siret = StringField(
        _l("SIRET (facultatif)"), validators=[Optional(), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
        description=_l("14 chiffres. Sert à reconnaître la structure annoncée par ProConnect à "
                       "la connexion d'un agent."))
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=40)])
    contact_email = EmailField(_l("Adresse électronique de contact"),
                               validators=[Optional(), Length(max=254)])
    head_contact_email = EmailField(
        _l("Adresse électronique de la direction"), validators=[Optional(), Length(max=254)],
        description=_l("Prévenue quand un coordinateur signale une orientation bloquée."))
    opening_hours = StringField(_l("Horaires d'ouverture"), validators=[Optional(), Length(max=300)])
    ack_delay = IntegerField(
        _l("Délai d'accusé de réception (jours ouvrés)"),
        validators=[Optional(), NumberRange(min=1, max=60)],
        description=_l("Laisser vide pour le délai par défaut (2 jours ouvrés)."),
    )
    take_charge_delay = IntegerField(
        _l("Délai de prise en charge (jours ouvrés)"),
        validators=[Optional(), NumberRange(min=1, max=120)],
        description=_l("Laisser vide pour le délai par défaut (22 jours ouvrés)."),
    )


class UserEditForm(FlaskForm):
    display_name = StringField(_l("Nom affiché"), validators=[DataRequired(), Length(max=120)])
    site = SelectField(_l("Site (agents d'accueil, référents de parcours)"), choices=[])
    structure = SelectField(_l("Structure (référents partenaires)"), choices=[])
    territory = StringField(_l("Territoire (coordinateurs)"), validators=[Optional(), Length(max=100)])


class UserCreateForm(UserEditForm):
    email = EmailField(_l("Adresse électronique"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Rôle"), choices=choices(ROLE_LABELS))


class CharterForm(FlaskForm):
    text = TextAreaField(_l("Texte de la nouvelle version"), validators=[DataRequired()],
                         description=_l("Titres : une ligne commençant par « # ». Paragraphes séparés par une ligne vide."),
                         render_kw={"rows": 20})


class ContactAccountForm(FlaskForm):
    display_name = StringField(_l("Nom affiché"), validators=[Optional(), Length(max=120)],
                               description=_l("Laisser vide pour reprendre le nom de la structure."))
