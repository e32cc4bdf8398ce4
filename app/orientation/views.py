"""Orientation pages: the directory, sending, the partner's inbox, one orientation and its actions."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.accueil.models import Person, Visit
from app.core import audit, spine
from app.core.csv import csv_response
from app.core.db import db, utcnow
from app.core.enums import DOMAIN_LABELS, STRUCTURE_KIND_LABELS, URGENCY_LABELS, Domain
from app.core.errors import NotFound, ServiceError, TooManyRequests
from app.core.forms import ConfirmForm
from app.core.pagination import ListPage
from app.core.permissions import access, can
from app.core.routing import replica_reads
from app.core.spine import act, get_visible_or_404
from app.directory import services as directory
from app.directory.models import Structure
from app.orientation import designated, reminders, services, sharing
from app.orientation import inbox as inbox_search
from app.orientation.deadlines import local_date
from app.orientation.designated import referents_by_structure
from app.orientation.forms import (
    SHARE_LABELS,
    CloseForm,
    ConsentForm,
    InboxSearchForm,
    OrientationForm,
    ReasonForm,
    RedirectForm,
    RefuseForm,
    TakeChargeForm,
)
from app.orientation.models import Orientation
from app.orientation.panels import orientation_panels
from app.orientation.presenters import orientation_view, preload, sender_view
from app.orientation.scopes import (
    filter_orientations,
    most_urgent_first,
    visible_orientations,
)
from app.orientation.status import STATUS_LABELS, OrientationStatus

bp = Blueprint("orientation", __name__, template_folder="templates")
PER_PAGE = 25


@bp.app_context_processor
def _labels() -> dict:
    return {"STATUS_LABELS": STATUS_LABELS, "SHARE_LABELS": SHARE_LABELS,
            "OrientationStatus": OrientationStatus}


def _orientation(orientation_id: uuid.UUID, permission: str) -> Orientation:
    return get_visible_or_404(Orientation, orientation_id, permission, read="orientation.read")


# -- directory --------------------------------------------------------------------------------
def _directory_query():
    domain = request.args.get("domain") or None
    if domain and domain not in Domain._value2member_map_:
        domain = None
    return directory.search_structures(domain=domain, territory=request.args.get("territory"),
                                       q=request.args.get("q"))


@bp.route("/directory")
@access("directory.read")
def directory_page():
    page = ListPage(_directory_query(), request.args.get("page", 1, type=int), PER_PAGE)
    return render_template("orientation/directory.html", page=page,
                           territories=directory.territories(), args=request.args)


@bp.route("/directory.csv")
@access("directory.read")
def directory_csv():
    header = [_("Nom"), _("Type"), _("Domaines"), _("Territoires"), _("Adresse"), _("Téléphone"),
              _("Adresse électronique de contact"), _("Horaires d'ouverture"),
              _("Délai d'accusé de réception (jours ouvrés)"),
              _("Délai de prise en charge (jours ouvrés)")]
    rows = []
    with replica_reads():  # the whole directory, read on the replica when one is set
        for s in _directory_query():
            ack, take = services.delays(s)
            rows.append([s.name, str(STRUCTURE_KIND_LABELS.get(s.kind, s.kind)),
                         ", ".join(str(DOMAIN_LABELS[d]) for d in s.domains),
                         ", ".join(s.territories), s.address, s.phone, s.contact_email,
                         s.opening_hours, ack, take])
    return csv_response(header, rows, "annuaire-partenaires.csv")


@bp.route("/directory/<uuid:structure_id>")
@access("directory.read")
def structure_page(structure_id: uuid.UUID):
    structure = db.get_or_404(Structure, structure_id)
    ack, take = services.delays(structure)
    return render_template("orientation/structure.html", structure=structure, ack=ack,
                           take=take, referents=designated.referents(structure.id))


# -- sending ----------------------------------------------------------------------------------
def _structure_choices(domain: str | None, territory: str | None, every=None) -> list:
    """Structures covering the domain in the territory first, then every other one (``every``:
    the active structures, when the caller has them already)."""
    matching = directory.search_structures(domain=domain, territory=territory) if domain else []
    every = directory.search_structures() if every is None else every
    others = [s for s in every if s not in matching]
    return ([SelectChoice("", _("— choisir —"))]
            + [SelectChoice(str(s.id), f"★ {s.name}") for s in matching]
            + [SelectChoice(str(s.id), s.name) for s in others])


def _referent_choices(every: list[Structure]) -> list:
    """The designated referents of the active structures ``every``, by structure."""
    referents = referents_by_structure([s.id for s in every])
    return [SelectChoice("", _("— aucun en particulier —"))] + [
        SelectChoice(str(u.id), f"{u.display_name} ({s.name})")
        for s in every for u in referents.get(s.id, [])]


CONSENT_ALIASES = {"consent.given": "consent_given", "consent.shared_fields": "shared_fields",
                   "consent.shared_needs": "shared_needs",
                   "consent.accepts_redirect": "accepts_redirect",
                   "consent.purpose": "consent_purpose",
                   "consent.shared_documents": "shared_documents"}


def _need_choices(form, visit: Visit | None, default_domain: str | None) -> None:
    """The visit's needs, each to share or not; by default the need of the oriented domain."""
    needs = list(visit.needs) if visit is not None else []
    form.shared_needs.choices = [
        SelectChoice(n.domain, f"{DOMAIN_LABELS[n.domain]} ({URGENCY_LABELS[n.urgency]})")
        for n in needs]
    if default_domain is not None:
        form.shared_needs.data = [n.domain for n in needs if n.domain == default_domain]


