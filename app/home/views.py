"""One home page per role: what this person does first in Passerelle."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.charter import services as charter
from app.core.permissions import access

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
@access("home.view")
def index():
    return render_template(
        f"home/{current_user.role}.html",
        charter_accepted=charter.has_accepted_current(current_user),
    )
