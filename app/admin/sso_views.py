"""Administration of an account's single sign-on: its linked identities (provider, subject),
unlinking one, and "SSO only" (the password login refuses the account). On the account's page
(``admin/_sso.html``); the changes and their audit entries are ``app.auth.oidc``'s."""

from __future__ import annotations

import uuid

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.views import bp
from app.auth import oidc
from app.auth.models import User
from app.core.db import db
from app.core.forms import ConfirmForm
from app.core.permissions import access


@bp.route("/users/<uuid:user_id>/sso/<uuid:identity_id>/unlink", methods=["POST"])
@access("user.manage")
def unlink_identity(user_id: uuid.UUID, identity_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        oidc.unlink(user, identity_id, actor=current_user)
        flash(_("L'identité est détachée : elle ne sera plus rattachée à ce compte par son "
                "adresse électronique tant que vous ne l'aurez pas autorisée de nouveau."),
              "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<uuid:user_id>/sso/revoked/<uuid:revocation_id>/allow", methods=["POST"])
@access("user.manage")
def allow_identity(user_id: uuid.UUID, revocation_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        oidc.allow_again(user, revocation_id, actor=current_user)
        flash(_("L'identité pourra de nouveau être rattachée par son adresse électronique "
                "vérifiée à la prochaine connexion."), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<uuid:user_id>/sso-only", methods=["POST"])
@access("user.manage")
def set_sso_only(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        value = request.form.get("sso_only") == "1"
        oidc.set_sso_only(user, value, actor=current_user)
        flash(_("Ce compte ne se connecte plus que par l'authentification unique.") if value
              else _("Ce compte peut de nouveau se connecter avec son mot de passe."), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))
