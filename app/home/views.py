"""One home page per role: what this person does first in Passerelle."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from app.charter import services as charter
from app.core.permissions import access, public

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
@access("home.view")
def index():
    return render_template(
        f"home/{current_user.role}.html",
        charter_accepted=charter.has_accepted_current(current_user),
    )


# The day the statement below was last reviewed against the application (RGAA asks for it).
ACCESSIBILITY_STATEMENT_DATE = date(2026, 12, 4)


@bp.route("/accessibilite")
@public
def accessibility():
    """The accessibility statement RGAA asks for: public, linked from every page's footer."""
    return render_template("home/accessibility.html", established=ACCESSIBILITY_STATEMENT_DATE,
                           contact=current_app.config.get("PASSERELLE_ACCESSIBILITY_CONTACT"))

