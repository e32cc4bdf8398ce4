"""Pilotage: stalled work for coordinators, the schémas' indicators as tables, charts and CSV."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from app.core.nav import register_nav
    from app.pilotage.views import bp

    register_nav("orientation.stalled", "pilotage.stalled", _l("En attente"), order=40)
    register_nav("indicators.read", "pilotage.indicators_page", _l("Indicateurs"), order=41)
    app.register_blueprint(bp)
    from app.pilotage.cli import calendar_cli

    app.cli.add_command(calendar_cli)
