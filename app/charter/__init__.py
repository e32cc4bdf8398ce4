"""The confidentiality and information-sharing charter, versioned, and who accepted which version."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _


def init_app(app: Flask) -> None:
    from app.charter import services
    from app.charter.views import bp
    from app.core.access import Gate, register_gate

    register_gate(Gate(
        name="charter",
        applies=lambda permission: permission.personal_data,
        passes=services.has_accepted_current,
        sql=services.accepted_current,
        api_code="charter_not_accepted",
        api_message=lambda: _("Acceptez d'abord la charte de confidentialité en vigueur."),
        page_endpoint="charter.show",
    ))
    app.register_blueprint(bp)
