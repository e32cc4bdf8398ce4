"""Language of each request: the user's preference, else the session's choice, else the browser's.

French is the default and the source of every wording; English follows through the catalogues.
"""

from __future__ import annotations

from decimal import Decimal

from flask import has_request_context, request, session
from flask_login import current_user

LANGUAGES = ("fr", "en")
DEFAULT = "fr"


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    if not request.path.startswith("/api/"):
        user = current_user
        if getattr(user, "is_authenticated", False) and user.locale in LANGUAGES:
            return user.locale
        if session.get("lang") in LANGUAGES:
            return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


# Dates as the desk writes and types them, JJ/MM/AAAA, in both languages (issue 24, item 8):
# the English "11/23/26" would read as another day at a French desk. The API keeps ISO 8601.
DATE_PATTERN = "dd/MM/yyyy"
DATETIME_PATTERN = "dd/MM/yyyy HH:mm"


def fdate(value) -> str:
    """A date as JJ/MM/AAAA ("23/11/2026")."""
    from flask_babel import format_date

    return format_date(value, DATE_PATTERN) if value else ""


def fdatetime(value) -> str:
    """A timestamp as JJ/MM/AAAA HH:MM, in the département's time zone."""
    from flask_babel import format_datetime

    return format_datetime(value, DATETIME_PATTERN) if value else ""


def fnumber(value):
    """A figure in the reader's language: "12,5" and "1 234" in French, "12.5" and "1,234" in
    English, at most one decimal, no ".0" ("0" rather than "0.0"). What is not a number (a masked
    figure, a dash) is returned as it is."""
    from flask_babel import format_decimal

    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    return format_decimal(value, format="#,##0.#")


def fpercent(value):
    """A share already in percent (12.5) in the reader's language: "12,5 %" in French (a
    non-breaking space before the sign), "12.5%" in English. Not a number: returned as it is."""
    from flask_babel import get_locale

    number = fnumber(value)
    if number is value:
        return value
    locale = get_locale()
    return number + ("%" if locale is not None and locale.language == "en" else "\u00a0%")



def plural_count(value) -> int:
    """The number that chooses between singular and plural (``ngettext``) for a figure that may
    be a median (1,5 jour), masked ("< 5") or missing: those read in the plural."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return 2
    return int(value)
