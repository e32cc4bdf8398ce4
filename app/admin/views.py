"""Administration pages. Load → check → act; the services own the change and its audit entry."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.admin import services
from app.admin.forms import (
    CharterForm,
    ContactAccountForm,
    SiteForm,
    StructureForm,
    UserCreateForm,
    UserEditForm,
    resolve_territories,
    territory_choices,
)
from app.auth import services as accounts
from app.auth.models import User
from app.charter import services as charter
from app.core.confirm import confirm_page, confirmed
from app.core.db import db, utcnow
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm
from app.core.permissions import access
from app.core.spine import refuse
from app.directory import services as directory
from app.directory.models import Site, Structure

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
PER_PAGE = 25


def _save(form, action: Callable[[], object], message: str, target: str,
          check: Callable[[], bool] | None = None):
    """Run a service on a valid form; on refusal, show its errors on the form. ``check`` runs
    after the form's own validation (both, so that every error shows at once)."""
    if not form.is_submitted():
        return None
    valid = form.validate()
    if check is not None:
        valid = check() and valid
    if not valid:
        return None
    try:
        action()
    except ServiceError as error:
        refuse(error, form)
        return None
    flash(message, "success")
    return redirect(target)


# -- sites ------------------------------------------------------------------------------------
@bp.route("/sites")
@access("site.manage")
def sites():
    return render_template("admin/sites.html", sites=directory.list_sites(active_only=False),
                           form=ConfirmForm())


class _Territories:
    """The territory a site form names, picked from the known ones or created on purpose."""

    def __init__(self, form, several: bool = False):
        self.form, self.several = form, several
        self.known = services.known_territories()
        self.field = form.territories if several else form.territory
        self.field.choices = territory_choices(
            self.known, None if several else _("— choisir un territoire —"))
        self.chosen: list[str] = []

    def check(self) -> bool:
        found = resolve_territories(self.form, self.known, self.field, several=self.several)
        self.chosen = found or []
        return found is not None

    def data(self) -> dict:
        data = dict(self.form.data)
        if self.several:
            data["territories"] = self.chosen
        else:
            data["territory"] = self.chosen[0] if self.chosen else None
        return data


@bp.route("/sites/new", methods=["GET", "POST"])
@access("site.manage")
def new_site():
    form = SiteForm()
    territory = _Territories(form)
    done = _save(form, lambda: directory.create_site(territory.data(), actor=current_user),
                 _("Le site a été créé."), url_for("admin.sites"), check=territory.check)
    return done or render_template("admin/site_form.html", form=form, site=None)


@bp.route("/sites/<uuid:site_id>", methods=["GET", "POST"])
@access("site.manage")
def edit_site(site_id: uuid.UUID):
    site = db.get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    territory = _Territories(form)
    done = _save(form, lambda: directory.update_site(site, territory.data(), actor=current_user),
                 _("Le site a été modifié."), url_for("admin.sites"), check=territory.check)
    return done or render_template("admin/site_form.html", form=form, site=site)


@bp.route("/sites/<uuid:site_id>/active", methods=["POST"])
@access("site.manage")
def toggle_site(site_id: uuid.UUID):
    site = db.get_or_404(Site, site_id)
    if site.active and not confirmed() and ConfirmForm().validate_on_submit():
        return confirm_page(
            title=_("Désactiver le site « %(name)s »", name=site.name),
            message=[_("Le site ne sera plus proposé : ses agents ne pourront plus y enregistrer "
                       "de passage. Les dossiers et l'historique restent ; le site peut être "
                       "réactivé.")],
            button=_("Désactiver le site"), cancel_url=url_for("admin.sites"), danger=True)
    if ConfirmForm().validate_on_submit():
        directory.set_site_active(site, not site.active, actor=current_user)
        flash(_("Le site est actif.") if site.active else _("Le site est désactivé."), "success")
    return redirect(url_for("admin.sites"))


# -- structures -------------------------------------------------------------------------------
def _contact_note() -> str:
    return " " + _("La nouvelle adresse de contact recevra un lien pour se confirmer (l'ancienne "
                   "est prévenue) : d'ici là, les orientations restent envoyées à l'adresse "
                   "confirmée.")


@bp.route("/structures")
@access("structure.manage")
def structures():
    return render_template("admin/structures.html",
                           structures=directory.search_structures(active_only=False),
                           form=ConfirmForm())


@bp.route("/structures/new", methods=["GET", "POST"])
@access("structure.manage")
def new_structure():
    form = StructureForm()
    territories = _Territories(form, several=True)
    done = _save(form, lambda: directory.create_structure(
                     territories.data(), actor=current_user,
                     coordinators_of=accounts.coordinators),
                 _("La structure a été créée.") + _contact_note() if form.contact_email.data
                 else _("La structure a été créée."), url_for("admin.structures"),
                 check=territories.check)
    return done or render_template("admin/structure_form.html", form=form, structure=None)