def _document_choices(form, person: Person) -> None:
    """The person's documents, each to share or not (none by default)."""
    share = sharing.get_share("shared_documents")
    form.shared_documents.choices = [SelectChoice(value, label)
                                     for value, label in share.choices(person)] if share else []


def _consent_data(form) -> dict:
    return {"given": bool(form.consent_given.data),
            "shared_fields": form.shared_fields.data or [],
            "shared_needs": form.shared_needs.data or [],
            "shared_documents": form.shared_documents.data or [],
            "accepts_redirect": bool(form.accepts_redirect.data),
            "purpose": form.consent_purpose.data}


@bp.route("/persons/<uuid:person_id>/orientations/new", methods=["GET", "POST"])
@access("orientation.send")
def new(person_id: uuid.UUID):
    person = get_visible_or_404(Person, person_id, "visit.create")
    form = OrientationForm()
    visit = None
    visit_id = request.values.get("visit_id")
    if visit_id:
        try:
            visit_uuid = uuid.UUID(visit_id)
        except ValueError:
            raise NotFound() from None
        visit = get_visible_or_404(Visit, visit_uuid, "visit.create",
                                   subject=lambda visit: visit.person)
        if visit.person_id != person.id:
            raise NotFound()
    previous = _refused_to_orient_again(person)
    if previous is not None and visit is None and previous.visit_id:
        visit = db.session.get(Visit, previous.visit_id)
    if request.method == "GET":
        _prefill(form, visit, previous)
    domain = form.domain.data or request.args.get("domain")
    territory = current_user.site.territory if current_user.site else None
    every = directory.search_structures()
    form.structure_id.choices = _structure_choices(domain, territory, every)
    form.referent_id.choices = _referent_choices(every)
    matching = [c for c in form.structure_id.choices if c.label.startswith("★ ")]
    if request.method == "GET" and len(matching) == 1 and previous is None:
        form.structure_id.data = matching[0].value  # the one structure covering that need
    _need_choices(form, visit, domain if request.method == "GET" else None)
    _document_choices(form, person)
    submitted = form.is_submitted()
    valid = submitted and form.validate()  # first: validating clears the fields' errors
    if submitted and _plainly_complete(form, every) and valid:
        data = {"structure_id": form.structure_id.data, "domain": form.domain.data,
                "motive": form.motive.data, "visit_id": form.visit_id.data or None,
                "referent_id": form.referent_id.data or None,
                "coverage_override": form.coverage_override.data,
                "consent": _consent_data(form)}
        try:
            orientation = services.send_orientation(person, data, current_user)
        except ServiceError as error:
            spine.refuse(error, form, aliases=CONSENT_ALIASES)
        else:
            if orientation.urgent:
                flash(_("Orientation urgente envoyée. La structure est prévenue et doit en accuser réception au plus tard le %(d)s, puis prendre la personne en charge avant le %(t)s.",
                        d=orientation.acknowledge_due.strftime("%d/%m/%Y"),
                        t=orientation.take_charge_due.strftime("%d/%m/%Y")), "success")
            else:
                flash(_("Orientation envoyée. La structure est prévenue et doit en accuser réception avant le %(d)s.",
                      d=orientation.acknowledge_due.strftime("%d/%m/%Y")), "success")
            if orientation.visit_id:
                # "Envoyer et imprimer": the slip opens the print dialog itself.
                printing = {"print": 1} if request.form.get("then") == "print" else {}
                return redirect(url_for("accueil.slip", visit_id=orientation.visit_id,
                                        **printing))
            return redirect(url_for("accueil.person", person_id=person.id))
    return render_template("orientation/new.html", form=form, person=person, visit=visit,
                           previous=previous, previous_structure=db.session.get(
                               Structure, previous.structure_id) if previous else None,
                           covers={str(s.id): " ".join(s.domains) for s in every})


