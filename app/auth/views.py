"""Login (with the second factor), logout, password, sessions and tokens, MFA enrolment,
language switch."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.auth import mfa, services, sessions, throttle
from app.auth.forms import (
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    SecondFactorForm,
    SetPasswordForm,
)
from app.auth.models import User
from app.core import audit
from app.core.db import db, utcnow
from app.core.errors import ServiceError, TooManyRequests, settle
from app.core.forms import ConfirmForm, apply_errors, safe_next
from app.core.i18n import LANGUAGES
from app.core.permissions import access, public
from app.core.spine import refuse

bp = Blueprint("auth", __name__, template_folder="templates")
SECOND_FACTOR_SECONDS = 300


def _open_session(user: User, target: str, sso: dict | None = None):
    """A fresh session at login (no fixation), tracked so that the user can end it. ``sso``:
    the single sign-on that opened it (provider, ID token for the logout, second factor
    vouched for by the provider), see ``app.auth.oidc_views``."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if sso:
        session["sso"] = sso
    row = sessions.start(user, request.remote_addr, request.headers.get("User-Agent"))
    db.session.flush()
    session["sid"] = str(row.id)
    login_user(user)
    flash(_("Bienvenue, %(name)s.", name=user.display_name), "success")
    if mfa.must_enrol(user) and not mfa.vouched_by_provider():
        flash(_("Votre rôle exige la double authentification : activez-la maintenant."), "info")
        response = redirect(url_for("auth.mfa"))
    elif user.must_change_password and not sso:
        flash(_("Choisissez un nouveau mot de passe pour continuer."), "info")
        response = redirect(url_for("auth.change_password"))
    else:
        response = redirect(safe_next(target, url_for("home.index")))
    _remember_device(response, user)
    return response


def _known_device(email: str | None) -> bool:
    user = services.find_user_by_email(email or "")
    return throttle.is_known_device(email or "", request.cookies.get(throttle.DEVICE_COOKIE),
                                    user.auth_version if user is not None else None)


