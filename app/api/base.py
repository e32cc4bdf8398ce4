"""What every API resource shares: the blueprint class, its argument parser and error answers.

Request bodies are validated by marshmallow schemas through ``blp.arguments``: the OpenAPI
document is generated from the same schemas, so it cannot drift from what is enforced. A body
that is not JSON, or a value of the wrong JSON type, answers 400 ``bad_request``; a well-typed
value that breaks a rule answers 422 ``validation_error``. Both name the fields.
"""

from __future__ import annotations

from typing import Any

import flask_smorest
import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import fields
from webargs.flaskparser import FlaskParser

from app.core.errors import ServiceError, ValidationFailed


def _wrong_type(field: fields.Field, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(field, (fields.String, fields.UUID, fields.Date, fields.DateTime)):
        return not isinstance(value, str)
    if isinstance(field, fields.Boolean):
        return not isinstance(value, bool)
    if isinstance(field, fields.Number):
        return isinstance(value, bool) or not isinstance(value, (int, float))
    if isinstance(field, fields.List):
        return not isinstance(value, list)
    if isinstance(field, (fields.Nested, fields.Dict)):
        return not isinstance(value, dict)
    return False


def _only_type_errors(schema: ma.Schema, messages: Any, data: Any) -> bool:
    """True when every error is a JSON value of the wrong type (not a broken rule)."""
    if not isinstance(messages, dict):
        return False
    if not isinstance(data, dict):
        return True
    for name, inner in messages.items():
        field = schema.fields.get(name)
        value = data.get(name)
        if name == "_schema" or field is None:
            return False
        if _wrong_type(field, value):
            continue
        if isinstance(field, fields.Nested) and isinstance(value, dict):
            if not _only_type_errors(field.schema, inner, value):
                return False
            continue
        if isinstance(field, fields.List) and isinstance(value, list) and isinstance(inner, dict):
            for index, sub in inner.items():
                item = value[index] if isinstance(index, int) and index < len(value) else None
                inner_field = field.inner
                if _wrong_type(inner_field, item):
                    continue
                if (isinstance(inner_field, fields.Nested) and isinstance(item, dict)
                        and _only_type_errors(inner_field.schema, sub, item)):
                    continue
                return False
            continue
        return False
    return True


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"needs": {0: {"domain": [..]}}}`` → ``{"needs.0.domain": [..]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "body" if key == "_schema" else str(key)
            flat.update(flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "body"] = messages
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten(value, f"{prefix}.{index}"))
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


class Parser(FlaskParser):
    """webargs parser answering the errors of API.md."""

    def load_json(self, req, schema):
        if req.get_data(cache=True) and not req.is_json:
            raise ServiceError(_("Le corps de la requête doit être du JSON "
                                 "(Content-Type: application/json)."))
        return super().load_json(req, schema)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise ServiceError(_("Le corps de la requête n'est pas du JSON valide."))

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages if isinstance(error.messages, dict) else {}
        location = next(iter(messages), "json")
        body = messages.get(location, messages)
        fields_ = flatten(body)
        # Query strings carry only text: a wrong type there is a broken rule, hence 422.
        if location == "json" and _only_type_errors(schema, body, req.get_json(silent=True)):
            raise ServiceError(_("Le corps de la requête contient des valeurs du mauvais type."),
                               fields=fields_)
        raise ValidationFailed(_("Certaines valeurs sont invalides."), fields=fields_)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


class StrictSchema(ma.Schema):
    """Request bodies: unknown keys are ignored (the contract grows by adding)."""

    class Meta:
        unknown = ma.EXCLUDE
