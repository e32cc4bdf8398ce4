"""What parcours add to accueil's person: the panel of the person's file, the parcours mover of
a merge, and the parcours actions of the person's access log."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.accueil.merge import Mover, register_mover
from app.accueil.panels import Panel, register_panel
from app.accueil.records import register_access_log_actions
from app.core.db import db
from app.core.errors import Conflict
from app.referents.models import OPEN, Parcours
from app.referents.scopes import parcours_of_person


def _panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    if slip:
        return None
    rows = parcours_of_person(user, person)
    from app.core.permissions import can

    if not rows and not can(user, "parcours.open"):
        return None
    return Panel("parcours", "referents/_person_panel.html", {"parcours": rows})


def _check(kept: uuid.UUID, merged: uuid.UUID) -> None:
    """A person has one open parcours at most: two open ones cannot be merged as they are."""
    open_count = db.session.scalar(sa.select(sa.func.count()).select_from(Parcours).where(
        Parcours.person_id.in_([kept, merged]), Parcours.status == OPEN))
    if open_count > 1:
        raise Conflict(_("Les deux dossiers ont chacun un parcours en cours : clôturez l'un "
                         "des deux parcours avant de fusionner les dossiers."))


def _move(kept: uuid.UUID, merged: uuid.UUID) -> list[str]:
    ids = list(db.session.scalars(sa.select(Parcours.id).where(Parcours.person_id == merged)))
    db.session.execute(sa.update(Parcours).where(Parcours.id.in_(ids)).values(person_id=kept))
    return [str(i) for i in ids]


def _restore(ids: list[str], merged: uuid.UUID) -> None:
    db.session.execute(sa.update(Parcours).where(Parcours.id.in_([uuid.UUID(i) for i in ids]))
                       .values(person_id=merged))


def register() -> None:
    """What parcours add to the person's file, merge and access log (called by the feature's
    init_app)."""
    register_panel(_panel)
    register_mover(Mover("parcours", _move, _restore, _check))
    register_access_log_actions({
        "parcours.open": _l("Ouverture d'un parcours"),
        "parcours.read": _l("Consultation d'un parcours"),
        "parcours.read_entries": _l("Consultation du journal de parcours"),
        "parcours.entry": _l("Écriture dans le journal de parcours"),
        "parcours.print": _l("Impression du parcours"),
        "parcours.member_add": _l("Ajout d'un membre au parcours"),
        "parcours.member_remove": _l("Retrait d'un membre du parcours"),
        "parcours.handover": _l("Changement de référent de parcours"),
        "parcours.close": _l("Clôture du parcours"),
        "parcours.withdraw": _l("Retrait de l'accord au parcours"),
    })
