"""What documents add to accueil's person and to orientation's consent step, registered from the
feature's init_app so that neither imports documents: the file's panel, the record's section,
the access log's actions, the merge's mover, and the consent step's choice of documents."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.merge import Mover, register_mover
from app.accueil.panels import Panel, register_panel
from app.accueil.records import register_access_log_actions, register_export_section
from app.core.db import db
from app.core.enums import Role
from app.core.forms import ConfirmForm
from app.core.permissions import can
from app.documents import presenters, services
from app.documents.models import Document
from app.documents.scopes import documents_of_person, shared_documents_of_person
from app.orientation.sharing import ConsentShare, register_consent_share


def _file_panel(person: Any, user: Any, slip: bool = False, visit: Any = None) -> Panel | None:
    """The person's documents: all of them, with the button to attach one, to whom opens the
    whole file; to a partner, those shared with their structure; nothing on the slip."""
    if slip:
        return None
    if can(user, "document.list", person):
        rows = list(db.session.scalars(documents_of_person(person)))
        editable = True
    elif user.role == Role.PARTENAIRE and user.structure_id:
        rows = list(db.session.scalars(shared_documents_of_person(person, user.structure_id)))
        if not rows:
            return None
        editable = False
    else:
        return None
    return Panel("documents", "documents/_person_panel.html",
                 {"documents": rows, "editable": editable, "describe": presenters.describe,
                  "is_expired": presenters.is_expired, "confirm": ConfirmForm()})


def _move(kept: uuid.UUID, merged: uuid.UUID) -> list[str]:
    ids = list(db.session.scalars(sa.select(Document.id).where(Document.person_id == merged)))
    db.session.execute(sa.update(Document).where(Document.id.in_(ids)).values(person_id=kept)
                       .execution_options(synchronize_session=False))
    return [str(i) for i in ids]


def _restore(ids: list[str], merged: uuid.UUID) -> None:
    db.session.execute(sa.update(Document).where(
        Document.id.in_([uuid.UUID(i) for i in ids])).values(person_id=merged)
        .execution_options(synchronize_session=False))


def register() -> None:
    register_panel(_file_panel)
    register_mover(Mover("documents", _move, _restore))
    register_export_section("documents", services.export_documents, title=_l("Documents"),
                            template="documents/_export.html",
                            context={"KIND_LABELS": services.KIND_LABELS})
    register_access_log_actions({
        "document.attach": _l("Ajout d'un document"),
        "document.read": _l("Consultation de la description d'un document"),
        "document.list": _l("Consultation de la liste des documents"),
        "document.download": _l("Téléchargement d'un document"),
        "document.delete": _l("Suppression d'un document"),
        "document.share": _l("Partage de documents avec une structure"),
    })
    register_consent_share(ConsentShare(
        name="shared_documents", choices=presenters.share_choices, clean=services.clean_share,
        save=services.save_share, carry=services.carry_share, shared=services.shared_ids,
        listing=presenters.listing))