@bp.route("/structures/<uuid:structure_id>", methods=["GET", "POST"])
@access("structure.manage")
def edit_structure(structure_id: uuid.UUID):
    structure = db.get_or_404(Structure, structure_id)
    form = StructureForm(obj=structure)
    territories = _Territories(form, several=True)
    pending = directory.pending_contact_change(structure)
    if request.method == "GET":
        form.domains.data = list(structure.domains)
        form.territories.data = list(structure.territories)
        if pending is not None:  # saved again as is, the pending change stays pending
            form.contact_email.data = pending.email
    changes_contact = (form.contact_email.data or "").strip().lower() not in {
        (structure.contact_email or "").lower(), (pending.email.lower() if pending else "")}
    done = _save(form, lambda: directory.update_structure(structure, territories.data(),
                                                          actor=current_user,
                                                          coordinators_of=accounts.coordinators),
                 _("La structure a été modifiée.") + (_contact_note() if changes_contact else ""),
                 url_for("admin.structures"), check=territories.check)
    return done or render_template(
        "admin/structure_form.html", form=form, structure=structure, pending_contact=pending,
        now=utcnow(), can_convert_contact=services.contact_conversion_problem(structure) is None)


@bp.route("/structures/<uuid:structure_id>/contact-account", methods=["GET", "POST"])
@access("user.manage")
def convert_contact(structure_id: uuid.UUID):
    structure = db.get_or_404(Structure, structure_id)
    form = ContactAccountForm()
    problem = services.contact_conversion_problem(structure)
    if problem is None:
        done = _save(form, lambda: services.convert_contact(
            structure, form.display_name.data, actor=current_user),
            _("Le compte du contact est créé et désigné référent de la structure ; les liens de "
              "réponse sans compte de la structure ne fonctionnent plus. Un lien pour choisir "
              "son mot de passe est envoyé à l'adresse de contact."),
            url_for("admin.structure_referents", structure_id=structure.id))
        if done:
            return done
    status = 409 if problem and request.method == "POST" else 200
    return render_template("admin/contact_account.html", form=form, structure=structure,
                           problem=problem), status


@bp.route("/structures/<uuid:structure_id>/active", methods=["POST"])
@access("structure.manage")
def toggle_structure(structure_id: uuid.UUID):
    structure = db.get_or_404(Structure, structure_id)
    if structure.active and not confirmed() and ConfirmForm().validate_on_submit():
        return confirm_page(
            title=_("Désactiver la structure « %(name)s »", name=structure.name),
            message=[_("La structure disparaîtra de l'annuaire et ne pourra plus recevoir de "
                       "nouvelle orientation. Les orientations déjà envoyées restent ; la "
                       "structure peut être réactivée.")],
            button=_("Désactiver la structure"), cancel_url=url_for("admin.structures"),
            danger=True)
    if ConfirmForm().validate_on_submit():
        directory.set_structure_active(structure, not structure.active, actor=current_user)
        flash(_("La structure est active.") if structure.active
              else _("La structure est désactivée."), "success")
    return redirect(url_for("admin.structures"))


# -- users ------------------------------------------------------------------------------------
def _attachment_choices(form: UserEditForm, current_territory: str | None = None):
    """The site, structure and territory choices; returns the check of the territory (a known
    one: a new territory comes with a site or a structure, issue 24, item 15)."""
    none = [SelectChoice("", _("— aucun —"))]
    form.site.choices = none + [SelectChoice(str(s.id), s.name) for s in directory.list_sites()]
    form.structure.choices = none + [
        SelectChoice(str(s.id), s.name) for s in directory.search_structures()
    ]
    known = services.known_territories()
    if current_territory and current_territory not in known:
        known.append(current_territory)
    form.territory.choices = territory_choices(known, _("— aucun —"))

    def check() -> bool:
        if form.territory.data and form.territory.data not in known:
            form.territory.errors = list(form.territory.errors) + [
                _("Territoire inconnu : « %(name)s ». Choisissez-le dans la liste.",
                  name=form.territory.data)]
            return False
        return True
    return check


def _user_data(form: UserEditForm) -> dict:
    data = dict(form.data)
    data["site"], data["structure"] = form.site.data or None, form.structure.data or None
    return data


