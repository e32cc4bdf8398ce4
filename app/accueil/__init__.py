"""Accueil: persons, visits and needs assessment, search, duplicates and merge, the slip."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from app.accueil import scopes  # noqa: F401  (attaches the object rules)
    from app.accueil.views import bp
    from app.core.nav import register_nav

    register_nav("person.search", "accueil.search", _l("Rechercher une personne"), order=10)
    register_nav("site_day.read", "accueil.day", _l("La journée du site"), order=11)
    register_nav("break_glass.review", "accueil.break_glass_log", _l("Accès exceptionnels"),
                 order=60)
    app.register_blueprint(bp)
