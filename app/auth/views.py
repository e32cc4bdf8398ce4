"""Login, logout, password change and language switch pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.auth import services
from app.auth.forms import LanguageForm, LoginForm, PasswordChangeForm
from app.core import audit
from app.core.db import db
from app.core.errors import ServiceError, TooManyRequests
from app.core.forms import apply_errors, safe_next
from app.core.i18n import LANGUAGES
from app.core.permissions import access, public

bp = Blueprint("auth", __name__, template_folder="templates")


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
            user = services.authenticate(form.email.data, form.password.data,
                                         request.remote_addr)
        except ServiceError as error:
            form.form_errors.append(error.message)
            status = 429 if isinstance(error, TooManyRequests) else 401
        else:
            session.clear()  # a new session at login: no fixation
            login_user(user)
            flash(_("Bienvenue, %(name)s.", name=user.display_name), "success")
            if user.must_change_password:
                flash(_("Choisissez un nouveau mot de passe pour continuer."), "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(form.next.data, url_for("home.index")))
    elif request.method == "POST":
        status = 400 if form.csrf_token.errors else 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@access("home.view")
def logout():
    audit.record("auth.logout", actor=current_user, object_type="user", object_id=current_user.id)
    logout_user()
    session.clear()
    flash(_("Vous êtes déconnecté(e)."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@access("account.manage")
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data,
                                     form.new_password.data, form.confirm_password.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            login_user(current_user._get_current_object())  # the session follows auth_version
            flash(_("Votre mot de passe a été changé. Vos autres sessions et jetons sont fermés."),
                  "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form)


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
