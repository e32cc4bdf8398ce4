"""The person's follow-up: a code for the slip, and their choice about updates."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from marshmallow import fields

from app.api.base import Blueprint, StrictSchema
from app.core.permissions import access
from app.core.spine import get_visible_or_404
from app.followup import services
from app.orientation.models import Orientation

blp = Blueprint("api_followup", __name__, url_prefix="/api/v1", description="Follow-up")


class FollowUpInSchema(StrictSchema):
    updates_channel = fields.String(allow_none=True, metadata={"enum": ["sms", "email"]})
    updates_contact = fields.String(allow_none=True)


class FollowUpSchema(StrictSchema):
    code = fields.String()
    follow_up_url = fields.String()
    updates_channel = fields.String(allow_none=True)


@blp.route("/orientations/<uuid:orientation_id>/followup", methods=["POST"])
@access("followup.manage")
@blp.arguments(FollowUpInSchema)
@blp.response(201, FollowUpSchema)
def setup(body, orientation_id):
    """A new follow-up code for the person's slip (the previous one stops working), and
    whether they want updates by SMS or e-mail."""
    orientation = get_visible_or_404(Orientation, orientation_id, "followup.manage",
                                     read="orientation.read")
    services.record_consent(orientation, body.get("updates_channel"),
                            body.get("updates_contact"), current_user)
    code = services.issue_code(orientation)
    return {"code": services.pretty(code),
            "follow_up_url": current_app.config["PASSERELLE_BASE_URL"].rstrip("/") + "/suivi",
            "updates_channel": body.get("updates_channel")}
