"""The forms and fields every feature uses, glue between service errors and WTForms, and safe
redirects."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField, validators, widgets

from app.core.errors import ServiceError


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for actions behind a button."""


REQUIRED = _l("Ce champ est obligatoire.")


class DataRequired(validators.DataRequired):
    """WTForms' DataRequired saying "obligatoire", as the label's mark does (WTForms' own French
    says "Ce champ est requis."; issue 24, item 15). A message given still wins. A field whose
    typing was not understood (a FrenchDateField) keeps its own message."""

    def __init__(self, message=None):
        super().__init__(message if message is not None else REQUIRED)

    def __call__(self, form, field):
        if getattr(field, "process_errors", None):
            raise validators.StopValidation()
        super().__call__(form, field)


class InputRequired(validators.InputRequired):
    """WTForms' InputRequired saying "obligatoire" (see DataRequired)."""

    def __init__(self, message=None):
        super().__init__(message if message is not None else REQUIRED)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


# JJ/MM/AAAA with "/", "-", "." or spaces between the parts, or the eight digits typed in one go
# on a tablet's numeric keypad (it has no "/"); AAAA-MM-JJ as well, what a date input or the API
# sends.
_DAY_FIRST = re.compile(r"(\d{1,2})[/.\- ]+(\d{1,2})[/.\- ]+(\d{4})|(\d{2})(\d{2})(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(text: str) -> date | None:
    """The date typed as JJ/MM/AAAA (or AAAA-MM-JJ); None when it is not a real date."""
    text = (text or "").strip()
    found = _DAY_FIRST.fullmatch(text)
    if found:
        parts = [int(p) for p in found.groups() if p is not None]
        day, month, year = parts
    else:
        found = _ISO.fullmatch(text)
        if not found:
            return None
        year, month, day = (int(p) for p in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


class FrenchDateField(Field):
    """A date typed as JJ/MM/AAAA in a text field whose keypad is numeric on a tablet, whatever
    the browser's language (a date input shows MM/DD/YYYY in an English browser). AAAA-MM-JJ is
    accepted too. ``data`` is a ``datetime.date`` or None (empty field)."""

    widget = widgets.TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"inputmode": "numeric", "autocomplete": "off", "placeholder": _l("JJ/MM/AAAA"),
                     "class": "input-date", **(kwargs.pop("render_kw", None) or {})}
        kwargs.setdefault("description", _l("Au format JJ/MM/AAAA, par exemple 23/04/1985."))
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.typed = ""

    def _value(self) -> str:
        if self.typed and self.data is None:
            return self.typed  # what was typed comes back with its error message
        return self.data.strftime("%d/%m/%Y") if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist):
        self.typed = (valuelist[0] if valuelist else "") or ""
        self.typed = self.typed.strip()[:20]
        if not self.typed:
            self.data = None
            return
        self.data = parse_date(self.typed)
        if self.data is None:
            raise ValueError(_l("Date non reconnue : écrivez-la au format JJ/MM/AAAA."))


def apply_errors(form: FlaskForm, error: ServiceError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's field errors on the form's fields; the rest at the top of the form."""
    aliases = aliases or {}
    placed = False
    for name, messages in error.fields.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
            placed = True
        else:
            form.form_errors.extend(messages)
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def safe_next(target: str | None, default: str) -> str:
    """Only a local path may be a redirect target (no open redirect)."""
    if not target or not isinstance(target, str):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target
