"""Checks of plain values shared by the services: text, codes, e-mail addresses.

Services collect every problem in a ``FieldErrors`` and raise once, so that a form or an API
client learns all that is wrong in one answer, and nothing is written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from app.core.errors import ValidationFailed
from app.core.names import INVISIBLE, NO_LETTER, display_problem
from app.core.pagination import MAX_PAGE, is_page_parameter

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class FieldErrors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self, message: str | None = None) -> None:
        if self.fields:
            raise ValidationFailed(message or _("Certaines valeurs sont invalides."), self.fields)


def has_lone_surrogate(value: str) -> bool:
    """A code point U+D800–U+DFFF on its own (``"\\ud800"`` in JSON): not text, it can be neither
    encrypted nor hashed nor stored (UTF-8 has no form for it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def has_control_characters(value: str, multiline: bool = False) -> bool:
    allowed = {"\n", "\t", "\r"} if multiline else set()
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value)


# -- what any request may carry, checked once before every view ----------------------------------
def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string of a decoded JSON body (keys too), with the field it sits in."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            yield name, str(key)
            yield from _strings(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


def request_input_problems(args: Any, form: Any, body: Any) -> dict[str, list[str]]:
    """What makes a request's input unusable whatever the route, by field: text that is not
    Unicode (a lone surrogate, from a JSON ``\\ud800`` escape: query strings and forms are
    decoded with replacement and cannot carry one) and page numbers past ``MAX_PAGE``."""
    errors = FieldErrors()
    for source in (args, form):
        for name, value in source.items(multi=True):
            if has_lone_surrogate(name) or has_lone_surrogate(value):
                errors.add(_printable(name), _("Ce champ contient des caractères non autorisés."))
            elif is_page_parameter(name) and _too_far(value):
                errors.add(name, _("Numéro de page trop grand (au plus %(max)d).", max=MAX_PAGE))
    for name, value in _strings(body, ""):
        if has_lone_surrogate(value):
            errors.add(_printable(name) or "body", _("Ce champ contient des caractères non autorisés."))
    if isinstance(body, dict):
        for name, value in body.items():
            if isinstance(name, str) and is_page_parameter(name) and _too_far(value):
                errors.add(name, _("Numéro de page trop grand (au plus %(max)d).", max=MAX_PAGE))
    return errors.fields


def _printable(name: str) -> str:
    return name.encode("utf-8", "replace").decode("utf-8")


def _too_far(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > MAX_PAGE
    text = str(value).strip().lstrip("+")
    return text.isascii() and text.isdigit() and (len(text) > 7 or int(text) > MAX_PAGE)


def clean_date(errors: FieldErrors, field: str, value: object) -> date | None:
    """A date given as ISO text (``AAAA-MM-JJ``) or as a date; None when empty, or when it is
    not one (the error recorded). A datetime is not a date here: it would not compare."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    errors.add(field, _("Date invalide : utilisez le format AAAA-MM-JJ."))
    return None


def clean_text(
    errors: FieldErrors,
    field: str,
    value: object,
    *,
    required: bool = False,
    max_length: int = 200,
    multiline: bool = False,
) -> str | None:
    """A trimmed string or None; records why when the value is not acceptable."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, _("Ce champ doit être un texte."))
        return None
    value = value.replace("\r\n", "\n").strip()
    if not value:
        if required:
            errors.add(field, _("Ce champ est obligatoire."))
        return None
    if has_control_characters(value, multiline):
        errors.add(field, _("Ce champ contient des caractères non autorisés."))
        return None
    if len(value) > max_length:
        errors.add(field, _("Ce champ dépasse %(max)d caractères.", max=max_length))
        return None
    return value


def clean_name(errors: FieldErrors, field: str, value: object, *, required: bool = False,
               max_length: int = 100) -> str | None:
    """A person's or an account's name: plain text (``clean_text``) that cannot spoof the
    display (``names.display_problem``: no bidi or zero-width characters, at least one letter)."""
    text = clean_text(errors, field, value, required=required, max_length=max_length)
    if text is None:
        return None
    problem = display_problem(text)
    if problem == INVISIBLE:
        errors.add(field, _("Ce nom contient des caractères invisibles ou de mise en forme "
                            "(sens d'écriture, espace sans largeur) : retapez-le."))
    elif problem == NO_LETTER:
        errors.add(field, _("Un nom doit contenir au moins une lettre."))
    elif problem is not None:
        errors.add(field, _("Ce nom contient trop de signes diacritiques sur une même lettre."))
    return None if problem else text


def clean_code(errors: FieldErrors, field: str, value: object, allowed: Iterable[str],
               *, required: bool = True) -> str | None:
    allowed = list(allowed)
    if value is None or value == "":
        if required:
            errors.add(field, _("Ce champ est obligatoire."))
        return None
    if not isinstance(value, str) or value not in allowed:
        errors.add(field, _("Valeur inconnue ; valeurs possibles : %(values)s.",
                            values=", ".join(allowed)))
        return None
    return value


def clean_email(errors: FieldErrors, field: str, value: object, *, required: bool = True) -> str | None:
    text = clean_text(errors, field, value, required=required, max_length=254)
    if text is None:
        return None
    text = text.lower()
    if not _EMAIL.match(text):
        errors.add(field, _("Adresse électronique invalide."))
        return None
    return text


def clean_int(errors: FieldErrors, field: str, value: object, *, minimum: int, maximum: int,
              required: bool = False) -> int | None:
    if value is None or value == "":
        if required:
            errors.add(field, _("Ce champ est obligatoire."))
        return None
    if isinstance(value, bool):
        errors.add(field, _("Ce champ doit être un nombre entier."))
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.add(field, _("Ce champ doit être un nombre entier."))
        return None
    if not minimum <= number <= maximum:
        errors.add(field, _("Valeur attendue entre %(min)d et %(max)d.", min=minimum, max=maximum))
        return None
    return number
