"""Administration operations that span several features (accounts, directory, orientations).

Plain arguments in, rows and audit entries out, in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.auth import services as accounts
from app.auth.models import User
from app.core import audit
from app.core.db import db
from app.core.enums import Role
from app.core.errors import Conflict
from app.directory.models import Structure
from app.orientation import contact, designated
from app.orientation.models import ContactLink, Orientation


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


def convert_contact(structure: Structure, password: str, display_name: str | None,
                    actor: Any) -> User:
    """Turn the structure's contact address into a ``partenaire`` account of the structure.

    The account gets the temporary ``password`` (changed at first login, as for any account an
    administrator creates), is designated referent of the structure for every domain, and the
    structure's open contact links are revoked so that the account is used from now on. The
    orientations answered through a link stay the structure's: the new account sees them,
    with their events, in its inbox.
    """
    problem = contact_conversion_problem(structure)
    if problem:
        raise Conflict(problem)
    user = accounts.create_user({
        "email": structure.contact_email, "role": Role.PARTENAIRE.value, "password": password,
        "display_name": (display_name or "").strip() or structure.name[:120],
        "structure": str(structure.id)}, actor=actor)
    db.session.flush()
    designated.designate_referent(structure, user, None, actor)
    linked = sa.select(ContactLink.orientation_id).where(ContactLink.revoked_at.is_(None))
    for orientation in db.session.scalars(sa.select(Orientation).where(
            Orientation.structure_id == structure.id, Orientation.id.in_(linked))):
        contact.revoke(orientation, actor)
    audit.record("structure.contact_converted", actor=actor, object_type="structure",
                 object_id=structure.id, details={"user": user.id, "structure": structure.id})
    return user