@bp.route("/users")
@access("user.manage")
def users():
    role = request.args.get("role", "")
    page = db.paginate(services.account_list(role), per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", page=page, role=role, form=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@access("user.manage")
def new_user():
    form = UserCreateForm()
    check = _attachment_choices(form)
    done = _save(form, lambda: services.create_account(_user_data(form), actor=current_user),
                 _("Le compte a été créé. Un lien pour choisir son mot de passe est envoyé à son "
                   "adresse électronique."), url_for("admin.users"), check=check)
    return done or render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@access("user.manage")
def edit_user(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user)
    check = _attachment_choices(form, user.territory)
    if request.method == "GET":
        form.site.data = str(user.site_id) if user.site_id else ""
        form.structure.data = str(user.structure_id) if user.structure_id else ""
        form.territory.data = user.territory or ""
    done = _save(form, lambda: services.update_account(user, _user_data(form), actor=current_user),
                 _("Le compte a été modifié."), url_for("admin.users"), check=check)
    return done or render_template("admin/user_form.html", form=form, user=user,
                                   confirm=ConfirmForm())


@bp.route("/users/<uuid:user_id>/deactivate", methods=["POST"])
@access("user.manage")
def deactivate_user(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("Vous ne pouvez pas désactiver votre propre compte."), "error")
    elif not confirmed() and ConfirmForm().validate_on_submit():
        return confirm_page(
            title=_("Désactiver le compte de %(name)s", name=user.display_name),
            message=[_("La personne ne pourra plus se connecter : ses sessions et ses jetons "
                       "d'accès sont fermés tout de suite. Le compte peut être réactivé.")],
            details=[(_("Adresse électronique"), user.email)],
            button=_("Désactiver le compte"), cancel_url=url_for("admin.users"), danger=True)
    elif ConfirmForm().validate_on_submit():
        accounts.deactivate_user(user, actor=current_user)
        flash(_("Le compte est désactivé : ses sessions et jetons sont fermés."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<uuid:user_id>/reactivate", methods=["POST"])
@access("user.manage")
def reactivate_user(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        services.reactivate_account(user, actor=current_user)
        flash(_("Le compte est réactivé."), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<uuid:user_id>/password", methods=["GET", "POST"])
@access("user.manage")
def reset_password(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    form = ConfirmForm()
    done = _save(form, lambda: accounts.reset_password(user, actor=current_user),
                 _("Le mot de passe est réinitialisé : un lien pour en choisir un nouveau est "
                   "envoyé à l'adresse du compte."),
                 url_for("admin.users"))
    return done or render_template("admin/reset_password.html", form=form, user=user)


# -- charter ----------------------------------------------------------------------------------
@bp.route("/charter", methods=["GET", "POST"], endpoint="charter")
@access("charter.publish")
def charter_page():
    current = charter.current_version()
    form = CharterForm()
    if request.method == "GET" and current:
        form.text.data = current.text
    if (form.validate_on_submit() and not confirmed()
            and not charter.is_unchanged(form.text.data)):
        return confirm_page(
            title=_("Publier une nouvelle version de la charte"),
            message=[_("Dès la publication, chaque utilisateur devra lire et accepter la "
                       "nouvelle version avant de consulter ou d'écrire quoi que ce soit.")],
            button=_("Publier cette version"), cancel_url=url_for("admin.charter"))
    done = _save(form, lambda: charter.publish(form.text.data, actor=current_user),
                 _("La nouvelle version de la charte est publiée : chaque utilisateur devra l'accepter à nouveau."),
                 url_for("admin.charter"))
    return done or render_template("admin/charter.html", form=form, current=current)


# -- designated referents of a structure --------------------------------------------------------
@bp.route("/structures/<uuid:structure_id>/referents", methods=["GET", "POST"])
@access("structure.referents")
def structure_referents(structure_id: uuid.UUID):
    from app.orientation import designated
    from app.orientation.forms import ReferentForm

    structure = db.get_or_404(Structure, structure_id)
    form = ReferentForm()
    candidates = services.partner_accounts(structure)
    form.user_id.choices = [SelectChoice(str(u.id), u.display_name) for u in candidates]
    if form.validate_on_submit():
        user = db.session.get(User, uuid.UUID(form.user_id.data)) if form.user_id.data else None
        try:
            if user is None:
                raise ServiceError(_("Choisissez un référent."), {"user_id": [_("Choisissez un référent.")]})
            designated.designate_referent(structure, user, form.domain.data or None, current_user)
        except ServiceError as error:
            refuse(error, form)
        else:
            flash(_("Référent désigné."), "success")
            return redirect(url_for("admin.structure_referents", structure_id=structure.id))
    rows = services.designations(structure)
    users = {u.id: u for u in candidates}
    return render_template("admin/structure_referents.html", structure=structure, form=form,
                           rows=rows, users=users, confirm=ConfirmForm(),
                           can_convert_contact=services.contact_conversion_problem(structure) is None)


@bp.route("/structures/<uuid:structure_id>/referents/<uuid:row_id>/remove", methods=["POST"])
@access("structure.referents")
def remove_structure_referent(structure_id: uuid.UUID, row_id: uuid.UUID):
    from app.orientation import designated
    from app.orientation.models import StructureReferent

    row = db.get_or_404(StructureReferent, row_id)
    if row.structure_id != structure_id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        designated.remove_referent(row, current_user)
        flash(_("Désignation retirée."), "success")
    return redirect(url_for("admin.structure_referents", structure_id=structure_id))


@bp.route("/users/<uuid:user_id>/mfa-reset", methods=["POST"])
@access("user.manage")
def reset_mfa(user_id: uuid.UUID):
    from app.auth import mfa

    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        mfa.disable(user, current_user)
        flash(_("Double authentification réinitialisée : la personne l'activera à sa prochaine connexion."),
              "success")
    return redirect(url_for("admin.users"))