# What the person usually agrees to share so that the structure can call them back: pre-ticked,
# each box still read out and untickable (the person's consent is ticked by the agent).
DEFAULT_SHARED_FIELDS = ["first_name", "last_name", "phone"]


def _prefill(form: OrientationForm, visit: Visit | None, previous: Orientation | None) -> None:
    """The form opened from a need (``?domain=`` of the visit, else its first need to orient,
    else its first need): its domain and its note as the motive; from a refused orientation
    (``?again=``): its domain, motive and consent's fields, for another structure."""
    form.visit_id.data = str(visit.id) if visit else ""
    form.shared_fields.data = list(DEFAULT_SHARED_FIELDS)
    if previous is not None:
        form.domain.data = previous.domain
        form.motive.data = previous.motive
        form.shared_fields.data = [f for f in previous.shared if f != "needs"] or \
            list(DEFAULT_SHARED_FIELDS)
        return
    if not (visit and visit.needs):
        form.domain.data = request.args.get("domain") or form.domain.data
        return
    asked = request.args.get("domain")
    need = (next((n for n in visit.needs if n.domain == asked), None)
            or next((n for n in visit.needs if n.outcome == "to_orient"), None)
            or visit.needs[0])
    form.domain.data = asked if asked in Domain._value2member_map_ else need.domain
    if need.domain == form.domain.data and need.note:
        form.motive.data = need.note


def _refused_to_orient_again(person: Person) -> Orientation | None:
    """``?again=<id>``: a refused orientation of this person, to send again elsewhere."""
    raw = request.values.get("again")
    if not raw:
        return None
    try:
        orientation_id = uuid.UUID(raw)
    except ValueError:
        raise NotFound() from None
    previous = get_visible_or_404(Orientation, orientation_id, "orientation.read")
    if previous.person_id != person.id or previous.status != OrientationStatus.REFUSED:
        raise NotFound()
    return previous


def _plainly_complete(form: OrientationForm, every: list[Structure]) -> bool:
    """Errors that say what to do, in five words, before the service's own checks."""
    complete = True

    def say(field, message):
        nonlocal complete
        field.errors = [*(field.errors or []), message]
        complete = False

    if not form.consent_given.data:
        say(form.consent_given, _("Cochez l'accord de la personne."))
    structure = next((s for s in every if str(s.id) == form.structure_id.data), None)
    if structure is None:
        say(form.structure_id, _("Choisissez une structure partenaire."))
    elif (form.domain.data and form.domain.data not in structure.domains
          and not (form.coverage_override.data or "").strip()):
        say(form.coverage_override, _("Expliquez pourquoi cette structure."))
    return complete  # an empty motive: the field's own message (forms.OrientationForm)


