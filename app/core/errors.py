"""Errors, and the one place that decides whether an error answers in HTML or in JSON.

Services raise ``ServiceError`` subclasses with a code of API.md; the API turns them into
``{"error": {"code", "message", "fields"?}}``, pages into a form message. Anything under
``/api/`` answers JSON, everything else an HTML page. Error bodies never echo user input.
"""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))


class ErrorSchema(ma.Schema):
    """The error body of API.md, documented in the OpenAPI document as every route's default
    error (``app.extensions.PasserelleApi``)."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "bad_request",
    422: "validation_error",
    429: "too_many_requests",
}


class ServiceError(Exception):
    """A refusal of the domain: carries an HTTP status, a code of API.md and a message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | None = None, fields: dict[str, list[str]] | None = None,
                 code: str | None = None, status: int | None = None, persist: bool = False):
        super().__init__(message or code or self.code)
        self._message = message
        self.fields = fields or {}
        # A refusal that must still be recorded (a failed login and its audit entry): the
        # request commits instead of rolling back.
        self.persist = persist
        if code:
            self.code = code
        if status:
            self.status = status

    @property
    def message(self) -> str:
        """The message given, or the standard one of the status in the reader's language."""
        return self._message or _default_message(self.status)


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_error"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidTransition(ServiceError):
    status = 409
    code = "invalid_transition"


class TooManyRequests(ServiceError):
    status = 429
    code = "too_many_requests"


class Unauthenticated(ServiceError):
    status = 401
    code = "unauthenticated"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str,
               fields: dict | None = None, headers: dict | None = None):
    body: dict = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _default_message(status: int) -> str:
    return {
        400: _("La requête est mal formée."),
        401: _("Authentification requise."),
        403: _("Vous n'avez pas accès à cette ressource."),
        404: _("Cette ressource n'existe pas ou vous n'y avez pas accès."),
        405: _("Cette méthode n'est pas permise sur cette adresse."),
        409: _("Cette action entre en conflit avec l'état actuel."),
        413: _("La requête est trop volumineuse."),
        415: _("Le corps de la requête doit être du JSON."),
        422: _("Certaines valeurs sont invalides."),
        429: _("Trop de tentatives : réessayez plus tard."),
        500: _("Une erreur interne est survenue."),
    }.get(status, _("La requête n'a pas pu aboutir."))


def html_error(status: int, message: str | None = None):
    return render_template(
        "errors/error.html", status=status, message=message or _default_message(status)
    ), status


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if wants_json():
        data = getattr(error, "data", None) or {}
        if isinstance(data.get("passerelle_error"), ServiceError):
            return handle_service_error(data["passerelle_error"])
        headers = {}
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        return json_error(status, STATUS_CODES.get(status, "error"), _default_message(status),
                          headers=headers)
    if status == 405 or status < 400:
        return error
    return html_error(status)


def settle(error: ServiceError) -> None:
    """What a refusal leaves in the database, decided here for pages and API alike: nothing,
    unless the error says the refusal must be recorded (``persist``)."""
    from app.core.db import db  # local: errors must import nothing heavy at module level

    if error.persist:
        db.session.commit()
    else:
        db.session.rollback()


def handle_service_error(error: ServiceError):
    settle(error)
    if wants_json():
        return json_error(error.status, error.code, error.message, error.fields)
    return html_error(error.status, error.message)


def handle_unexpected(error: Exception):
    from app.core.db import db

    db.session.rollback()
    log.exception("unexpected error on %s %s", request.method, request.url_rule)
    if wants_json():
        return json_error(500, "internal_error", _default_message(500))
    return html_error(500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(Exception, handle_unexpected)
