"""Tokens and the caller's own account."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from marshmallow import fields

from app.api.base import Blueprint, StrictSchema
from app.auth import mfa, services
from app.core.permissions import access, public

blp = Blueprint("api_auth", __name__, url_prefix="/api/v1", description="Authentication")


class TokenRequestSchema(StrictSchema):
    email = fields.String(required=True)
    password = fields.String(required=True)
    totp = fields.String(load_default=None)


class TokenSchema(StrictSchema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class MeSchema(StrictSchema):
    id = fields.UUID()
    email = fields.String()
    display_name = fields.String()
    role = fields.String()
    site_id = fields.UUID(allow_none=True)
    structure_id = fields.UUID(allow_none=True)
    territory = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)


@blp.route("/auth/token", methods=["POST"])
@public
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema="Error", description="Wrong credentials")
@blp.alt_response(429, schema="Error", description="Too many attempts")
def issue_token(body):
    """Exchange e-mail and password for a bearer token (12 hours)."""
    user = services.authenticate(body["email"], body["password"], request.remote_addr,
                                 channel="api", totp=body.get("totp"))
    raw, token = services.issue_token(user)
    return {"token": raw, "expires_at": token.expires_at}


@blp.route("/auth/token", methods=["DELETE"])
@access("session.end")
@blp.response(204)
def revoke_token():
    """Revoke the bearer token of this request (logout of an API client)."""
    _scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    services.revoke_token(raw.strip(), current_user)


@blp.route("/me", methods=["GET"])
@access("me.read")
@blp.response(200, MeSchema)
def me():
    """The caller's account."""
    return current_user


class TotpStartSchema(StrictSchema):
    secret = fields.String()
    otpauth_uri = fields.String()


class TotpConfirmInSchema(StrictSchema):
    code = fields.String(required=True)


class TotpConfirmSchema(StrictSchema):
    enabled = fields.Boolean()
    recovery_codes = fields.List(fields.String())


@blp.route("/me/totp", methods=["POST"])
@access("mfa.enroll")
@blp.response(200, TotpStartSchema)
def totp_start():
    """Start second-factor enrolment: a secret and its otpauth URI (409 if already enabled)."""
    secret, uri = mfa.start_enrolment(current_user._get_current_object())
    return {"secret": secret, "otpauth_uri": uri}


@blp.route("/me/totp/confirm", methods=["POST"])
@access("mfa.enroll")
@blp.arguments(TotpConfirmInSchema)
@blp.response(200, TotpConfirmSchema)
def totp_confirm(body):
    """Confirm with a first code; answers the recovery codes, shown once. From then on
    ``/auth/token`` needs ``totp``."""
    codes = mfa.confirm_enrolment(current_user._get_current_object(), body["code"])
    return {"enabled": True, "recovery_codes": codes}
