"""Reception sites and partner structures: the organisations every other feature refers to."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # The directory's one public page (a structure's new contact address confirms itself).
    from app.directory.opening_hours import clock, render
    from app.directory.views import bp

    app.register_blueprint(bp)
    # A structure's or a site's opening hours in plain words (OpenStreetMap syntax read, any
    # other text shown as written): ``{{ structure.opening_hours|opening_hours }}``.
    app.add_template_filter(render, "opening_hours")
    app.add_template_filter(clock, "clock")  # an appointment's time: "9 h 30"
