"""The request spine, written once for pages and API: load → check → act → answer.

* ``get_visible_or_404(model, id, permission)`` loads a row and checks it against the permission
  registry (``app.core.permissions``): missing or out of scope, the answer is the same
  ``NotFound`` (a page or JSON, decided in ``app.core.errors``).
* ``refuse(error)`` answers a domain refusal caught by a view: the request's writes are undone
  unless the error says the refusal persists (a failed login and its audit entry), exactly as
  ``app.core.errors`` decides for an error left to propagate; then the message goes on the form,
  in a flashed message, or in the JSON body.
* ``act(subject, form, action, ...)`` is the action route of a page (a button on an object's
  page): a valid form, the service, the refusal or the success message, back to a page.
* ``per_request(kind, key, compute)`` keeps a value for the rest of the request (on
  ``flask.g``), forgotten as soon as the request writes (a pending change, a flush, a
  rollback): a value that depends on rows is computed again once they change.

The core imports no feature: models, permission names and services are handed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import flash, g, has_request_context, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.db import db
from app.core.errors import NotFound, ServiceError, json_error, settle, wants_json
from app.core.forms import apply_errors
from app.core.permissions import require

T = TypeVar("T")


def get_visible_or_404(model: type[T], object_id: Any, permission: str, *,
                       read: str | None = None,
                       subject: Callable[[T], Any] | None = None) -> T:
    """The row of ``model`` with this id, if the current user holds ``permission`` on it.

    ``read``: the permission that reveals the object (``"orientation.read"``): outside it the
    answer is 404; inside it, lacking ``permission`` is a 403 (the object is no secret).
    ``subject``: what the rules judge when it is not the row itself (a visit's person).
    """
    row = db.session.get(model, object_id) if object_id is not None else None
    if row is None:
        raise NotFound()
    judged = subject(row) if subject is not None else row
    if read is not None:
        require(current_user, read, judged)
        require(current_user, permission, judged, visible=True)
    else:
        require(current_user, permission, judged)
    return row


def refusal_text(error: ServiceError) -> str:
    """The error's message followed by its fields' messages, for a flashed line."""
    details = " ".join(m for messages in error.fields.values() for m in messages)
    return f"{error.message} {details}".strip()


def refuse(error: ServiceError, form: Any = None, *, aliases: dict[str, str] | None = None):
    """Answer a refusal caught by a view: undo or keep the request's writes as the error says
    (``app.core.errors.settle``), then show it on ``form`` (its fields), else in a flashed
    message; on the API, the JSON error answer is returned."""
    settle(error)
    if wants_json():
        return json_error(error.status, error.code, error.message, error.fields)
    if form is not None:
        apply_errors(form, error, aliases)
    else:
        flash(refusal_text(error), "error")
    return None


def act(subject: T, form: Any, action: Callable[[T, Any], Any], message: str, *,
        back: Callable[[T], str], done: Callable[[T, Any], str | None] | None = None):
    """An action route of a page: ``action(subject, form)`` on a valid form, the success
    ``message`` or the refusal, then a redirect to ``back(subject)`` (or to ``done(subject,
    result)`` after a success, when it gives an address)."""
    page = back(subject)  # before the action: a refusal rolls back and expires the subject
    if not form.validate_on_submit():
        first = next((m for field in form for m in field.errors), None)
        flash(first or _("Le formulaire a expiré : rechargez la page et recommencez."), "error")
        return redirect(page)
    try:
        result = action(subject, form)
    except ServiceError as error:
        refuse(error)
        return redirect(page)
    flash(message, "success")
    return redirect((done(subject, result) if done is not None else None) or page)


# -- values kept for one request --------------------------------------------------------------
_CACHE = "passerelle_request_cache"


def per_request(kind: str, key: Any, compute: Callable[[], T]) -> T:
    """``compute()``, once per request for this ``kind`` and ``key``; outside a request (a
    command, a service test) it is computed every time."""
    if not has_request_context():
        return compute()
    session = db.session()
    if session.new or session.dirty or session.deleted:  # a write not flushed yet
        forget_request_values()
        return compute()
    current = request._get_current_object()
    owner, values = g.get(_CACHE) or (None, {})
    if owner is not current:  # an application context kept across requests (tests) keeps g
        values = {}
        setattr(g, _CACHE, (current, values))
    cache = values.setdefault(kind, {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def forget_request_values() -> None:
    if has_request_context():
        g.pop(_CACHE, None)


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _forget_after_flush(session, _context) -> None:
    """A flush may change what was computed from the rows (a grant, a consent, a référent)."""
    forget_request_values()


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget_after_rollback(session) -> None:
    forget_request_values()
