"""What every answer carries: security headers, and the one commit of the request."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _

from app.core.db import db

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

HSTS = "max-age=31536000; includeSubDomains"


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config.get("PASSERELLE_ENV") == "production":
        # TLS only, for a year, subdomains included (the balancer may add it too: same value).
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        # Pages and answers hold personal data: never kept by a browser or a proxy.
        headers["Cache-Control"] = "no-store"
    return response


def commit_request(response: Response) -> Response:
    """One commit per request, here: a failed request has already rolled back."""
    if response.status_code < 500:
        db.session.commit()
    else:
        db.session.rollback()
    return response


# -- paths that carry a secret --------------------------------------------------------------------
# A contact link (/contact/<token>/…) and the link that stops follow-up messages
# (/suivi/stop/<token>) are the credential themselves: they must not reach an access log. Beside
# these named routes, any path segment that looks like a random token (20 characters or more of
# the URL-safe alphabet, not a UUID) is replaced too, so that a route added later is covered.
REDACTED = "<token>"
_SECRET_ROUTES = re.compile(r"^(/contact/|/suivi/stop/)[^/?]+")
_TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_\-]{20,}(?=/|$)")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def redact_path(path: str | None) -> str:
    """``path`` as an access log may write it: the secret segments replaced by ``<token>``."""
    if not path:
        return path or ""
    path = _SECRET_ROUTES.sub(lambda m: m.group(1) + REDACTED, path)
    return _TOKEN_SEGMENT.sub(
        lambda m: m.group(0) if _UUID.match(m.group(0)) else REDACTED, path)


def refuse_unusable_input():
    """Before every view: input no route can use (text that is not Unicode, page numbers past
    the bound) is refused here, once, instead of failing deep inside as a 500: the API answers
    422 ``validation_error`` with the fields, a page 400."""
    from app.core.errors import html_error, json_error, wants_json
    from app.core.validation import request_input_problems

    body = request.get_json(silent=True) if request.is_json else None
    problems = request_input_problems(request.args, request.form, body)
    if not problems:
        return None
    if wants_json():
        return json_error(422, "validation_error", _("Certaines valeurs sont invalides."),
                          problems)
    return html_error(400, " ".join(m for ms in problems.values() for m in ms))


def register(app: Flask) -> None:
    app.before_request(refuse_unusable_input)
    app.after_request(security_headers)
    app.after_request(commit_request)


class IsoJSONProvider(DefaultJSONProvider):
    """JSON answers write dates and timestamps in ISO 8601 (API.md), wherever they sit: Flask's
    default writes them as HTTP dates ("Mon, 23 Nov 2026 …")."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return (o if o.tzinfo else o.replace(tzinfo=UTC)).isoformat()
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)
