"""The JSON API ``/api/v1``: a face over the same services as the pages."""

from __future__ import annotations

import functools

from flask import Flask


def init_app(app: Flask) -> None:
    from app.api import (
        appointments,
        auth,
        charter,
        directory,
        documents,
        followup,
        indicators,
        orientations,
        parcours,
        persons,
    )
    from app.core.permissions import public
    from app.extensions import api, csrf

    for module in (auth, charter, directory, persons, orientations, parcours, indicators,
                   followup, appointments, documents):
        csrf.exempt(module.blp)  # bearer tokens, no cookies: CSRF does not apply
        api.register_blueprint(module.blp)
    # The OpenAPI document itself is public (its views are bound methods: wrap them).
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith("api-docs."):
            app.view_functions[endpoint] = public(_wrap(view))


def _wrap(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return wrapper
