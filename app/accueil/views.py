"""Accueil pages: load → check → act, the services own every change."""

from __future__ import annotations

import json
import uuid
from contextlib import nullcontext
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.accueil import duplicates, persons, queue, records, scopes, search, visits
from app.accueil import merge as merging
from app.accueil.forms import (
    BreakGlassForm,
    MergeForm,
    OutcomeForm,
    PersonEditForm,
    PersonForm,
    SearchForm,
    VisitForm,
)
from app.accueil.models import BreakGlassAccess, Need, Person, PersonMerge, Visit
from app.accueil.panels import SLIP_ORIENTATIONS, panels_for
from app.auth.models import User
from app.core import audit
from app.core.crypto import DecryptionError
from app.core.db import db, key_ring, load_many, utcnow
from app.core.enums import DOMAIN_LABELS, NEED_OUTCOME_LABELS, Domain
from app.core.errors import NotFound, ServiceError, TooManyRequests
from app.core.forms import ConfirmForm
from app.core.i18n import LANGUAGES
from app.core.pagination import ListPage
from app.core.permissions import access, can
from app.core.spine import get_visible_or_404, refuse
from app.directory.models import Site

bp = Blueprint("accueil", __name__, template_folder="templates")
PER_PAGE = 20


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"ACTION_LABELS": records.ACTION_LABELS, "ACTOR_LABELS": records.ACTOR_LABELS,
            "NEED_OUTCOME_LABELS": NEED_OUTCOME_LABELS}


def _visit(visit_id: uuid.UUID, permission: str) -> Visit:
    """A visit is judged by its person's rules."""
    return get_visible_or_404(Visit, visit_id, permission, subject=lambda visit: visit.person)


# -- search and creation ----------------------------------------------------------------------
@bp.route("/persons/search", methods=["GET", "POST"], endpoint="search")
@access("person.search")
def search_page():
    """Post/redirect/get: the POST keeps the query, encrypted, in the session and redirects to
    ``?results=1``, which searches again: the results survive the Back button, and the name
    stays out of URLs (history, proxies, Referer)."""
    form = SearchForm()
    if form.validate_on_submit():
        _remember_search(form.q.data, form.birth_date.data)
        page_number = request.form.get("page", 1, type=int)
        return redirect(url_for("accueil.search", results=1,
                                page=page_number if page_number > 1 else None), 303)
    page, truncated, refused = None, False, None
    remembered = _recalled_search() if request.method == "GET" and request.args.get("results") \
        else None
    if remembered is not None:
        form.q.data, form.birth_date.data = remembered
        try:
            found = search.find_persons(current_user, *remembered)
        except TooManyRequests as error:
            refused = error.message  # recorded: the request still commits its audit entry
        else:
            page = ListPage(found.hits, request.args.get("page", 1, type=int), PER_PAGE)
            search.with_access(current_user, page.items)
            truncated = found.truncated
    return render_template("accueil/search.html", form=form, page=page,
                           searched=page is not None, truncated=truncated, refused=refused,
                           limit=search.MAX_CANDIDATES,
                           can_create=can(current_user, "person.create")), 429 if refused else 200


_SEARCH_KEY = "person_search"


def _remember_search(q: str, birth_date: Any) -> None:
    """The last search, encrypted for this user (the session cookie holds no name)."""
    text = json.dumps({"q": q, "birth_date": birth_date.isoformat() if birth_date else None})
    session[_SEARCH_KEY] = key_ring().encrypt(text, f"person-search|{current_user.id}")


def _recalled_search() -> tuple[str, date | None] | None:
    token = session.get(_SEARCH_KEY)
    if not isinstance(token, str):
        return None
    try:
        value = json.loads(key_ring().decrypt(token, f"person-search|{current_user.id}"))
        birth = date.fromisoformat(value["birth_date"]) if value.get("birth_date") else None
        return str(value["q"]), birth
    except (DecryptionError, ValueError, KeyError, TypeError):
        return None


