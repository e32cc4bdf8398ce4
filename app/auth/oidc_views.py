"""Single sign-on pages: to the provider and back (``app.auth.oidc`` makes every check).

The routes join the ``auth`` blueprint; the session opens through the same ``_open_session`` as
the password login (fresh session, charter gate, idle timeout), and a second factor the provider
does not vouch for is asked on the same page as after a password.
"""

from __future__ import annotations

import hmac
import time

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import mfa, oidc, services, sessions
from app.auth.views import _open_session, bp
from app.core import audit
from app.core.db import db
from app.core.errors import Forbidden, NotFound
from app.core.forms import ConfirmForm, safe_next
from app.core.permissions import access, public

PENDING_SECONDS = 600  # from the button to the callback


def _provider(name: str) -> oidc.Provider:
    provider = oidc.get(name)
    if provider is None:
        raise NotFound()
    return provider


def redirect_uri(name: str) -> str:
    """The callback address registered with the provider (from ``PASSERELLE_BASE_URL``)."""
    return (current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
            + url_for("auth.oidc_callback", provider=name))


def _failure(provider: oidc.Provider, reason: str):
    db.session.rollback()
    audit.record("auth.sso_failed", actor_kind="anonymous",
                 details={"provider": provider.name, "reason": reason})
    return render_template("auth/oidc_refused.html", provider=provider,
                           label=oidc.display_name(provider), kind="failed"), 400


@bp.route("/login/oidc/<provider>")
@public
def oidc_login(provider: str):
    chosen = _provider(provider)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    try:
        url, pending = oidc.authorization_request(chosen, redirect_uri(chosen.name))
    except oidc.OidcError as error:
        return _failure(chosen, error.reason)
    pending["next"] = safe_next(request.args.get("next"), "")
    session["oidc_pending"] = pending
    return redirect(url)


@bp.route("/login/oidc/<provider>/callback")
@public
def oidc_callback(provider: str):
    chosen = _provider(provider)
    pending = session.pop("oidc_pending", None)
    state = request.args.get("state") or ""
    if (not isinstance(pending, dict) or pending.get("provider") != chosen.name
            or not hmac.compare_digest(state.encode(), str(pending.get("state")).encode())
            or time.time() - float(pending.get("at") or 0) > PENDING_SECONDS):
        return _failure(chosen, "state")
    if request.args.get("error"):
        return _failure(chosen, "provider_refused")
    code = request.args.get("code")
    if not code or len(code) > 2048:
        return _failure(chosen, "no_code")
    try:
        claims = oidc.finish(chosen, redirect_uri(chosen.name), pending, code)
        user, identity = oidc.account_for(chosen, claims)
    except oidc.OidcError as error:
        return _failure(chosen, error.reason)
    except oidc.UnknownIdentity:
        return render_template("auth/oidc_refused.html", provider=chosen,
                               label=oidc.display_name(chosen), kind="unknown"), 403
    except oidc.AccountDisabled:
        return render_template("auth/oidc_refused.html", provider=chosen,
                               label=oidc.display_name(chosen), kind="disabled"), 403
    sso = {"provider": chosen.name, "id_token": claims["id_token"], "mfa": False}
    vouched = oidc.assurance_met(chosen, claims)
    wanted = user.totp_enabled or mfa.required_for(user)
    if wanted and not vouched and user.totp_enabled:
        # Passerelle's own second factor, on the page that follows a password. An identity
        # found by e-mail is linked only once the code is right (``second_factor``, which
        # checks the link again).
        session["mfa_user"] = user.get_id()
        session["mfa_at"] = time.time()
        session["mfa_next"] = pending.get("next") or ""
        session["mfa_sso"] = {**sso, "user": user.get_id(),
                              "link": oidc.pending_link(claims) if identity is None else None}
        return redirect(url_for("auth.second_factor"))
    if identity is None:
        try:
            identity = oidc.link(chosen, user, claims)
        except oidc.UnknownIdentity:
            return render_template("auth/oidc_refused.html", provider=chosen,
                                   label=oidc.display_name(chosen), kind="unknown"), 403
    oidc.record_login(user, identity, chosen, "provider" if wanted and vouched else None)
    sso["mfa"] = wanted and vouched
    return _open_session(user, pending.get("next") or "", sso=sso)


@bp.route("/account/tokens/new", methods=["POST"])
@access("account.manage")
def issue_page_token():
    """An API token for an account that has no password to give the API (SSO only): made on
    "Mon compte", shown once."""
    user = current_user._get_current_object()
    if not user.sso_only:
        raise Forbidden(_("Obtenez un jeton d'API avec votre mot de passe "
                          "(POST /api/v1/auth/token)."))
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("auth.security"))
    raw, _token = services.issue_token(user)
    return render_template("auth/security.html", sessions=sessions.active_sessions(user),
                           tokens=sessions.active_tokens(user), current_sid=session.get("sid"),
                           form=ConfirmForm(), new_token=raw)