def _remember_device(response, user: User) -> None:
    """This browser now knows the account: the address limit no longer refuses it (see
    ``app/auth/throttle.py``)."""
    from flask import current_app

    response.set_cookie(
        throttle.DEVICE_COOKIE,
        throttle.remember_device(user.email, user.auth_version,
                                 request.cookies.get(throttle.DEVICE_COOKIE)),
        max_age=throttle.DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"])


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        try:
            known = _known_device(form.email.data)
            user = services.check_credentials(form.email.data, form.password.data,
                                              request.remote_addr, known_device=known)
            if user.totp_enabled:
                # Nothing of a success is recorded before the code is checked.
                session["mfa_user"] = f"{user.id}:{user.auth_version}"
                session["mfa_at"] = time.time()
                session["mfa_next"] = form.next.data or ""
                return redirect(url_for("auth.second_factor"))
            services.complete_login(user, request.remote_addr, known_device=known)
        except ServiceError as error:
            refuse(error, form)  # a failed login is recorded: its error persists
            status = 429 if isinstance(error, TooManyRequests) else 401
        else:
            return _open_session(user, form.next.data)
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@public
def second_factor():
    pending = session.get("mfa_user")
    started = session.get("mfa_at") or 0
    user = services.load_session_user(pending) if pending else None
    if user is None or time.time() - started > SECOND_FACTOR_SECONDS:
        session.pop("mfa_user", None)
        flash(_("Reconnectez-vous : la connexion a expiré."), "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    status = 200
    # After a single sign-on (app.auth.oidc_views), the session keeps its provider.
    sso = session.get("mfa_sso") or {}
    sso = sso if sso.get("user") == pending else None
    if form.validate_on_submit():
        refused = _sso_link_refused(sso, user)
        if refused is not None:
            return refused
        try:
            services.complete_login(user, request.remote_addr, code=form.code.data,
                                    known_device=_known_device(user.email),
                                    channel="oidc" if sso else "page",
                                    details=_sso_details(user, sso))
        except TooManyRequests as error:
            # Over the limit: the pending login ends, and the password is asked again.
            for key in ("mfa_user", "mfa_at", "mfa_next"):
                session.pop(key, None)
            login_form = LoginForm()
            refuse(error, login_form)
            return render_template("auth/login.html", form=login_form), 429
        except ServiceError as error:
            settle(error)
            form.code.errors = [error.message]
            status = 401
        else:
            if sso and sso.get("link"):
                refused = _sso_link(sso, user)
                if refused is not None:
                    return refused
            return _open_session(user, session.get("mfa_next", ""),
                                 sso={k: v for k, v in sso.items() if k != "link"} if sso
                                 else None)
    return render_template("auth/second_factor.html", form=form), status


def _sso_details(user: User, sso: dict | None) -> dict | None:
    """What the login entry says of a single sign-on finished here (its SIRET's match)."""
    if not sso:
        return None
    from app.auth import oidc

    return oidc.siret_details(user, sso)


def _sso_link(sso: dict, user: User, check_only: bool = False):
    """After a single sign-on whose identity was found by e-mail: the link is made at the end of
    the second factor, checked again on the server (``oidc.link``); None, or the refusal page."""
    from app.auth import oidc

    provider = oidc.get(sso.get("provider") or "")
    try:
        if provider is None:
            raise oidc.UnknownIdentity("provider")
        if check_only:
            oidc.check_link(provider, user, sso["link"])
        else:
            oidc.link(provider, user, sso["link"]).last_login_at = utcnow()
    except oidc.UnknownIdentity:
        for key in ("mfa_user", "mfa_at", "mfa_next", "mfa_sso"):
            session.pop(key, None)
        return render_template("auth/oidc_refused.html", provider=provider,
                               label=oidc.display_name(provider) if provider else "",
                               kind="unknown"), 403
    return None


def _sso_link_refused(sso: dict | None, user: User):
    """Before the code is checked: an identity that can no longer be linked ends the login."""
    if sso and sso.get("link"):
        return _sso_link(sso, user, check_only=True)
    return None


@bp.route("/logout", methods=["POST"])
@access("session.end")
def logout():
    audit.record("auth.logout", actor=current_user, object_type="user", object_id=current_user.id)
    sessions.end(session.get("sid"), current_user)
    sso = session.get("sso") or {}
    logout_user()
    session.clear()
    if sso.get("id_token"):
        # RP-initiated logout: the provider ends its own session, then sends the browser back.
        # A page that moves on by itself, not a redirect: the logout form's CSP (form-action
        # 'self') forbids browsers to follow a form's redirect to another origin.
        from app.auth import oidc

        back = current_app.config["PASSERELLE_BASE_URL"].rstrip("/") + url_for("auth.login")
        url = oidc.end_session_url(sso.get("provider"), sso["id_token"], back)
        if url:
            page = render_template("auth/sso_logout.html", url=url,
                                   provider=oidc.display_name(oidc.get(sso["provider"])))
            flash(_("Vous êtes déconnecté(e)."), "success")  # shown back on the login page
            return page, 200, {"Refresh": f"0; url={url}"}
    flash(_("Vous êtes déconnecté(e)."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/session/keepalive", methods=["POST"])
@access("session.keepalive")
def keepalive():
    """"Rester connecté": the request itself refreshes the session's last activity (the guard),
    nothing else happens. A session already expired never gets here: the guard sends the login
    page instead, which the page's script reads as "expired"."""
    return "", 204


@bp.route("/account/password", methods=["GET", "POST"])
@access("account.manage")
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data,
                                     form.new_password.data, form.confirm_password.data)
        except ServiceError as error:
            refuse(error, form)
        else:
            user = current_user._get_current_object()
            row = sessions.start(user, request.remote_addr, request.headers.get("User-Agent"))
            db.session.flush()
            session["sid"] = str(row.id)
            login_user(user)  # this session follows the new auth_version; the others end
            flash(_("Votre mot de passe a été changé. Vos autres sessions et jetons sont fermés."),
                  "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form)


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str):
    """The one-time link e-mailed to a new account or after a reset: choose one's password.
    Opening the link changes nothing (a mail scanner may open it); the form's POST uses it."""
    if services.set_password_link(token) is None:
        return render_template("auth/set_password.html", form=None), 404
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.set_password_with_link(token, form.new_password.data,
                                                   form.confirm_password.data)
        except ServiceError as error:
            db.session.rollback()
            if error.status == 404:
                return render_template("auth/set_password.html", form=None), 404
            apply_errors(form, error)
            status = 422
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash(_("Votre mot de passe est enregistré. Connectez-vous avec votre adresse "
                    "électronique (%(email)s) et ce mot de passe.", email=user.email), "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("auth/set_password.html", form=form), status


@bp.route("/account/security")
@access("account.manage")
def security():
    return render_template("auth/security.html", sessions=sessions.active_sessions(current_user),
                           tokens=sessions.active_tokens(current_user),
                           current_sid=session.get("sid"), form=ConfirmForm())


@bp.route("/account/sessions/<uuid:session_id>/revoke", methods=["POST"])
@access("account.manage")
def revoke_session(session_id: uuid.UUID):
    if ConfirmForm().validate_on_submit():
        sessions.revoke_session(current_user, session_id)
        flash(_("Session fermée."), "success")
    return redirect(url_for("auth.security"))


@bp.route("/account/tokens/<uuid:token_id>/revoke", methods=["POST"])
@access("account.manage")
def revoke_token(token_id: uuid.UUID):
    if ConfirmForm().validate_on_submit():
        sessions.revoke_token_by_id(current_user, token_id)
        flash(_("Jeton révoqué."), "success")
    return redirect(url_for("auth.security"))


@bp.route("/account/mfa", methods=["GET", "POST"], endpoint="mfa")
@access("mfa.enroll")
def mfa_page():
    user = current_user._get_current_object()
    form = SecondFactorForm()
    codes = None
    if request.method == "POST" and request.form.get("step") == "start":
        if ConfirmForm().validate_on_submit() and not user.totp_enabled:
            mfa.start_enrolment(user)
    elif form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(user, form.code.data)
        except ServiceError as error:
            apply_errors(form, error)
        else:
            flash(_("Double authentification activée. Conservez vos codes de secours."), "success")
    pending = user.totp_secret and not user.totp_enabled
    return render_template(
        "auth/mfa.html", form=form, confirm=ConfirmForm(), codes=codes,
        enabled=user.totp_enabled, pending=pending,
        secret=user.totp_secret if pending else None,
        qr=mfa.qr_svg(mfa.provisioning_uri(user)) if pending else None,
        required=mfa.required_for(user))



@bp.route("/language", methods=["POST"])
@public
def set_language():
    form = LanguageForm()
    target = safe_next(form.next.data, url_for("home.index"))
    if form.validate_on_submit() and form.lang.data in LANGUAGES:
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            current_user.locale = form.lang.data
    return redirect(target)