@bp.route("/persons/new", methods=["GET", "POST"])
@access("person.create")
def new_person():
    if request.form.get("prefill") == "1":  # from the search page: its name, by POST too
        form = PersonForm(formdata=None)
        typed = request.form.get("name") or request.form.get("last_name") or ""
        if not persons.parse_reception_number(typed):
            form.first_name.data, form.last_name.data = persons.split_name(typed)
        return render_template("accueil/person_new.html", form=form, candidates=[])
    form = PersonForm()
    found = duplicates.Duplicates()
    if form.validate_on_submit():
        data = {name: form[name].data for name in persons.EDITABLE_FIELDS}
        data["anonymous"] = bool(form.anonymous.data)
        values, _errors = persons.clean_identity(data, anonymous=data["anonymous"])
        # A confirmation holds for the identity it was given for: edited names check again.
        fingerprint = persons.identity_fingerprint(values)
        if not data["anonymous"] and form.confirm_duplicate.data != fingerprint:
            # paced and audited like a search: it looks names up across the département
            found = duplicates.duplicates_for(current_user, values)
        candidates = found.hits or found.elsewhere
        if not candidates:
            try:
                person = persons.create_person(data, current_user, current_user.site_id)
            except ServiceError as error:
                refuse(error, form)
            else:
                flash(_("Dossier créé : numéro d'accueil %(n)s.", n=person.reception_number),
                      "success")
                if not found.checked:
                    flash(_("Les doublons n'ont pas été vérifiés : vous avez atteint votre "
                            "nombre de recherches. Si cette personne avait déjà un dossier, "
                            "signalez-le à votre coordinateur."), "warning")
                return redirect(url_for("accueil.new_visit", person_id=person.id))
        form.confirm_duplicate.data = fingerprint if candidates else ""
    return render_template("accueil/person_new.html", form=form, candidates=found.hits,
                           elsewhere=found.elsewhere)


# -- the person's file ------------------------------------------------------------------------
@bp.route("/persons/<uuid:person_id>")
@access("person.read")
def person(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "person.read")
    fields = scopes.visible_fields(current_user, person)
    audit.record("person.read", actor=current_user, object_type="person", object_id=person.id,
                 person_id=person.id)
    full = fields == scopes.FULL
    visits_seen = scopes.visits_of_person(current_user, person)
    return render_template(
        "accueil/person.html", person=person, full=full,
        shared=set() if full else fields,
        visits=visits_seen, orient_url=_orient_url(person, visits_seen),
        kept=db.session.get(Person, person.merged_into_id) if person.merged_into_id else None,
        panels=panels_for(person, current_user),
        access_log=(records.access_log(person)
                    if can(current_user, "person.access_log", person) else None),
        revisions=persons.revisions(person) if full else [],
        merges=merging.merges_of(person) if can(current_user, "person.merge") else [],
        confirm=ConfirmForm(),
    )


def _orient_url(person: Person, visits_seen: list[Visit]) -> str | None:
    """The file's one "Orienter" button: the oldest need still to orient, pre-filled; else
    the latest visit's needs; else an orientation without a visit."""
    if not can(current_user, "orientation.send") or not can(current_user, "visit.create",
                                                            person):
        return None
    waiting = [(visit, need) for visit in reversed(visits_seen) for need in visit.needs
               if need.outcome == "to_orient"]
    if waiting:
        visit, need = waiting[0]
        return url_for("orientation.new", person_id=person.id, visit_id=visit.id,
                       domain=need.domain)
    latest = next((visit for visit in visits_seen if visit.needs), None)
    if latest is not None:
        return url_for("orientation.new", person_id=person.id, visit_id=latest.id)
    return url_for("orientation.new", person_id=person.id)


@bp.route("/persons/<uuid:person_id>/edit", methods=["GET", "POST"])
@access("person.update")
def edit_person(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "person.update")
    form = PersonEditForm(obj=person)
    if form.validate_on_submit():
        data = {name: form[name].data for name in persons.EDITABLE_FIELDS}
        try:
            persons.update_person(person, data, current_user)
        except ServiceError as error:
            refuse(error, form)
        else:
            flash(_("Identité mise à jour ; les anciennes valeurs sont conservées dans l'historique."),
                  "success")
            return redirect(url_for("accueil.person", person_id=person.id))
    return render_template("accueil/person_edit.html", form=form, person=person)


@bp.route("/persons/<uuid:person_id>/break-glass", methods=["GET", "POST"])
@access("person.break_glass")
def break_glass(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "person.break_glass")
    if scopes.can_open(current_user, person):
        return redirect(url_for("accueil.person", person_id=person.id))
    form = BreakGlassForm()
    if form.validate_on_submit():
        try:
            scopes.break_glass(current_user, person, form.reason.data)
        except ServiceError as error:
            refuse(error, form)
        else:
            flash(_("Accès exceptionnel accordé pour 24 heures. Il est enregistré."), "warning")
            return redirect(url_for("accueil.person", person_id=person.id))
    return render_template("accueil/break_glass.html", form=form, person=person)


