"""The charter: read the current version, accept it."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import fields

from app.api.base import Blueprint, StrictSchema
from app.charter import services
from app.core.errors import NotFound
from app.core.permissions import access

blp = Blueprint("api_charter", __name__, url_prefix="/api/v1", description="Charter")


class CharterSchema(StrictSchema):
    version = fields.Integer()
    text = fields.String()
    published_at = fields.DateTime()
    accepted = fields.Boolean()


class AcceptSchema(StrictSchema):
    version = fields.Integer(required=True, strict=True)


class AcceptedSchema(StrictSchema):
    version = fields.Integer()
    accepted_at = fields.DateTime()


@blp.route("/charter", methods=["GET"])
@access("charter.read")
@blp.response(200, CharterSchema)
def show():
    """The charter in force and whether the caller accepted it."""
    version = services.current_version()
    if version is None:
        raise NotFound()
    return {"version": version.version, "text": version.text,
            "published_at": version.published_at,
            "accepted": services.acceptance(current_user, version) is not None}


@blp.route("/charter/accept", methods=["POST"])
@access("charter.accept")
@blp.arguments(AcceptSchema)
@blp.response(200, AcceptedSchema)
def accept(body):
    """Accept the version in force (accepting an old version answers 409)."""
    row = services.accept(current_user, body["version"])
    return {"version": body["version"], "accepted_at": row.accepted_at}
