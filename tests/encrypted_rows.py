"""One builder per table holding encrypted fields: each fills every encrypted field of a new row
with a marker. The leak and rotation tests use them, and fail when a table has none."""

from __future__ import annotations

from collections.abc import Callable

from app.core.db import db


def _user(build, marker: str) -> None:
    from app.auth.models import User

    user = build.user("accueil")
    with build.app.app_context():
        db.session.get(User, user.id).totp_secret = f"{marker}-totp"
        db.session.commit()


FACTORIES: dict[str, Callable] = {
    "users": _user,
}


def fill_every_encrypted_table(build, marker: str) -> None:
    for factory in FACTORIES.values():
        factory(build, marker)
