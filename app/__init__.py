"""Passerelle: the application factory."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, request

from config import ConfigError, Settings, check, from_environment

log = logging.getLogger(__name__)


def _settings(config: Settings | dict | None) -> Settings:
    if isinstance(config, Settings):
        return config
    settings = from_environment((config or {}).get("PASSERELLE_ENV"))
    for key, value in (config or {}).items():
        if hasattr(settings, key):
            setattr(settings, key, value)
        else:
            settings.extra[key] = value
    return settings


def _secret_key(settings: Settings) -> str:
    if settings.SECRET_KEY:
        return settings.SECRET_KEY
    if settings.PASSERELLE_ENV == "test":
        return secrets.token_hex(32)
    if settings.PASSERELLE_ENV != "development":
        raise ConfigError("production refuses to start: missing SECRET_KEY")
    path = Path(settings.PASSERELLE_INSTANCE_PATH) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.warning("Development SECRET_KEY generated at %s", path)
    return path.read_text().strip()


def create_app(config: Settings | dict | None = None) -> Flask:
    """Build the application; ``config`` is a ``Settings``, a dict of overrides, or None for the
    environment. Raises ``ConfigError`` (one line) when a required secret is missing."""
    from app.core.crypto import KeyConfigurationError, load_key_ring

    settings = _settings(config)
    check(settings)  # again: overrides given to the factory are checked like the environment
    if not settings.SQLALCHEMY_DATABASE_URI:
        raise ConfigError("no database: set DATABASE_URL")
    _private_instance(settings)
    from app.orientation import deadlines

    deadlines.configure(settings.PASSERELLE_HOLIDAYS_SUBDIV)  # checked above: a known code
    app = Flask(__name__, instance_path=str(Path(settings.PASSERELLE_INSTANCE_PATH).resolve()))
    from app.core.http import IsoJSONProvider

    app.json = IsoJSONProvider(app)
    app.config.from_mapping(settings.as_flask_config())
    app.config["SECRET_KEY"] = _secret_key(settings)
    try:
        app.extensions["passerelle_keyring"] = load_key_ring(
            settings.PASSERELLE_ENCRYPTION_KEYS,
            settings.PASSERELLE_INDEX_KEY,
            settings.PASSERELLE_KEY_FILE,
            settings.PASSERELLE_INSTANCE_PATH,
            allow_generate=settings.PASSERELLE_ENV == "development",
        )
    except KeyConfigurationError as exc:
        raise ConfigError(str(exc)) from exc

    _init_extensions(app)
    _register_features(app)
    _trust_proxies(app, settings.PASSERELLE_PROXY_HOPS)
    return app


def _private_instance(settings: Settings) -> None:
    """The instance folder (development's database, keys, secret key and outbox) is the owner's
    only: the folder 0700, the SQLite database created 0600 before SQLAlchemy creates it 0644."""
    instance = Path(settings.PASSERELLE_INSTANCE_PATH)
    created = not instance.exists()
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    if created or settings.PASSERELLE_ENV == "development":
        try:
            instance.chmod(0o700)
        except OSError:  # a folder mounted from elsewhere: its owner decides
            log.warning("could not make %s private (chmod 700)", instance)
    url = settings.SQLALCHEMY_DATABASE_URI or ""
    if url.startswith("sqlite:///") and settings.PASSERELLE_ENV == "development":
        database = Path(url[len("sqlite:///"):])
        if not database.exists():
            database.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies (PASSERELLE_PROXY_HOPS), the client's address and scheme
    are taken from the last ``hops`` entries of X-Forwarded-For / X-Forwarded-Proto, the ones
    our own proxies appended: whatever a client writes before them is ignored. With 0 (the
    default) no forwarded header is trusted, and the address is the connection's."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _init_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (complete metadata)
    from app.core import http
    from app.core.access import guard
    from app.core.db import include_object, render_item
    from app.core.errors import register_error_handlers
    from app.core.i18n import select_locale
    from app.extensions import api, babel, csrf, db, login_manager, migrate

    db.init_app(app)
    from app.core.db import ping_when_idle

    with app.app_context():
        ping_when_idle(db.engine, app.config["PASSERELLE_DB_PING_IDLE_SECONDS"])
    from app.core import routing

    routing.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True, compare_type=True, render_item=render_item,
                     include_object=include_object)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    api.init_app(app, spec_kwargs={
        "info": {"description": "Passerelle JSON API: accueil, orientation, parcours, pilotage."},
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    })
    from app.core.i18n import fdate, fdatetime, fnumber, fpercent, plural_count

    app.jinja_env.filters["plural_count"] = plural_count
    app.jinja_env.filters["fdate"] = fdate
    app.jinja_env.filters["fdatetime"] = fdatetime
    app.jinja_env.filters["fnumber"] = fnumber
    app.jinja_env.filters["fpercent"] = fpercent
    from app.core.phones import format_phone

    app.jinja_env.filters["phone"] = format_phone
    register_error_handlers(app)  # after the API's own, so that ours answer
    app.before_request(guard)
    http.register(app)

    @app.context_processor
    def _template_globals():
        from flask_babel import get_locale
        from flask_login import current_user

        from app.core import permissions
        from app.core.enums import (
            ANSWERED_ACTION_LABELS,
            CHANNEL_LABELS,
            DOMAIN_LABELS,
            OUTCOME_LABELS,
            ROLE_LABELS,
            SITE_KIND_LABELS,
            STRUCTURE_KIND_LABELS,
            URGENCY_LABELS,
        )
        from app.core.nav import nav_items

        return {
            "can": lambda name, obj=None: permissions.can(current_user, name, obj),
            "ROLE_LABELS": ROLE_LABELS,
            "DOMAIN_LABELS": DOMAIN_LABELS,
            "current_locale": str(get_locale()),
            "current_path": request.path,
            "nav_items": nav_items,
            "SITE_KIND_LABELS": SITE_KIND_LABELS,
            "STRUCTURE_KIND_LABELS": STRUCTURE_KIND_LABELS,
            "CHANNEL_LABELS": CHANNEL_LABELS,
            "URGENCY_LABELS": URGENCY_LABELS,
            "OUTCOME_LABELS": OUTCOME_LABELS,
            "ANSWERED_ACTION_LABELS": ANSWERED_ACTION_LABELS,
            "page_url": _page_url,
            "now": _now,
        }


def _now():
    from app.core.db import utcnow

    return utcnow()


def _page_url(number: int, param: str = "page", anchor: str | None = None) -> str:
    """The current page's address with another page number (in ``param``: a page may hold two
    paged lists), other filters kept; ``anchor``: the list's heading."""
    from flask import url_for

    args = {k: v for k, v in request.args.items() if k != param}
    return url_for(request.endpoint, **(request.view_args or {}), **args, **{param: number},
                   _anchor=anchor)


def _register_features(app: Flask) -> None:
    from app import (
        accueil,
        admin,
        appointments,
        auth,
        charter,
        directory,
        documents,
        followup,
        home,
        notifications,
        orientation,
        pilotage,
        referents,
        retention,
    )
    from app import api as api_package
    from app.commands import register_commands

    for feature in (auth, home, charter, directory, admin, accueil, notifications, orientation,
                    referents, pilotage, retention, followup, documents, appointments):
        feature.init_app(app)
    api_package.init_app(app)
    register_commands(app)