@bp.route("/persons/<uuid:person_id>/export")
@access("person.export")
def export(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "person.export")
    record = records.export_person(person, current_user)
    if request.args.get("format") == "json":
        body = json.dumps(record, ensure_ascii=False, indent=2, default=str)
        return Response(body, mimetype="application/json", headers={
            "Content-Disposition": f"attachment; filename=passerelle-{person.reception_number}.json"})
    return render_template("accueil/export.html", person=person, record=record, now=utcnow(),
                           sections=records.export_sections(),
                           IDENTITY_LABELS=records.IDENTITY_LABELS)


# -- visits -----------------------------------------------------------------------------------
def _needs_complete(form: VisitForm) -> bool:
    """A note on a domain left unticked would be dropped: say so instead."""
    incomplete = [need for need in form.needs if need.note.data and not need.selected.data]
    for need in incomplete:
        need.note.errors = [*need.note.errors, _("Cochez ce domaine ou effacez la précision.")]
    if incomplete:
        form.form_errors.append(_("Une précision est écrite sous un domaine non coché : cochez "
                                  "le domaine, ou effacez la précision."))
    return not incomplete


def _visit_form() -> VisitForm:
    """The visit form with one need entry per domain, in Domain's order, whatever was posted."""
    if request.method != "POST":
        return VisitForm(data={"needs": [{"domain": d.value} for d in Domain]})
    # Entry i is Domain's i-th domain, whatever the browser sent (or left out).
    posted = request.form.copy()
    for index, domain in enumerate(Domain):
        posted.setlist(f"needs-{index}-domain", [domain.value])
    for key in list(posted):
        if key.startswith("needs-") and key.split("-")[1].isdigit() \
                and int(key.split("-")[1]) >= len(Domain):
            posted.poplist(key)
    return VisitForm(formdata=posted)


@bp.route("/persons/<uuid:person_id>/visits/new", methods=["GET", "POST"])
@access("visit.create")
def new_visit(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "visit.create")
    form = _visit_form()
    if form.validate_on_submit() and _needs_complete(form):
        needs = [{"domain": n.domain.data, "urgency": "urgent" if n.urgent.data else "standard",
                  "note": n.note.data, "outcome": n.outcome.data}
                 for n in form.needs if n.selected.data]
        data = {
            "channel": form.channel.data, "summary": form.summary.data,
            # Without a need (a simple question), the visit was answered on the spot.
            "outcome": None if needs else "answered",
            "answered_actions": form.answered_actions.data,
            "next_steps": form.next_steps.data, "needs": needs,
        }
        try:
            visit = visits.record_visit(person, data, current_user)
        except ServiceError as error:
            refuse(error, form)
        else:
            to_orient = [n for n in visit.needs if n.outcome == "to_orient"]
            if to_orient:  # "Enregistrer et orienter": the orientation of the first such need
                flash(_("Passage enregistré. Orientez maintenant le besoin « %(d)s ».",
                        d=DOMAIN_LABELS[to_orient[0].domain]), "success")
                return redirect(url_for("orientation.new", person_id=person.id,
                                        visit_id=visit.id, domain=to_orient[0].domain))
            flash(_("Passage enregistré."), "success")
            return redirect(url_for("accueil.slip", visit_id=visit.id)
                            if request.form.get("then") == "slip"
                            else url_for("accueil.person", person_id=person.id))
    return render_template("accueil/visit_new.html", form=form, person=person)


@bp.route("/visits/<uuid:visit_id>/outcome", methods=["POST"])
@access("visit.create")
def set_visit_outcome(visit_id: uuid.UUID):
    visit = _visit(visit_id, "visit.create")
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            visits.set_outcome(visit, form.outcome.data, current_user)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("Suite du passage mise à jour."), "success")
    # The site's queue (the day's page, the agent's home) comes back to itself: named, so that
    # no address from the request is followed.
    back = {"home": "home.index", "day": "accueil.day"}.get(request.form.get("back", ""))
    if back is not None:
        return redirect(url_for(back))
    return redirect(request.referrer if request.referrer and "/site/day" in request.referrer
                    else url_for("accueil.person", person_id=visit.person_id))


