"""What every answer carries: security headers, and the one commit of the request."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider

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


def register(app: Flask) -> None:
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
