"""Pages of a structure's contact answering through a link (no account, no login)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app.auth.forms import SecondFactorForm
from app.charter import services as charter
from app.core import audit
from app.core.db import db
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm
from app.core.permissions import public
from app.core.spine import refuse
from app.directory import services as directory
from app.directory.models import Site
from app.orientation import contact, services
from app.orientation.forms import RedirectForm, RefuseForm, TakeChargeForm
from app.orientation.models import Orientation
from app.orientation.panels import orientation_panels
from app.orientation.presenters import orientation_view, sender_view
from app.orientation.scopes import PARTNER

bp = Blueprint("contact", __name__, url_prefix="/contact", template_folder="templates")


def _neutral():
    """The same answer for unknown, expired and revoked links: nothing is revealed."""
    contact.record_bad_token(request.remote_addr)
    return render_template("contact/neutral.html"), 404


def _link(token: str):
    if contact.opening_throttled(request.remote_addr):
        return None, (render_template("contact/neutral.html"), 429)
    link = contact.find_valid(token)
    if link is None:
        return None, _neutral()
    return link, None


def _verified(link) -> bool:
    return contact.is_verified(session.get(f"contact:{link.id}"))


@bp.route("/<token>", methods=["GET", "POST"])
@public
def open_link(token: str):
    link, refusal = _link(token)
    if refusal:
        return refusal
    if request.method == "GET":
        contact.record_opening(link)
    if _verified(link):
        return redirect(url_for("contact.orientation", token=token))
    form = SecondFactorForm()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        if contact.check_code(link, form.code.data, request.remote_addr):
            session[f"contact:{link.id}"] = contact.verified_until()
            return redirect(url_for("contact.orientation", token=token))
        if not contact.is_live(link):  # too many wrong codes: the link was just revoked
            return render_template("contact/neutral.html"), 404
        form.code.errors = [_("Code incorrect ou expiré. Essais restants : %(n)d.",
                              n=contact.tries_left(link))]
        status = 401
    return render_template("contact/code.html", form=form, send_form=ConfirmForm(), token=token,
                           code_sent=link.code_hash is not None), status


@bp.route("/<token>/code", methods=["POST"])
@public
def send_code(token: str):
    link, refusal = _link(token)
    if refusal:
        return refusal
    if ConfirmForm().validate_on_submit():
        if contact.send_code(link):
            flash(_("Un code vient d'être envoyé à l'adresse de votre structure. Il est valable 15 minutes."),
                  "success")
        else:
            flash(_("Plusieurs codes ont déjà été envoyés à l'adresse de votre structure : "
                    "utilisez le dernier reçu, ou réessayez plus tard."), "error")
    return redirect(url_for("contact.open_link", token=token))


@bp.route("/<token>/orientation", methods=["GET"])
@public
def orientation(token: str):
    link, refusal = _link(token)
    if refusal:
        return refusal
    if not _verified(link):
        return redirect(url_for("contact.open_link", token=token))
    current = charter.current_version()
    if current is not None and link.charter_version != current.version:
        return render_template("contact/charter.html", version=current, form=ConfirmForm(),
                               token=token)
    row = db.session.get(Orientation, link.orientation_id)
    audit.record("orientation.read", actor_kind="contact", object_type="orientation",
                 object_id=row.id, person_id=row.person_id, details={"link": link.id})
    redirect_form = RedirectForm()
    redirect_form.structure_id.choices = [
        SelectChoice(str(s.id), s.name) for s in directory.search_structures()
        if s.id != row.structure_id]
    sender_site = db.session.get(Site, row.sender_site_id) if row.sender_site_id else None
    return render_template("contact/orientation.html", view=orientation_view(row, None, who=PARTNER),
                           orientation=row, token=token, confirm=ConfirmForm(),
                           sender_site=sender_site, sender=sender_view(row),
                           panels=orientation_panels(row, None, contact_token=token),
                           take_form=TakeChargeForm(), refuse_form=RefuseForm(),
                           redirect_form=redirect_form)


@bp.route("/<token>/charter", methods=["POST"])
@public
def accept_charter(token: str):
    link, refusal = _link(token)
    if refusal:
        return refusal
    current = charter.current_version()
    if _verified(link) and current is not None and ConfirmForm().validate_on_submit():
        contact.accept_charter(link, current.version)
    return redirect(url_for("contact.orientation", token=token))


ACTIONS = {
    "acknowledge": (ConfirmForm, lambda o, f, label: services.acknowledge(o, None, label)),
    "take-charge": (TakeChargeForm, lambda o, f, label: services.take_charge(
        o, None, f.first_appointment_on.data, actor_label=label)),
    "refuse": (RefuseForm, lambda o, f, label: services.refuse(
        o, None, f.reason.data, f.reason_code.data, actor_label=label)),
    "redirect": (RedirectForm, lambda o, f, label: services.redirect(
        o, None, f.structure_id.data, f.reason.data, actor_label=label)),
}


@bp.route("/<token>/act/<action>", methods=["POST"])
@public
def act(token: str, action: str):
    link, refusal = _link(token)
    if refusal:
        return refusal
    if action not in ACTIONS or not _verified(link):
        return redirect(url_for("contact.open_link", token=token))
    current = charter.current_version()
    if current is not None and link.charter_version != current.version:
        return redirect(url_for("contact.orientation", token=token))
    form_class, run = ACTIONS[action]
    form = form_class()
    if action == "redirect":
        form.structure_id.choices = [SelectChoice(str(s.id), s.name)
                                     for s in directory.search_structures()]
    row = db.session.get(Orientation, link.orientation_id)
    if not form.validate_on_submit():
        flash(next((m for f in form for m in f.errors), _("Formulaire incomplet.")), "error")
        return redirect(url_for("contact.orientation", token=token))
    try:
        run(row, form, contact.actor_label(link))
        # Which link acted, beside the transition's own entry (same transaction).
        audit.record("orientation.contact_link_used", actor_kind="contact",
                     object_type="orientation", object_id=row.id, person_id=row.person_id,
                     details={"link": link.id, "action": action})
    except ServiceError as error:
        refuse(error)
    else:
        db.session.refresh(link)
        if not contact.is_live(link):  # refused or redirected: the link ended with it
            return render_template("contact/done.html")
        flash(_("Votre réponse est enregistrée ; l'émetteur de l'orientation est prévenu."),
              "success")
    return redirect(url_for("contact.orientation", token=token))
