"""Référents de parcours: parcours, members, coordination journal, handover, the person's voice."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from app.core.nav import register_nav
    from app.referents import export, panels, scopes
    from app.referents.views import bp

    # What parcours add to earlier features' registries (scopes' import also attaches the object
    # rules of the permissions).
    panels.register()
    export.register()
    scopes.register()
    register_nav("parcours.list", "referents.mine", _l("Parcours"), order=25)
    app.register_blueprint(bp)
