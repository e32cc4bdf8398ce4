"""Administration forms."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional

from app.core.enums import DOMAIN_LABELS, ROLE_LABELS, SITE_KIND_LABELS, STRUCTURE_KIND_LABELS, choices
from app.core.forms import DataRequired, MultiCheckboxField
from app.core.names import normalise
from app.directory.services import similar_territory


class _Marked:
    """Marks a field "(obligatoire)" whose check is done elsewhere (resolve_territories)."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


class NewTerritoryMixin:
    """A territory is picked from the known ones; a new one is typed apart and confirmed, so that
    a typo never makes a territory (issue 24, item 15). ``resolve_territories`` checks both."""

    new_territory = StringField(
        _l("Nouveau territoire"), validators=[Optional(), Length(max=100)],
        description=_l("Seulement s'il n'est pas dans la liste : il sera proposé ensuite pour les "
                       "sites, les structures et les coordinateurs."))
    new_territory_confirmed = BooleanField(_l("Je confirme la création de ce nouveau territoire"))
    # The new name whose resemblance to a known territory was already shown (see resolve).
    new_territory_warned = HiddenField()


class SiteForm(NewTerritoryMixin, FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Type de site"), choices=choices(SITE_KIND_LABELS))
    territory = SelectField(_l("Territoire"), choices=[], validate_choice=False,
                            validators=[_Marked()])
    address = StringField(_l("Adresse"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=40)])
    opening_hours = StringField(_l("Horaires d'ouverture"), validators=[Optional(), Length(max=300)])


class StructureForm(NewTerritoryMixin, FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Type de structure"), choices=choices(STRUCTURE_KIND_LABELS))
    domains = MultiCheckboxField(_l("Domaines couverts"), choices=choices(DOMAIN_LABELS))
    territories = MultiCheckboxField(_l("Territoires"), choices=[], validate_choice=False)
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
    territory = SelectField(_l("Territoire (coordinateurs)"), choices=[], validate_choice=False,
                            description=_l("Un nouveau territoire se crée avec un site ou une "
                                           "structure."))


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


def territory_choices(known: list[str], empty: str | None = None) -> list[tuple[str, str]]:
    return ([("", empty)] if empty is not None else []) + [(t, t) for t in known]


def resolve_territories(form, known: list[str], field, several: bool = False) -> list[str] | None:
    """The territories the form names: those picked in ``field`` (each a known one) and the new
    one, typed apart. A new one must be confirmed; one that folds to a known name ("drome nord")
    is refused, one a letter away from a known one ("Valance") is shown and must be confirmed
    again. None when something is wrong (the errors are on the fields)."""
    picked = field.data if several else ([field.data] if field.data else [])
    picked = [t for t in (picked or []) if t]
    ok = True
    unknown = [t for t in picked if t not in known]
    if unknown:
        field.errors = list(field.errors) + [
            _("Territoire inconnu : « %(name)s ». Choisissez-le dans la liste, ou créez-le comme "
              "nouveau territoire.", name=unknown[0])]
        ok = False
    new = " ".join((form.new_territory.data or "").split())
    form.new_territory.data = new
    if new:
        same = similar_territory(new, known)
        if same and normalise(same).replace(" ", "") == normalise(new).replace(" ", ""):
            form.new_territory.errors = list(form.new_territory.errors) + [
                _("Ce territoire existe déjà : choisissez « %(name)s » dans la liste.", name=same)]
            ok = False
        elif same and form.new_territory_warned.data != new:
            form.new_territory.errors = list(form.new_territory.errors) + [
                _("« %(new)s » ressemble à « %(name)s », déjà connu : choisissez-le dans la liste, "
                  "ou cochez à nouveau la case si c'est bien un autre territoire.",
                  new=new, name=same)]
            form.new_territory_warned.data = new
            form.new_territory_confirmed.data = False
            ok = False
        elif not form.new_territory_confirmed.data:
            form.new_territory_confirmed.errors = list(form.new_territory_confirmed.errors) + [
                _("Cochez cette case pour créer le territoire « %(name)s », après avoir vérifié "
                  "qu'il n'est pas dans la liste.", name=new)]
            ok = False
        elif not several and picked:
            form.new_territory.errors = list(form.new_territory.errors) + [
                _("Choisissez un territoire dans la liste ou créez-en un nouveau, pas les deux.")]
            ok = False
        elif new not in picked:
            picked.append(new)
    if ok and not picked:
        field.errors = list(field.errors) + [
            _("Choisissez au moins un territoire : ce champ est obligatoire.") if several else
            _("Choisissez un territoire : ce champ est obligatoire.")]
        ok = False
    return picked if ok else None
