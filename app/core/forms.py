"""The forms and fields every feature uses, glue between service errors and WTForms, and safe
redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, widgets

from app.core.errors import ServiceError


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for actions behind a button."""


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


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
