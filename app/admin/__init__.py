"""Administration pages: sites, structures, users, charter versions. No person data here."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from app.admin import sso_views  # noqa: F401 (an account's single sign-on, on bp)
    from app.admin.views import bp
    from app.core.nav import register_nav

    register_nav("site.manage", "admin.sites", _l("Sites"), order=80)
    register_nav("structure.manage", "admin.structures", _l("Structures"), order=81)
    register_nav("user.manage", "admin.users", _l("Comptes"), order=82)
    register_nav("charter.publish", "admin.charter", _l("Charte"), order=83)
    app.register_blueprint(bp)
