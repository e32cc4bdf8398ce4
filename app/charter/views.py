"""Reading and accepting the charter."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.charter import services
from app.core.forms import ConfirmForm, safe_next
from app.core.permissions import access

bp = Blueprint("charter", __name__, template_folder="templates")


@bp.route("/charter")
@access("charter.read")
def show():
    version = services.current_version()
    return render_template(
        "charter/show.html",
        version=version,
        accepted=services.acceptance(current_user, version),
        form=ConfirmForm(),
        next=safe_next(request.args.get("next"), ""),
    )


@bp.route("/charter/accept", methods=["POST"])
@access("charter.accept")
def accept():
    form = ConfirmForm()
    version = services.current_version()
    if not form.validate_on_submit() or version is None:
        flash(_("L'acceptation n'a pas pu être enregistrée : rechargez la page et recommencez."),
              "error")
        return redirect(url_for("charter.show"))
    services.accept(current_user, version.version)
    flash(_("Merci : vous avez accepté la version %(v)d de la charte.", v=version.version),
          "success")
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
