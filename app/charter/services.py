"""Publishing charter versions and recording acceptances."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.charter.models import CharterAcceptance, CharterVersion
from app.core import audit
from app.core.db import db
from app.core.errors import Conflict
from app.core.validation import FieldErrors, clean_text

MAX_TEXT = 100_000


def current_version() -> CharterVersion | None:
    return db.session.scalars(
        sa.select(CharterVersion).order_by(CharterVersion.version.desc()).limit(1)
    ).first()


def _same_text(a: str, b: str) -> bool:
    """Equal but for line endings and spaces at the ends of lines and of the text."""
    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]
    return lines(a) == lines(b)


def is_unchanged(text: Any) -> bool:
    """Whether ``text`` is the version in force (publishing it would publish nothing)."""
    latest = current_version()
    return latest is not None and isinstance(text, str) and _same_text(text, latest.text)


def publish(text: Any, actor: Any = None) -> CharterVersion:
    """A new version of the charter, which everyone accepts again; the text of the version in
    force, published again, is refused (it would ask everyone to accept nothing new)."""
    errors = FieldErrors()
    cleaned = clean_text(errors, "text", text, required=True, max_length=MAX_TEXT, multiline=True)
    latest = current_version()
    if cleaned and latest is not None and _same_text(cleaned, latest.text):
        errors.add("text", _("Ce texte est celui de la version en vigueur : rien n'a été publié. "
                             "Modifiez-le pour publier une nouvelle version."))
    errors.raise_if_any()
    version = CharterVersion(
        version=(latest.version + 1) if latest else 1,
        text=cleaned,
        published_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    audit.record("charter.publish", actor=actor, object_type="charter_version",
                 object_id=version.id, details={"version": version.version})
    return version


def acceptance(user: Any, version: CharterVersion | None = None) -> CharterAcceptance | None:
    version = version or current_version()
    if version is None or user is None:
        return None
    return db.session.scalars(
        sa.select(CharterAcceptance).where(
            CharterAcceptance.user_id == user.id,
            CharterAcceptance.charter_version_id == version.id,
        )
    ).first()


def has_accepted_current(user: Any) -> bool:
    """False when no charter exists: nobody touches personal data without one.

    One query, asked on every request by the access guard."""
    if user is None:
        return False
    return db.session.scalar(sa.select(accepted_current(user.id))) is True


def accepted_current(user_id: Any) -> sa.Exists:
    """Whether ``user_id`` (a value or a column) accepted the version in force, in SQL: the
    bearer token's lookup reads it with the token (the charter gate's ``sql``)."""
    latest = sa.select(sa.func.max(CharterVersion.version)).scalar_subquery()
    return sa.exists().where(
        CharterAcceptance.user_id == user_id,
        CharterAcceptance.charter_version_id == CharterVersion.id,
        CharterVersion.version == latest)


def accept(user: Any, version_number: Any) -> CharterAcceptance:
    """Accept the current version; accepting it again is harmless, an old one is refused."""
    current = current_version()
    if current is None:
        raise Conflict(_("Aucune charte n'est publiée."))
    if version_number != current.version or isinstance(version_number, bool):
        raise Conflict(
            _("Seule la version en vigueur (%(v)d) de la charte peut être acceptée.",
              v=current.version)
        )
    existing = acceptance(user, current)
    if existing:
        return existing
    row = CharterAcceptance(user_id=user.id, charter_version_id=current.id)
    db.session.add(row)
    audit.record("charter.accept", actor=user, object_type="charter_version",
                 object_id=current.id, details={"version": current.version})
    return row
