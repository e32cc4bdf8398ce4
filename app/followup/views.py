"""The person's public follow-up page, the withdrawal link, and the desk's actions."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.accueil.panels import Panel
from app.core.crypto import DecryptionError
from app.core.db import db, key_ring
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm, DataRequired
from app.core.permissions import access, public
from app.core.spine import get_visible_or_404, refuse
from app.followup import services
from app.orientation.models import Orientation
from app.orientation.scopes import orientations_of_visit

bp = Blueprint("followup", __name__, template_folder="templates")
SESSION_KEY = "followup_codes"


class CodeForm(FlaskForm):
    code = StringField(_l("Code de suivi (10 caractères, sur votre récapitulatif)"),
                       validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters"})


class ConsentForm(FlaskForm):
    updates_channel = RadioField(_l("La personne souhaite être informée"), default="", choices=[
        SelectChoice("", _l("Non")), SelectChoice("email", _l("Par courriel")),
        SelectChoice("sms", _l("Par SMS"))], validators=[Optional()])
    updates_contact = StringField(_l("Adresse électronique ou numéro de téléphone"),
                                  validators=[Optional(), Length(max=254)])

    def __init__(self, *args, offer_sms: bool | None = None, **kwargs):
        """"Par SMS" is offered only with an SMS provider (``PASSERELLE_SMS_URL``). The action
        that receives the form passes ``offer_sms=True``: a POST choosing SMS without a provider
        then gets the service's own message rather than an expired form."""
        super().__init__(*args, **kwargs)
        if offer_sms is None:
            offer_sms = bool(current_app.config.get("PASSERELLE_SMS_URL"))
        if not offer_sms:
            self.updates_channel.choices = [choice for choice in self.updates_channel.choices
                                            if choice.value != "sms"]


@bp.route("/suivi", methods=["GET", "POST"])
@public
def status():
    form = CodeForm()
    found, status_code = None, 200
    if form.validate_on_submit():
        found = services.lookup(form.code.data, request.remote_addr)
        if found is None:
            form.code.errors = [_("Nous ne trouvons pas de demande en cours avec ce code. "
                                  "Vérifiez-le, ou contactez votre lieu d'accueil.")]
            status_code = 404
    return render_template("followup/status.html", form=form, found=found), status_code


@bp.route("/suivi/stop/<token>", methods=["GET", "POST"])
@public
def stop(token: str):
    followup = services.by_stop_token(token)
    form = ConfirmForm()
    done = False
    if followup is not None and form.validate_on_submit():
        services.withdraw(followup)
        done = True
    return render_template("followup/stop.html", form=form, known=followup is not None,
                           done=done or (followup is not None and followup.withdrawn_at))


# A new code goes from the desk's action to the slip that prints it through the session, which
# is a signed cookie (readable by whoever holds it): the code is encrypted there, bound to the
# agent and the orientation, for a few minutes, and removed once the slip has shown it.
CODE_SHOWN_FOR_SECONDS = 600


def _aad(orientation: Orientation) -> str:
    return f"followup-code-slip:{current_user.get_id()}:{orientation.id}"


def _keep_for_the_slip(orientation: Orientation, code: str) -> None:
    codes = dict(session.get(SESSION_KEY) or {})
    codes[str(orientation.id)] = [key_ring().encrypt(services.pretty(code), _aad(orientation)),
                                  time.time() + CODE_SHOWN_FOR_SECONDS]
    session[SESSION_KEY] = codes


def _shown_once(orientation: Orientation) -> str | None:
    """The new code of ``orientation`` to print, once; None when there is none (or no more)."""
    codes = dict(session.get(SESSION_KEY) or {})
    kept = codes.pop(str(orientation.id), None)
    if kept is None:
        return None
    session[SESSION_KEY] = codes
    try:
        token, until = kept
        if float(until) < time.time():
            return None
        return key_ring().decrypt(token, _aad(orientation))
    except (TypeError, ValueError, DecryptionError):
        return None


def _load(orientation_id: uuid.UUID) -> Orientation:
    return get_visible_or_404(Orientation, orientation_id, "followup.manage",
                              read="orientation.read")


def _back(orientation: Orientation):
    if orientation.visit_id:
        return redirect(url_for("accueil.slip", visit_id=orientation.visit_id))
    return redirect(url_for("orientation.show", orientation_id=orientation.id))


@bp.route("/orientations/<uuid:orientation_id>/followup", methods=["POST"])
@access("followup.manage")
def setup(orientation_id: uuid.UUID):
    """A new code for the slip, and the person's choice about updates."""
    orientation = _load(orientation_id)
    form = ConsentForm(offer_sms=True)
    if not form.validate_on_submit():
        flash(_("Le formulaire a expiré : rechargez la page et recommencez."), "error")
        return _back(orientation)
    try:
        services.record_consent(orientation, form.updates_channel.data or None,
                                form.updates_contact.data, current_user)
        code = services.issue_code(orientation)
    except ServiceError as error:
        refuse(error)
        return _back(orientation)
    _keep_for_the_slip(orientation, code)
    flash(_("Code de suivi créé : il figure sur le récapitulatif à imprimer."), "success")
    return _back(orientation)


@bp.route("/orientations/<uuid:orientation_id>/followup/withdraw", methods=["POST"])
@access("followup.manage")
def withdraw(orientation_id: uuid.UUID):
    orientation = _load(orientation_id)
    followup = services.followup_of(orientation)
    if followup is not None and ConfirmForm().validate_on_submit():
        services.withdraw(followup, current_user)
        flash(_("La personne ne recevra plus de messages."), "success")
    return _back(orientation)


def slip_panel(person, user, slip: bool = False, visit=None) -> Panel | None:
    """The slip's follow-up code and the person's choice about updates (a panel registered by
    the feature's init_app)."""
    if not slip or visit is None:
        return None
    rows = list(db.session.scalars(orientations_of_visit(visit)))
    if not rows:
        return None
    return Panel("followup", "followup/_slip_panel.html", {
        "items": [(o, _shown_once(o), services.followup_of(o)) for o in rows],
        "form": ConsentForm(), "confirm": ConfirmForm()})
