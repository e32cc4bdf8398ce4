"""What orientation adds to accueil's person, registered with accueil so that accueil never
imports it: the panels of the person's file and of the slip, the orientations of the API's
person, the orientation mover of a merge, and the orientation actions of the access log."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.merge import Mover, register_mover
from app.accueil.panels import SLIP_ORIENTATIONS, Panel, register_panel
from app.accueil.records import register_access_log_actions, register_file_section
from app.accueil.scopes import FULL, visible_fields
from app.core.db import db, load_many, utcnow
from app.directory.models import Structure
from app.orientation.deadlines import local_date
from app.orientation.models import Orientation
from app.orientation.next_appointment import next_appointment
from app.orientation.presenters import orientation_view, preload
from app.orientation.scopes import orientations_of_person, orientations_of_visit


def _file_panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    """The orientations of the file this reader may open (``orientations_of_person``, as the
    API); shown empty, with the button to orient, to whom opens the whole file."""
    if slip:
        return None
    rows = list(db.session.scalars(orientations_of_person(user, person)))
    if not rows and visible_fields(user, person) != FULL:
        return None
    load_many(Structure, {o.structure_id for o in rows})
    return Panel("orientations", "orientation/_person_panel.html",
                 {"orientations": rows,
                  "structures": {o.structure_id: db.session.get(Structure, o.structure_id)
                                 for o in rows}})


def _slip_panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    if not slip or visit is None:
        return None
    rows = list(db.session.scalars(orientations_of_visit(visit)))
    if not rows:
        return None
    load_many(Structure, {o.structure_id for o in rows})
    return Panel(SLIP_ORIENTATIONS, "orientation/_slip_panel.html",
                 {"appointments": {o.id: next_appointment(o) for o in rows},
                  "orientations": rows, "today": local_date(utcnow()),
                  "structures": {o.structure_id: db.session.get(Structure, o.structure_id)
                                 for o in rows}})


def person_orientations(person: Any, user: Any) -> list[dict[str, Any]]:
    """The person's orientations this user may see (``orientations_of_person``: those whose
    detail opens to them), as the orientation API shows them, without their events."""
    rows = list(db.session.scalars(orientations_of_person(user, person)))
    needs = preload(rows)
    return [orientation_view(o, user, with_events=False, needs_by_visit=needs) for o in rows]


def _move(kept: uuid.UUID, merged: uuid.UUID) -> list[str]:
    ids = list(db.session.scalars(sa.select(Orientation.id).where(
        Orientation.person_id == merged)))
    db.session.execute(sa.update(Orientation).where(Orientation.id.in_(ids))
                       .values(person_id=kept))
    return [str(i) for i in ids]


def _restore(ids: list[str], merged: uuid.UUID) -> None:
    db.session.execute(sa.update(Orientation).where(
        Orientation.id.in_([uuid.UUID(i) for i in ids])).values(person_id=merged))


def register() -> None:
    """What orientation adds to the person's file, slip, API file, merge and access log (called by
    the feature's init_app)."""
    register_panel(_file_panel)
    register_panel(_slip_panel)
    register_file_section("orientations", person_orientations)
    register_mover(Mover("orientations", _move, _restore))
    register_access_log_actions({
        "orientation.send": _l("Envoi d'une orientation"),
        "orientation.read": _l("Consultation d'une orientation"),
        "orientation.acknowledge": _l("Accusé de réception d'une orientation"),
        "orientation.take_charge": _l("Prise en charge d'une orientation"),
        "orientation.refuse": _l("Refus d'une orientation"),
        "orientation.redirect": _l("Réorientation vers une autre structure"),
        "orientation.cancel": _l("Annulation d'une orientation"),
        "orientation.close": _l("Clôture d'une orientation"),
        "orientation.comment": _l("Commentaire sur une orientation"),
        "orientation.reminder": _l("Relance d'une orientation"),
        "orientation.escalation": _l("Signalement d'une orientation au coordinateur"),
        "orientation.contact_link_issued": _l("Envoi d'un lien de réponse à une structure"),
        "orientation.contact_link_revoked": _l("Révocation d'un lien de réponse"),
        "orientation.contact_link_opened": _l("Ouverture d'un lien de réponse par une structure"),
    })


# -- panels of one orientation's page ---------------------------------------------------------
# Later features show themselves on an orientation's page (and on the contact link's page of a
# structure without accounts) through this registry, so that orientation never imports them:
# provider(orientation, user, contact_token=None) -> Panel | None. ``user`` is None on the
# contact link's page (``contact_token`` is the link's token then). Registered from the
# features' init_app (app/appointments: the appointments).
_ORIENTATION_PANELS: list = []


def register_orientation_panel(provider) -> None:
    if provider not in _ORIENTATION_PANELS:
        _ORIENTATION_PANELS.append(provider)


def orientation_panels(orientation: Orientation, user: Any,
                       contact_token: str | None = None) -> list[Panel]:
    found = (provider(orientation, user, contact_token=contact_token)
             for provider in _ORIENTATION_PANELS)
    return [panel for panel in found if panel is not None]