# -- lists ------------------------------------------------------------------------------------
def _list(query, template: str, **context):
    status = request.args.get("status") or ""
    domain = request.args.get("domain") or ""
    today = local_date(utcnow())
    page = db.paginate(most_urgent_first(filter_orientations(query, status, domain,
                                                             today=today), today),
                       page=request.values.get("page", 1, type=int),
                       per_page=PER_PAGE, error_out=False)
    needs = preload(page.items)
    views = [orientation_view(o, current_user, with_events=False, needs_by_visit=needs)
             for o in page.items]
    return render_template(template, page=page, views=views, status=status, domain=domain,
                           today=today, **context)


@bp.route("/inbox", methods=["GET", "POST"])
@access("orientation.inbox")
def inbox():
    """The structure's orientations; ``?mine=1``: those the reader is the referent of; a search
    by name or reception number (POST, like the person search: no name in a URL)."""
    query = visible_orientations(current_user)
    mine = request.args.get("mine") == "1"
    if mine:
        query = inbox_search.mine(current_user, query)
    form = InboxSearchForm()
    searched, refused = None, None
    if request.method == "POST" and form.validate_on_submit():
        searched = form.q.data.strip()
        try:
            query = inbox_search.matching(current_user, query, searched)
        except TooManyRequests as error:  # paced like the person search; the refusal recorded
            refused = error.message
            query = query.where(sa.false())
    return _list(query, "orientation/inbox.html", form=form, searched=searched, mine=mine,
                 refused=refused), 429 if refused else 200


@bp.route("/orientations")
@access("orientation.list")
def sent():
    return _list(visible_orientations(current_user), "orientation/list.html")


# -- one orientation --------------------------------------------------------------------------
@bp.route("/orientations/<uuid:orientation_id>")
@access("orientation.read")
def show(orientation_id: uuid.UUID):
    orientation = _orientation(orientation_id, "orientation.read")
    audit.record("orientation.read", actor=current_user, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id)
    redirect_form = RedirectForm()
    redirect_form.structure_id.choices = _structure_choices(orientation.domain, orientation.territory)
    from app.orientation import contact

    return render_template(
        "orientation/show.html", orientation=orientation,
        contact_links=contact.links_of(orientation)
        if can(current_user, "orientation.contact_link", orientation) else [],
        view=orientation_view(orientation, current_user), sender=sender_view(orientation),
        take_form=TakeChargeForm(), refuse_form=RefuseForm(), redirect_form=redirect_form,
        reason_form=ReasonForm(), close_form=CloseForm(), confirm=ConfirmForm(),
        consent_form=_consent_form(orientation),
        shared_documents=sharing.listings(orientation, current_user).get("shared_documents", []),
        panels=orientation_panels(orientation, current_user),
        today=local_date(utcnow()),
        person=db.session.get(Person, orientation.person_id))


def _consent_form(orientation: Orientation) -> ConsentForm | None:
    """The form to confirm the person's consent again, after a redirect they had not accepted."""
    if orientation.consent_given or not orientation.is_open or not can(
            current_user, "orientation.confirm_consent", orientation):
        return None
    form = ConsentForm()
    visit = db.session.get(Visit, orientation.visit_id) if orientation.visit_id else None
    _need_choices(form, visit, orientation.domain)
    person = db.session.get(Person, orientation.person_id)
    if can(current_user, "document.list", person):  # the whole file: else nothing to share
        _document_choices(form, person)
    else:
        form.shared_documents.choices = []
    return form


def _page(orientation: Orientation) -> str:
    return url_for("orientation.show", orientation_id=orientation.id)


def _next_page(orientation: Orientation, result) -> str | None:
    """After a redirect, the new orientation when the actor may read it."""
    if isinstance(result, Orientation) and can(current_user, "orientation.read", result):
        return _page(result)
    return None


