"""The request guard: deny by default.

For every request, the endpoint's declared access (``@access("noun.verb")`` or ``@public``) is
looked up; an endpoint that declares nothing is refused. Then, for a protected endpoint: an
authenticated user (a session for pages, a bearer token for ``/api/``), an idle timeout for
sessions, the role of the permission, and the gates that features register (the charter for
routes touching personal data, the second factor for the roles that need one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, flash, g, has_request_context, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.core.errors import Forbidden, NotFound, ServiceError, Unauthenticated, wants_json
from app.core.permissions import PUBLIC, Permission, get

log = logging.getLogger(__name__)


@dataclass
class Gate:
    """A condition a user must meet before reaching some routes (charter accepted, MFA on)."""

    name: str
    applies: Callable[[Permission], bool]
    passes: Callable[[object], bool]
    api_code: str
    api_message: Callable[[], str]
    page_endpoint: str
    # The same condition as an SQL expression of a user id column, for a loader that can read it
    # in the statement that loads the user (the bearer token's lookup): one statement fewer per
    # request. What it read holds for that request only (``remember_gates``).
    sql: Callable[[object], object] | None = None


GATES: list[Gate] = []


def sql_gates() -> tuple[Gate, ...]:
    """The gates that have an SQL form and apply to this request's endpoint (none for
    ``GET /me``: it asks nothing of the charter)."""
    endpoint = request.endpoint if has_request_context() else None
    name = declared_access(current_app, endpoint) if endpoint is not None else None
    if name is None or name == PUBLIC:
        return ()  # refused or public: the guard asks no gate
    permission = get(name)
    return tuple(gate for gate in GATES if gate.sql is not None and gate.applies(permission))


def gate_columns(user_id_column, gates: tuple[Gate, ...]) -> dict[str, object]:
    """Those gates (``sql_gates()``) as labelled columns to add to a user's lookup."""
    return {gate.name: gate.sql(user_id_column).label(f"gate_{gate.name}") for gate in gates}


def remember_gates(user, passed: dict[str, bool]) -> None:
    """What the user's lookup read of the gates, kept on ``g``: for this request only, so a
    charter version published meanwhile counts from the next request on."""
    g.gates_read = (user.id, passed)


def _passes(gate: Gate, user) -> bool:
    user_id, passed = g.get("gates_read", (None, {}))
    if user_id is not None and user_id == user.id and gate.name in passed:
        return bool(passed[gate.name])
    return gate.passes(user)


def register_gate(gate: Gate) -> None:
    if all(existing.name != gate.name for existing in GATES):
        GATES.append(gate)


def declared_access(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return PUBLIC
    view = app.view_functions.get(endpoint)
    return getattr(view, "passerelle_access", None)


def _login_redirect():
    return redirect(url_for("auth.login", next=request.path))


def _session_expired() -> bool:
    """Pages only: a session idle for longer than the timeout is ended."""
    now = time.time()
    timeout = current_app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] * 60
    last_seen = session.get("last_seen")
    if isinstance(last_seen, (int, float)) and now - last_seen > timeout:
        return True
    session["last_seen"] = now
    session.permanent = True
    return False


def guard():
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no such route: Flask answers 404 or 405
    name = declared_access(current_app, endpoint)
    if name is None:
        log.error("endpoint %s declares no access rule: refused", endpoint)
        raise Forbidden(_("Vous n'avez pas accès à cette ressource."))
    api = wants_json()
    if not api and current_user.is_authenticated and _session_expired():
        logout_user()
        session.clear()
        flash(_("Votre session a expiré après une période d'inactivité. Reconnectez-vous."),
              "info")
        return _login_redirect()
    if name == PUBLIC:
        return None
    if not current_user.is_authenticated:
        if api:
            raise Unauthenticated(_("Authentification requise : jeton absent, invalide ou expiré."))
        return _login_redirect()
    permission = get(name)
    if current_user.role not in permission.roles:
        if permission.hidden:
            raise NotFound(_("Cette ressource n'existe pas ou vous n'y avez pas accès."))
        raise Forbidden(_("Vous n'avez pas accès à cette ressource."))
    for gate in GATES:
        if gate.applies(permission) and not _passes(gate, current_user):
            if api:
                raise ServiceError(gate.api_message(), code=gate.api_code, status=403)
            return redirect(url_for(gate.page_endpoint, next=request.path))
    return None
