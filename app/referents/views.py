"""Parcours pages: open, my parcours, one parcours with its journal and actions, the printout."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.accueil.models import Person
from app.auth.models import User
from app.core import audit
from app.core.confirm import confirm_page, confirmed
from app.core.db import db
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm
from app.core.permissions import access, can
from app.core.spine import act, get_visible_or_404, refuse
from app.referents import services
from app.referents.forms import (
    KIND_LABELS,
    OUTCOME_LABELS,
    PRESENCE_LABELS,
    VISIBILITY_LABELS,
    CloseParcoursForm,
    EntryForm,
    HandoverForm,
    MemberForm,
    ParcoursForm,
)
from app.referents.models import OPEN, Parcours
from app.referents.presenters import journal_view, parcours_view, parcours_views
from app.referents.scopes import journal_entries, visible_parcours

bp = Blueprint("referents", __name__, template_folder="templates")


@bp.app_context_processor
def _labels() -> dict:
    return {"KIND_LABELS": KIND_LABELS, "VISIBILITY_LABELS": VISIBILITY_LABELS,
            "PRESENCE_LABELS": PRESENCE_LABELS, "PARCOURS_OUTCOME_LABELS": OUTCOME_LABELS}


def _choices(users) -> list[SelectChoice]:
    return [SelectChoice(str(u.id), f"{u.display_name}" + (f" ({u.structure.name})"
                                                            if u.structure else ""))
            for u in users]


def _professionals(roles) -> list[SelectChoice]:
    return _choices(services.professionals(roles))


def _parcours(parcours_id: uuid.UUID, permission: str) -> Parcours:
    return get_visible_or_404(Parcours, parcours_id, permission, read="parcours.read")


@bp.route("/persons/<uuid:person_id>/parcours/new", methods=["GET", "POST"])
@access("parcours.open")
def new(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "parcours.open")
    form = ParcoursForm()
    form.referent_id.choices = _professionals(services.REFERENT_ROLES)
    form.member_ids.choices = _professionals(services.MEMBER_ROLES)
    if form.validate_on_submit():
        data = {"referent_id": form.referent_id.data, "member_ids": form.member_ids.data or [],
                "members_reason": form.members_reason.data, "goals": form.goals.data,
                "consent": {"given": bool(form.consent_given.data)}}
        try:
            parcours = services.open_parcours(person, data, current_user)
        except ServiceError as error:
            refuse(error, form, aliases={"consent.given": "consent_given"})
        else:
            flash(_("Parcours ouvert. Le référent et les membres sont prévenus."), "success")
            target = parcours.id if can(current_user, "parcours.read", parcours) else None
            return redirect(url_for("referents.show", parcours_id=target) if target
                            else url_for("accueil.person", person_id=person.id))
    return render_template("referents/new.html", form=form, person=person)


@bp.route("/parcours")
@access("parcours.list")
def mine():
    views = parcours_views(db.session.scalars(visible_parcours(current_user)), current_user,
                           detail=True)
    # What needs attention first: the open parcours, silent ones leading; the newest first.
    views.sort(key=lambda v: (v["status"] != OPEN, not v["silent"]))
    return render_template("referents/mine.html", views=views)


@bp.route("/parcours/<uuid:parcours_id>")
@access("parcours.read")
def show(parcours_id: uuid.UUID):
    parcours = _parcours(parcours_id, "parcours.read")
    audit.record("parcours.read", actor=current_user, object_type="parcours",
                 object_id=parcours.id, person_id=parcours.person_id)
    handover_form = HandoverForm()
    if parcours.status == OPEN and can(current_user, "parcours.handover", parcours):
        # only those who may receive it: référents of its territory, member structures' referents
        handover_form.referent_id.choices = _choices(services.handover_candidates(parcours))
    member_form = MemberForm()
    member_form.user_id.choices = [SelectChoice("", _("— Choisir un professionnel —"))] + \
        _professionals(services.MEMBER_ROLES)
    view = parcours_view(parcours, current_user, detail=True)
    journal = None
    if can(current_user, "parcours.entries", parcours):
        writes = parcours.status == OPEN and can(current_user, "parcours.write", parcours)
        journal = journal_view(journal_entries(current_user, parcours),
                               view["your_role"] if writes else None)
    corrected = journal["correctable"].get(request.args.get("corrects", "")) if journal else None
    entry_form = EntryForm()
    if corrected is not None:  # the form starts from the entry to correct
        entry_form = EntryForm(kind=corrected.kind, visibility=corrected.visibility,
                               happened_on=corrected.happened_on,
                               person_present=corrected.person_presence or "",
                               content=corrected.content, corrects_id=str(corrected.id))
    return render_template(
        "referents/show.html", parcours=parcours, view=view, journal=journal,
        entries=journal["entries"] if journal else None, corrected=corrected,
        entry_form=entry_form, handover_form=handover_form, member_form=member_form,
        close_form=CloseParcoursForm(), confirm=ConfirmForm())


def _page(parcours: Parcours) -> str:
    return url_for("referents.show", parcours_id=parcours.id)


def _next_page(parcours: Parcours, _result) -> str | None:
    """An actor who no longer reads the parcours (a handover, a withdrawal) goes to their list."""
    return None if can(current_user, "parcours.read", parcours) else url_for("referents.mine")


def _act(parcours_id: uuid.UUID, permission: str, form, action: Callable, message: str):
    return act(_parcours(parcours_id, permission), form, action, message,
               back=_page, done=_next_page)


@bp.route("/parcours/<uuid:parcours_id>/entries", methods=["POST"])
@access("parcours.write")
def add_entry(parcours_id: uuid.UUID):
    def write(parcours, form):
        return services.add_entry(parcours, {
            "kind": form.kind.data, "visibility": form.visibility.data,
            "happened_on": form.happened_on.data, "content": form.content.data,
            "person_present": form.person_present.data or None,
            "corrects_id": form.corrects_id.data or None}, current_user)

    return _act(parcours_id, "parcours.write", EntryForm(), write, _("Entrée ajoutée au journal."))


@bp.route("/parcours/<uuid:parcours_id>/members", methods=["POST"])
@access("parcours.manage")
def add_member(parcours_id: uuid.UUID):
    return _act(parcours_id, "parcours.manage", MemberForm(),
                lambda p, f: services.add_member(p, f.user_id.data, f.reason.data, current_user),
                _("Membre ajouté au parcours."))


@bp.route("/parcours/<uuid:parcours_id>/members/<uuid:member_id>/remove", methods=["POST"])
@access("parcours.manage")
def remove_member(parcours_id: uuid.UUID, member_id: uuid.UUID):
    """Take a member off the parcours, after a confirmation step."""
    parcours = _parcours(parcours_id, "parcours.manage")
    member = next((m for m in parcours.members if m.id == member_id and m.removed_at is None),
                  None)
    if member is None:
        abort(404)
    if not confirmed():
        user = db.session.get(User, member.user_id)
        return confirm_page(
            title=_("Retirer un membre du parcours"),
            message=[_("%(name)s n'aura plus accès au parcours ni à son journal. Ses entrées "
                       "passées restent dans le journal.", name=user.display_name if user else ""),
                     _("Il ou elle en est prévenu(e) par un message qui ne dit rien de la "
                       "personne.")],
            button=_("Retirer du parcours"), cancel_url=_page(parcours), danger=True)
    return _act(parcours_id, "parcours.manage", ConfirmForm(),
                lambda p, f: services.remove_member(p, member_id, current_user),
                _("Le membre a été retiré du parcours."))


@bp.route("/parcours/<uuid:parcours_id>/handover", methods=["POST"])
@access("parcours.handover")
def handover(parcours_id: uuid.UUID):
    form = HandoverForm()
    if not confirmed() and form.validate_on_submit():
        # A confirmation first: the new référent will read the référent-only notes.
        parcours = _parcours(parcours_id, "parcours.handover")
        new = next((u for u in services.handover_candidates(parcours)
                    if str(u.id) == form.referent_id.data), None)
        if new is not None and parcours.status == OPEN:
            return confirm_page(
                title=_("Confier le parcours à un autre référent"),
                message=[_("%(name)s deviendra le ou la référent(e) de ce parcours et lira tout "
                           "son journal, y compris les notes réservées au référent.",
                           name=new.display_name),
                         _("Vous êtes prévenu(e)s tous les deux par un message.")],
                details=[(_("Raison du changement"), form.reason.data)],
                button=_("Confier le parcours"), cancel_url=_page(parcours))
    return _act(parcours_id, "parcours.handover", form,
                lambda p, f: services.handover(p, f.referent_id.data, f.reason.data, current_user),
                _("Le parcours est confié au nouveau référent, qui en est prévenu."))


@bp.route("/parcours/<uuid:parcours_id>/close", methods=["POST"])
@access("parcours.manage")
def close(parcours_id: uuid.UUID):
    return _act(parcours_id, "parcours.manage", CloseParcoursForm(),
                lambda p, f: services.close(p, f.outcome.data, current_user, f.note.data),
                _("Parcours clos."))


@bp.route("/parcours/<uuid:parcours_id>/withdraw", methods=["POST"])
@access("parcours.manage")
def withdraw(parcours_id: uuid.UUID):
    return _act(parcours_id, "parcours.manage", ConfirmForm(),
                lambda p, f: services.withdraw(p, current_user),
                _("Retrait du consentement enregistré : les membres n'ont plus accès au parcours."))


@bp.route("/parcours/<uuid:parcours_id>/print")
@access("parcours.entries")
def printout(parcours_id: uuid.UUID):
    """The goals and decisions, in plain language, for the person."""
    parcours = get_visible_or_404(Parcours, parcours_id, "parcours.entries")  # outsiders: 404
    decisions = [e for e in journal_entries(current_user, parcours)
                 if e.kind == "decision" and e.visibility == "members"]
    audit.record("parcours.print", actor=current_user, object_type="parcours",
                 object_id=parcours.id, person_id=parcours.person_id)
    return render_template("referents/print.html", parcours=parcours,
                           view=parcours_view(parcours, current_user),
                           decisions=list(reversed(decisions)))