def _act(orientation_id: uuid.UUID, permission: str, form, action: Callable, message: str):
    return act(_orientation(orientation_id, permission), form, action, message,
               back=_page, done=_next_page)


@bp.route("/orientations/<uuid:orientation_id>/acknowledge", methods=["POST"])
@access("orientation.acknowledge")
def acknowledge(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.acknowledge", ConfirmForm(),
                lambda o, f: services.acknowledge(o, current_user),
                _("Réception accusée : vous êtes le référent de cette orientation."))


@bp.route("/orientations/<uuid:orientation_id>/take-charge", methods=["POST"])
@access("orientation.take_charge")
def take_charge(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.take_charge", TakeChargeForm(),
                lambda o, f: services.take_charge(o, current_user, f.first_appointment_on.data),
                _("Prise en charge enregistrée."))


@bp.route("/orientations/<uuid:orientation_id>/refuse", methods=["POST"])
@access("orientation.refuse")
def refuse(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.refuse", RefuseForm(),
                lambda o, f: services.refuse(o, current_user, f.reason.data, f.reason_code.data),
                _("Refus enregistré ; l'émetteur est prévenu."))


@bp.route("/orientations/<uuid:orientation_id>/redirect", methods=["POST"])
@access("orientation.redirect")
def redirect_to(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.redirect", RedirectForm(),
                lambda o, f: services.redirect(o, current_user, f.structure_id.data, f.reason.data),
                _("Orientation réorientée : la nouvelle structure est prévenue."))


@bp.route("/orientations/<uuid:orientation_id>/cancel", methods=["POST"])
@access("orientation.cancel")
def cancel(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.cancel", ReasonForm(),
                lambda o, f: services.cancel(o, current_user, f.reason.data),
                _("Orientation annulée."))


@bp.route("/orientations/<uuid:orientation_id>/consent", methods=["POST"])
@access("orientation.confirm_consent")
def confirm_consent(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.confirm_consent", ConsentForm(),
                lambda o, f: services.confirm_consent(o, current_user, _consent_data(f)),
                _("Accord de la personne confirmé : la structure voit les informations partagées."))


@bp.route("/orientations/<uuid:orientation_id>/close", methods=["POST"])
@access("orientation.close")
def close(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.close", CloseForm(),
                lambda o, f: services.close(o, current_user, f.outcome.data),
                _("Accompagnement clôturé."))


@bp.route("/orientations/<uuid:orientation_id>/remind", methods=["POST"])
@access("orientation.remind")
def remind(orientation_id: uuid.UUID):
    return _act(orientation_id, "orientation.remind", ConfirmForm(),
                lambda o, f: reminders.remind_now(o, current_user),
                _("Relance envoyée aux référents de la structure."))


@bp.route("/orientations/<uuid:orientation_id>/contact-link", methods=["POST"])
@access("orientation.contact_link")
def reissue_contact_link(orientation_id: uuid.UUID):
    from app.orientation import contact

    def reissue(orientation, form):
        contact.ensure_awaits_an_answer(orientation)  # ended: a French refusal, no new link
        structure = db.session.get(Structure, orientation.structure_id)
        if contact.issue(orientation, structure, current_user) is None:
            raise ServiceError(_("Cette structure n'a pas d'adresse de contact."))
        return orientation

    return _act(orientation_id, "orientation.contact_link", ConfirmForm(), reissue,
                _("Un nouveau lien a été envoyé à l'adresse de contact de la structure ; l'ancien ne fonctionne plus."))


@bp.route("/orientations/<uuid:orientation_id>/contact-link/revoke", methods=["POST"])
@access("orientation.contact_link")
def revoke_contact_link(orientation_id: uuid.UUID):
    from app.orientation import contact

    return _act(orientation_id, "orientation.contact_link", ConfirmForm(),
                lambda o, f: contact.revoke(o, current_user),
                _("Le lien de réponse est révoqué."))
