"""Reception sites and partner structures: the organisations every other feature refers to."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # The directory's one public page (a structure's new contact address confirms itself).
    from app.directory.views import bp

    app.register_blueprint(bp)
