"""Login and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.core.forms import DataRequired


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse électronique"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        _l("Nouveau mot de passe"), validators=[DataRequired()],
        description=_l("Au moins 12 caractères. Une phrase de plusieurs mots est plus facile à retenir."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(_l("Confirmez le nouveau mot de passe"),
                                     validators=[DataRequired()],
                                     render_kw={"autocomplete": "new-password"})


class SetPasswordForm(FlaskForm):
    """Choosing one's password through the one-time link (no current password: nobody has one)."""

    new_password = PasswordField(
        _l("Nouveau mot de passe"), validators=[DataRequired()],
        description=_l("Au moins 12 caractères. Une phrase de plusieurs mots est plus facile à retenir."),
        render_kw={"autocomplete": "new-password", "autofocus": True},
    )
    confirm_password = PasswordField(_l("Confirmez le nouveau mot de passe"),
                                     validators=[DataRequired()],
                                     render_kw={"autocomplete": "new-password"})


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Langue"), choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English")])
    next = HiddenField()


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Code à 6 chiffres (ou code de secours)"),
                       validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "autofocus": True})
