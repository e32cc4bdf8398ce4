"""Administration operations that span several features (accounts, directory, orientations).

Plain arguments in, rows and audit entries out, in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.auth import services as accounts
from app.auth.models import User
from app.core import audit
from app.core.db import db, utcnow
from app.core.enums import ROLE_LABELS, Role
from app.core.errors import Conflict
from app.core.names import normalise
from app.directory.models import Site, Structure
from app.notifications.services import queue
from app.orientation import contact, designated
from app.orientation.models import ContactLink, Orientation, StructureReferent


def known_territories() -> list[str]:
    """The territories the administration forms offer (issue 24, item 15): those named by a site,
    a structure or a coordinator's account, sorted."""
    from app.directory.services import territories

    names = set(territories())
    names |= set(db.session.scalars(sa.select(User.territory).where(
        User.territory.is_not(None)).distinct()))
    return sorted((n for n in names if n), key=lambda n: (normalise(n), n))


def account_list(role: str | None = None) -> sa.Select:
    """Every account by name (of one role when given), for the administration's list."""
    query = sa.select(User).order_by(User.display_name)
    return query.where(User.role == role) if role in Role._value2member_map_ else query


def partner_accounts(structure: Structure) -> list[User]:
    """The active partner accounts of a structure: who may be designated its referent."""
    return list(db.session.scalars(sa.select(User).where(
        User.structure_id == structure.id, User.role == Role.PARTENAIRE, User.active.is_(True))
        .order_by(User.display_name)))


def designations(structure: Structure) -> list[StructureReferent]:
    """The structure's designated referents (one row per account and domain)."""
    return list(db.session.scalars(sa.select(StructureReferent).where(
        StructureReferent.structure_id == structure.id)))


def contact_conversion_problem(structure: Structure) -> str | None:
    """Why the structure's contact address cannot become a partner account, or None."""
    email = (structure.contact_email or "").strip()
    if not email:
        return _("Cette structure n'a pas d'adresse électronique de contact : il n'y a aucun "
                 "contact à transformer en compte.")
    existing = accounts.find_user_by_email(email)
    if existing is None:
        return None
    if existing.active and existing.role == Role.PARTENAIRE and \
            existing.structure_id == structure.id:
        return _("L'adresse de contact de cette structure a déjà un compte de référent "
                 "partenaire actif.")
    return _("Un compte existe déjà avec l'adresse de contact de cette structure : "
             "modifiez-le ou réactivez-le depuis la liste des comptes.")


def convert_contact(structure: Structure, display_name: str | None, actor: Any) -> User:
    """Turn the structure's (confirmed) contact address into a ``partenaire`` account of the
    structure.

    The account's owner chooses its password through a one-time link sent to that address (as
    for any account an administrator creates; the coordinators of the structure's territories
    are told), is designated referent of the structure for every domain, and the
    structure's open contact links are revoked so that the account is used from now on. The
    orientations answered through a link stay the structure's: the new account sees them,
    with their events, in its inbox.
    """
    problem = contact_conversion_problem(structure)
    if problem:
        raise Conflict(problem)
    user = create_account({
        "email": structure.contact_email, "role": Role.PARTENAIRE.value,
        "display_name": (display_name or "").strip() or structure.name[:120],
        "structure": str(structure.id)}, actor=actor)
    designated.designate_referent(structure, user, None, actor)
    linked = sa.select(ContactLink.orientation_id).where(ContactLink.revoked_at.is_(None))
    for orientation in db.session.scalars(sa.select(Orientation).where(
            Orientation.structure_id == structure.id, Orientation.id.in_(linked))):
        contact.revoke(orientation, actor)
    audit.record("structure.contact_converted", actor=actor, object_type="structure",
                 object_id=structure.id, details={"user": user.id, "structure": structure.id})
    return user


# -- accounts that reach person data ------------------------------------------------------------
PERSON_DATA_ROLES = (Role.ACCUEIL, Role.PARTENAIRE, Role.REFERENT_PARCOURS, Role.COORDINATEUR)
_REASONS = {
    "create": "a été créé",
    "reattach": "a été rattaché à un autre site, une autre structure ou un autre territoire",
    "reactivate": "a été réactivé",
}


def _attachment(user: User) -> tuple:
    return (user.site_id, user.structure_id, user.territory)


def _territories(site_id, structure_id, territory) -> set[str]:
    """The territories whose persons an account so attached may reach."""
    found = {territory} if territory else set()
    if site_id:
        site = db.session.get(Site, site_id)
        if site is not None:
            found.add(site.territory)
    if structure_id:
        structure = db.session.get(Structure, structure_id)
        if structure is not None:
            found.update(structure.territories)
    return found


def _tell_coordinators(user: User, actor: Any, reason: str, before: tuple | None = None) -> None:
    """An account that reaches person data was created, moved or reactivated: audited, and told
    to the coordinators of every territory it reaches (and, when moved, reached before)."""
    if user.role not in PERSON_DATA_ROLES:
        return
    territories = _territories(*_attachment(user)) | (_territories(*before) if before else set())
    told = accounts.coordinators(sorted(territories), exclude=user.id)
    with force_locale("fr"):
        role = str(ROLE_LABELS[user.role])
    site = db.session.get(Site, user.site_id) if user.site_id else None
    structure = db.session.get(Structure, user.structure_id) if user.structure_id else None
    where = ", ".join(filter(None, (
        f"site {site.name}" if site else None, f"structure {structure.name}" if structure else None,
        f"territoire {user.territory}" if user.territory else None))) or "sans rattachement"
    base = current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
    for coordinator in told:
        queue(coordinator.email, "Passerelle : un compte accède aux données des personnes",
              f"Bonjour,\n\nLe compte {user.display_name} ({user.email}), rôle « {role} », "
              f"{_REASONS[reason]} par l'administrateur {getattr(actor, 'display_name', '?')} "
              f"le {utcnow():%d/%m/%Y à %H:%M} UTC ({where}).\n\nCe compte peut lire des "
              "dossiers de personnes de votre territoire. Si vous ne l'attendiez pas, "
              "vérifiez auprès du service concerné et de l'administrateur.\n\n"
              f"{base}\n",
              kind="user.person_data_access", related_type="user", related_id=user.id)
    audit.record("user.person_data_access", actor=actor, object_type="user", object_id=user.id,
                 details={"reason": reason, "role": user.role, "coordinators_told": len(told)})


def create_account(data: dict[str, Any], actor: Any) -> User:
    """An administrator creates an account: no password (a one-time link to choose it goes to
    the account's own address), and the coordinators are told when it reaches person data."""
    user = accounts.create_user(data, actor=actor)
    db.session.flush()
    _tell_coordinators(user, actor, "create")
    return user


def update_account(user: User, data: dict[str, Any], actor: Any) -> User:
    """The role never changes (an account of another role is a new account); a new site,
    structure or territory of an account that reaches person data is told like a creation."""
    before = _attachment(user)
    accounts.update_user(user, data, actor=actor)
    if _attachment(user) != before:
        db.session.flush()
        _tell_coordinators(user, actor, "reattach", before)
    return user


def reactivate_account(user: User, actor: Any) -> User:
    accounts.reactivate_user(user, actor=actor)
    _tell_coordinators(user, actor, "reactivate")
    return user
