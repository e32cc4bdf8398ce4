"""Who sees which document, and the object rules of the ``document.*`` permissions.

* An ``accueil`` agent who opens the person's whole file (their site, or a break-glass grant)
  lists, attaches, downloads and deletes the person's documents.
* A ``partenaire`` downloads a document only when the person chose, at the consent step of an
  orientation addressed to their structure, to share it, and only while that orientation still
  shares the person with the structure (``partner_sees_person``: not a tombstone, consent given).
  Any other document answers 404, as if it did not exist.
* Nobody else reads a document.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.accueil.models import Person
from app.accueil.scopes import FULL, visible_fields
from app.core.db import db
from app.core.enums import Role
from app.core.permissions import rule_for
from app.documents.models import Document, OrientationDocument
from app.orientation.models import Orientation
from app.orientation.scopes import partner_sees_person
from app.orientation.status import TOMBSTONE_STATUSES


def documents_of_person(person: Person) -> sa.Select:
    """The person's documents, newest first (for whom opens the whole file)."""
    return (sa.select(Document).where(Document.person_id == person.id)
            .order_by(Document.uploaded_at.desc(), Document.id))


def documents_of_orientation(orientation: Orientation) -> sa.Select:
    """The documents the person shared with this orientation's structure."""
    return (sa.select(Document).join(OrientationDocument,
                                     OrientationDocument.document_id == Document.id)
            .where(OrientationDocument.orientation_id == orientation.id)
            .order_by(Document.uploaded_at.desc(), Document.id))


def visible_on_orientation(user: Any, orientation: Orientation) -> sa.Select | None:
    """What of the orientation's shared documents ``user`` (who may read the orientation)
    downloads: the partner while the orientation shares the person, the file's agents always;
    None when nothing."""
    if user.role == Role.PARTENAIRE:
        if orientation.structure_id != user.structure_id or not partner_sees_person(orientation):
            return None
        return documents_of_orientation(orientation)
    if user.role == Role.ACCUEIL:
        person = db.session.get(Person, orientation.person_id)
        if visible_fields(user, person) == FULL:
            return documents_of_orientation(orientation)
    return None


def _whole_file(user: Any, person_id: Any) -> bool:
    person = db.session.get(Person, person_id)
    return person is not None and visible_fields(user, person) == FULL


def shared_with_structure(document: Document, structure_id: Any) -> bool:
    """Whether an orientation to this structure that still shares the person holds it."""
    if structure_id is None:
        return False
    return db.session.scalar(
        sa.select(OrientationDocument.id)
        .join(Orientation, Orientation.id == OrientationDocument.orientation_id)
        .where(OrientationDocument.document_id == document.id,
               Orientation.structure_id == structure_id,
               Orientation.person_id == document.person_id,
               Orientation.consent_given.is_(True),
               Orientation.status.not_in(TOMBSTONE_STATUSES)).limit(1)) is not None


def register() -> None:
    """Attach the object rules (called by the feature's init_app)."""
    rule_for("document.list")(_person_rule)
    rule_for("document.attach")(_person_rule)
    rule_for("document.read")(_read)
    rule_for("document.delete")(_delete)


def _person_rule(user: Any, person: Person) -> bool:
    return user.role == Role.ACCUEIL and visible_fields(user, person) == FULL


def _read(user: Any, document: Document) -> bool:
    if user.role == Role.ACCUEIL:
        return _whole_file(user, document.person_id)
    if user.role == Role.PARTENAIRE:
        return shared_with_structure(document, user.structure_id)
    return False


def _delete(user: Any, document: Document) -> bool:
    return user.role == Role.ACCUEIL and _whole_file(user, document.person_id)


def shared_documents_of_person(person: Person, structure_id: Any) -> sa.Select:
    """The person's documents shared with orientations to this structure that still share the
    person (a partner's view of the person's file)."""
    shared = (sa.select(OrientationDocument.document_id)
              .join(Orientation, Orientation.id == OrientationDocument.orientation_id)
              .where(Orientation.person_id == person.id,
                     Orientation.structure_id == structure_id,
                     Orientation.consent_given.is_(True),
                     Orientation.status.not_in(TOMBSTONE_STATUSES)))
    return documents_of_person(person).where(Document.id.in_(shared))
