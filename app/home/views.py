"""One home page per role: what this person does first in Passerelle."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from app.accueil.forms import SearchForm
from app.charter import services as charter
from app.core.permissions import access, can, public
from app.home import services

bp = Blueprint("home", __name__, template_folder="templates")


# What each home lists, by the permission of the page it leads to, read through the features'
# scopes (app/home/services.py); nothing of a person before the charter is accepted.
_WORK = (("site_day.read", services.reception), ("orientation.inbox", services.partner),
         ("orientation.stalled", services.coordinator))


@bp.route("/")
@access("home.view")
def index():
    accepted = charter.has_accepted_current(current_user)
    context: dict = {}
    for permission, work in _WORK if accepted else ():
        if can(current_user, permission):
            context.update(work(current_user))
    if accepted and can(current_user, "person.search") and can(current_user, "person.create"):
        context["search_form"] = SearchForm()
    return render_template(f"home/{current_user.role}.html", charter_accepted=accepted,
                           **context)


# The day the statement below was last reviewed against the application (RGAA asks for it).
ACCESSIBILITY_STATEMENT_DATE = date(2026, 12, 4)


@bp.route("/accessibilite")
@public
def accessibility():
    """The accessibility statement RGAA asks for: public, linked from every page's footer."""
    return render_template("home/accessibility.html", established=ACCESSIBILITY_STATEMENT_DATE,
                           contact=current_app.config.get("PASSERELLE_ACCESSIBILITY_CONTACT"))