@bp.route("/visits/<uuid:visit_id>/slip")
@access("slip.print")
def slip(visit_id: uuid.UUID):
    """The slip handed to the person; ``?lang=en`` prints it in English."""
    visit = _visit(visit_id, "slip.print")
    audit.record("slip.print", actor=current_user, object_type="visit", object_id=visit.id,
                 person_id=visit.person_id)
    lang = request.args.get("lang")
    with force_locale(lang) if lang in LANGUAGES else nullcontext():
        panels = panels_for(visit.person, current_user, slip=True, visit=visit)
        return render_template(
            "accueil/slip.html", visit=visit, person=visit.person,
            site=db.session.get(Site, visit.site_id), panels=panels,
            # the outcome says "sent" only once an orientation of this visit was sent
            orientation_sent=any(panel.name == SLIP_ORIENTATIONS for panel in panels),
            slip_lang=lang if lang in LANGUAGES else None,
            # "Envoyer et imprimer": the print dialog opens on arrival (print.js).
            autoprint=request.args.get("print") == "1")


@bp.route("/site/day")
@access("site_day.read")
def day():
    if current_user.site_id is None:
        abort(404)
    today = visits.site_day(current_user.site_id)
    waiting = queue.waiting_today(current_user)
    # Today's waiting visits are the queue above; the pending list keeps the earlier days'.
    earlier = [v for v in today.pending if v.id not in {w.visit.id for w in waiting}]
    # Nothing waits unseen: the needs whose orientation was never sent, oldest first, paged.
    to_orient = db.paginate(visits.pending_needs(current_user.site_id)
                            .where(Need.outcome == "to_orient"),
                            page=request.args.get("needs_page", 1, type=int),
                            per_page=PER_PAGE, error_out=False)
    return render_template("accueil/day.html", day=today, waiting=waiting,
                           earlier_pending=earlier, to_orient=to_orient,
                           site=db.session.get(Site, current_user.site_id), form=OutcomeForm())


# -- coordinators: merge, break-the-glass review ----------------------------------------------
@bp.route("/persons/<uuid:person_id>/merge", methods=["GET", "POST"])
@access("person.merge")
def merge(person_id: uuid.UUID):
    kept = get_visible_or_404(Person, person_id, "person.read")
    form = MergeForm()
    other = None
    if form.validate_on_submit():
        other = scopes.openable_by_number(current_user,
                                          persons.parse_reception_number(form.other.data))
        if other is None:
            form.other.errors = [_("Aucun dossier ouvert avec ce numéro : ouvrez d'abord le doublon (accès exceptionnel).")]
            other = None
        elif form.confirm.data == str(other.id):
            try:
                merging.merge_persons(kept, other, current_user)
            except ServiceError as error:
                refuse(error, form)
            else:
                flash(_("Dossiers fusionnés. La fusion peut être annulée pendant 30 jours."),
                      "success")
                return redirect(url_for("accueil.person", person_id=kept.id))
        else:
            form.confirm.data = str(other.id)
    return render_template("accueil/merge.html", form=form, kept=kept, other=other)


@bp.route("/merges/<uuid:merge_id>/revert", methods=["POST"])
@access("person.merge")
def revert_merge(merge_id: uuid.UUID):
    record = db.session.get(PersonMerge, merge_id)
    if record is None:
        raise NotFound()
    kept = get_visible_or_404(Person, record.kept_id, "person.read")
    if ConfirmForm().validate_on_submit():
        try:
            merging.revert_merge(record, current_user)
        except ServiceError as error:
            refuse(error)
        else:
            flash(_("La fusion est annulée : les deux dossiers sont de nouveau séparés."),
                  "success")
    return redirect(url_for("accueil.person", person_id=kept.id))


@bp.route("/break-glass")
@access("break_glass.review")
def break_glass_log():
    grants = scopes.grants_to_review(current_user)
    users = {u.id: u for u in load_many(User, {g.user_id for g in grants})}
    people = {p.id: p for p in load_many(Person, {g.person_id for g in grants})}
    return render_template("accueil/break_glass_log.html", grants=grants, users=users,
                           persons_by_id=people)


@bp.route("/break-glass/<uuid:grant_id>/review", methods=["POST"])
@access("break_glass.review")
def review_break_glass(grant_id: uuid.UUID):
    """A coordinator of the person's territory marks an exceptional access as checked."""
    grant = get_visible_or_404(BreakGlassAccess, grant_id, "break_glass.review")
    if ConfirmForm().validate_on_submit():
        scopes.review_grant(grant, current_user)
        flash(_("Accès exceptionnel marqué comme vérifié."), "success")
    else:
        flash(_("Le formulaire a expiré : rechargez la page et recommencez."), "error")
    return redirect(url_for("accueil.break_glass_log"))
