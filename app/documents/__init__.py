"""The person's documents (issue 20): papers attached to the person's file, encrypted each under
a key of its own, shared with a partner only as the person chooses at an orientation's consent."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import RequestEntityTooLarge


def init_app(app: Flask) -> None:
    from app.documents import panels, scopes
    from app.documents.views import allow_upload_size, bp, too_large

    scopes.register()
    panels.register()
    # First of the request hooks: the CSRF check reads the body before any view.
    app.before_request_funcs.setdefault(None, []).insert(0, allow_upload_size)
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_blueprint(bp)
