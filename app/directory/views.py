"""The one public page of the directory: a structure's new contact address confirms itself.

Opening the link changes nothing (a mail scanner may open it); the button's POST confirms.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.core.db import db
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm
from app.core.permissions import public
from app.directory import services

bp = Blueprint("directory", __name__, template_folder="templates")


@bp.route(services.CONTACT_CONFIRM_PATH + "<token>", methods=["GET", "POST"])
@public
def confirm_contact(token: str):
    change = services.contact_change_for(token)
    if change is None:
        return render_template("directory/confirm_contact.html", change=None, done=False), 404
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            structure = services.confirm_contact_change(token)
        except ServiceError:
            db.session.rollback()
            return render_template("directory/confirm_contact.html", change=None,
                                   done=False), 404
        return render_template("directory/confirm_contact.html", change=change, done=True,
                               structure=structure)
    return render_template("directory/confirm_contact.html", change=change, done=False,
                           structure=change.structure, form=form)
