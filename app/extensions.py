"""Extensions, created unbound and bound to the application in ``create_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from app.core.db import db


class PasserelleApi(Api):
    """flask-smorest's Api documenting Passerelle's error body (API.md) as the default error."""

    from app.core.errors import ErrorSchema as ERROR_SCHEMA  # noqa: N811


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = PasserelleApi()

__all__ = ["api", "babel", "csrf", "db", "login_manager", "migrate"]
