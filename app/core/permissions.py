"""Who may do what: the permission registry, read in one sitting.

A permission is a ``"noun.verb"`` name with the roles that hold it, whether it touches a person's
data (then the charter must have been accepted first) and, for object-level checks, a rule
``rule(user, obj) -> bool``. Views never test ``user.role``: they declare the permission of the
route with ``@access("noun.verb")`` (checked for every request by ``app.core.access``) and, once
the object is loaded, call ``require(user, "noun.verb", obj)``, which answers 404 when the object
is outside the user's scope so that its existence is not revealed. A typo in a permission name
fails at import time.

Features add the object rules of their own objects with ``rule_for("noun.verb")``: the table of
names and roles stays here, the scope logic that needs a feature's models lives in the feature's
``scopes.py`` and is attached at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.core.enums import ALL_ROLES, Role
from app.core.errors import Forbidden, NotFound

Rule = Callable[[Any, Any], bool]


@dataclass
class Permission:
    name: str
    roles: frozenset[str]
    personal_data: bool = False
    hidden: bool = False  # a role without it gets 404, as if the route did not exist
    rule: Rule | None = field(default=None, repr=False)


PUBLIC = "public"
PERMISSIONS: dict[str, Permission] = {}


def _declare(name: str, roles, *, personal_data: bool = False, hidden: bool = False) -> None:
    PERMISSIONS[name] = Permission(name, frozenset(roles), personal_data, hidden)


A, P, R, C, ADM = (Role.ACCUEIL, Role.PARTENAIRE, Role.REFERENT_PARCOURS, Role.COORDINATEUR,
                   Role.ADMIN)
PROFESSIONALS = frozenset({A, P, R, C})

# -- account and platform -------------------------------------------------------------------
_declare("home.view", ALL_ROLES)
_declare("account.manage", ALL_ROLES)
_declare("charter.read", ALL_ROLES)
_declare("charter.accept", ALL_ROLES)
_declare("charter.publish", {ADM})
_declare("me.read", ALL_ROLES)
_declare("mfa.enroll", ALL_ROLES)      # reachable before the second factor is set up
_declare("session.end", ALL_ROLES)     # logging out is always possible
_declare("session.keepalive", ALL_ROLES)  # "Rester connecté" before the idle timeout (WCAG 2.2.1)
# -- administration (no person data) --------------------------------------------------------
_declare("site.manage", {ADM})
_declare("structure.manage", {ADM})
_declare("user.manage", {ADM})
# -- directory: every professional consults it ----------------------------------------------
_declare("directory.read", ALL_ROLES)
# -- accueil: persons, visits (object rules in app/accueil/scopes.py) -------------------------
# a référent de parcours searches the persons of their scope only, to open a parcours (issue 24)
_declare("person.search", {A, R, C}, personal_data=True)
_declare("person.create", {A}, personal_data=True)
_declare("person.read", PROFESSIONALS, personal_data=True)
_declare("person.update", {A}, personal_data=True)
_declare("person.break_glass", {A, C}, personal_data=True)
_declare("person.access_log", {A, P, R}, personal_data=True)
_declare("person.export", {A, C}, personal_data=True)
_declare("person.merge", {C}, personal_data=True)
_declare("visit.create", {A}, personal_data=True)
_declare("visit.read", PROFESSIONALS, personal_data=True)  # whoever opens the whole file
_declare("slip.print", {A}, personal_data=True)
_declare("site_day.read", {A}, personal_data=True)
_declare("break_glass.review", {C}, personal_data=True)
# -- orientation (object rules in app/orientation/scopes.py) ----------------------------------
_declare("orientation.send", {A}, personal_data=True)
_declare("orientation.read", PROFESSIONALS, personal_data=True)
_declare("orientation.list", PROFESSIONALS, personal_data=True)
_declare("orientation.inbox", {P}, personal_data=True)
_declare("orientation.acknowledge", {P}, personal_data=True)
_declare("orientation.take_charge", {P}, personal_data=True)
_declare("orientation.refuse", {P}, personal_data=True)
_declare("orientation.redirect", {P, C}, personal_data=True)
_declare("orientation.close", {P}, personal_data=True)
_declare("orientation.cancel", {A}, personal_data=True)
_declare("orientation.confirm_consent", {A}, personal_data=True)
_declare("orientation.stalled", {C}, personal_data=True, hidden=True)
_declare("orientation.remind", {C}, personal_data=True)
# the pilotage page's actions: out of a coordinator's work, they do not exist (404)
_declare("orientation.escalate", {C}, personal_data=True, hidden=True)
_declare("orientation.coordination_comment", {C}, personal_data=True, hidden=True)
_declare("orientation.contact_link", {A, C}, personal_data=True)
_declare("followup.manage", {A}, personal_data=True)
# -- the person's documents (object rules in app/documents/scopes.py) --------------------------
_declare("document.list", {A}, personal_data=True)      # on a person: the whole file's readers
_declare("document.attach", {A}, personal_data=True)    # on a person
_declare("document.read", {A, P}, personal_data=True)   # on a document: its file, or shared
_declare("document.delete", {A}, personal_data=True)    # on a document
# -- appointments of an orientation (object rules in app/appointments/scopes.py) --------------
_declare("appointment.read", PROFESSIONALS, personal_data=True)
_declare("appointment.record", {P}, personal_data=True)
_declare("appointment.attendance", {P}, personal_data=True)
_declare("appointment.end_after_missed", {P}, personal_data=True)
_declare("structure.referents", {ADM})
# -- pilotage: aggregates only, no person data -------------------------------------------------
_declare("indicators.read", {C, ADM}, hidden=True)
# -- parcours (object rules in app/referents/scopes.py) ---------------------------------------
_declare("parcours.open", {A, R}, personal_data=True)
_declare("parcours.read", PROFESSIONALS, personal_data=True)
_declare("parcours.list", {A, P, R}, personal_data=True)
_declare("parcours.write", {A, P, R}, personal_data=True)
_declare("parcours.entries", PROFESSIONALS, personal_data=True)
_declare("parcours.manage", {A, P, R}, personal_data=True)
_declare("parcours.handover", {A, P, R, C}, personal_data=True)
# the silent parcours' actions of the pilotage page (issue 24): out of a coordinator's work, 404
_declare("parcours.remind", {C}, personal_data=True, hidden=True)
_declare("parcours.coordination_comment", {C}, personal_data=True, hidden=True)


def rule_for(name: str) -> Callable[[Rule], Rule]:
    """Attach the object rule of a declared permission (used by the features' scopes)."""
    permission = get(name)

    def attach(func: Rule) -> Rule:
        permission.rule = func
        return func

    return attach


def get(name: str) -> Permission:
    try:
        return PERMISSIONS[name]
    except KeyError:
        raise LookupError(f"unknown permission {name!r}") from None


def has_role(user: Any, name: str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in get(name).roles


def can(user: Any, name: str, obj: Any = None) -> bool:
    permission = get(name)
    if not has_role(user, name):
        return False
    if obj is None or permission.rule is None:
        return True
    return bool(permission.rule(user, obj))


def require(user: Any, name: str, obj: Any = None, *, visible: bool = False) -> None:
    """Raise 403 when the role lacks the permission, 404 when the object is out of scope.

    ``visible=True`` says the caller already checked that the user may see the object: a
    refused action on it is then a 403 (its existence is no secret to this user).
    """
    if not has_role(user, name):
        if get(name).hidden:
            raise NotFound(_("Cette ressource n'existe pas ou vous n'y avez pas accès."))
        raise Forbidden(_("Vous n'avez pas accès à cette ressource."))
    if obj is not None and not can(user, name, obj):
        if visible:
            raise Forbidden(_("Vous ne pouvez pas faire cette action sur cette ressource."))
        raise NotFound(_("Cette ressource n'existe pas ou vous n'y avez pas accès."))


def access(name: str) -> Callable:
    """Declare the permission a route needs; the request guard enforces it for every request."""
    if name != PUBLIC:
        get(name)  # fail loudly on a typo

    def mark(view: Callable) -> Callable:
        view.passerelle_access = name
        return view

    return mark


def public(view: Callable) -> Callable:
    view.passerelle_access = PUBLIC
    return view
