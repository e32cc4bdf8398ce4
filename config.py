"""Passerelle settings, read from the environment.

Three environments: ``development`` (the default: SQLite under ``instance/``, secrets generated
there on first run), ``test`` (what the test suite passes in) and ``production`` (refuses to start
without its secrets). Setting names are part of the contract documented in README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE = BASE_DIR / "instance"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is one line for the operator."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Let operators write a plain ``postgresql://`` URL: we pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class Settings:
    """Flat settings object handed to ``create_app``; attributes in upper case become app.config."""

    PASSERELLE_ENV: str = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    PASSERELLE_ENCRYPTION_KEYS: str | None = None
    PASSERELLE_INDEX_KEY: str | None = None
    PASSERELLE_KEY_FILE: str | None = None
    PASSERELLE_BASE_URL: str = "http://localhost:5000"
    PASSERELLE_INSTANCE_PATH: str = str(DEFAULT_INSTANCE)
    PASSERELLE_MFA_REQUIRED_ROLES: str = "coordinateur,admin"
    PASSERELLE_IDLE_TIMEOUT_MINUTES: int = 30
    PASSERELLE_TOKEN_HOURS: int = 12
    PASSERELLE_LOGIN_MAX_FAILURES: int = 5
    PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS: int = 30
    PASSERELLE_LOGIN_WINDOW_MINUTES: int = 15
    PASSERELLE_PROXY_HOPS: int = 0
    DATABASE_REPLICA_URL: str | None = None
    PASSERELLE_REPLICA_MAX_LAG_SECONDS: int = 30
    PASSERELLE_DB_PING_IDLE_SECONDS: int = 10
    PASSERELLE_BREAK_GLASS_HOURS: int = 24
    PASSERELLE_SEARCH_MAX_PER_MINUTE: int = 20
    PASSERELLE_SEARCH_MAX_PER_DAY: int = 600
    PASSERELLE_EMAIL_LINK_HOURS: int = 72
    PASSERELLE_INDICATORS_MIN_WINDOW_DAYS: int = 7
    MAIL_SERVER: str | None = None
    MAIL_PORT: int = 25
    MAIL_USE_TLS: bool = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER: str = "passerelle@localhost"
    ACK_DELAY: int = 2
    TAKE_CHARGE_DELAY: int = 22
    ESCALATION_DELAY: int = 2
    # Urgent orientations' deadlines by domain, JSON (app/orientation/urgency.py); unset: the
    # same working day to acknowledge, 2 working days to take in charge.
    PASSERELLE_URGENT_DEADLINES: str | None = None
    PARCOURS_HANDOVER_DAYS: int = 30
    PARCOURS_SILENT_DAYS: int = 60
    PASSERELLE_CONTACT_LINK_DAYS: int = 8
    PASSERELLE_SMS_URL: str | None = None
    PASSERELLE_SMS_TOKEN: str | None = None
    PASSERELLE_SMS_SENDER: str = "Passerelle"
    PASSERELLE_ACCESSIBILITY_CONTACT: str | None = None
    PASSERELLE_HOLIDAYS_SUBDIV: str | None = None
    PASSERELLE_DOCUMENT_MAX_BYTES: int = 10 * 1024 * 1024
    PASSERELLE_RETENTION_PERSON_YEARS: int = 3
    PASSERELLE_RETENTION_LOGIN_ATTEMPTS_DAYS: int = 365
    PASSERELLE_RETENTION_OUTBOX_DAYS: int = 90
    PASSERELLE_RETENTION_SESSIONS_DAYS: int = 90
    SESSION_COOKIE_SECURE: bool = False
    extra: dict = field(default_factory=dict)

    def as_flask_config(self) -> dict:
        cfg = {k: v for k, v in vars(self).items() if k.isupper()}
        cfg.update(self.extra)
        cfg.update(
            # pinged when idle for PASSERELLE_DB_PING_IDLE_SECONDS (app.core.db.ping_when_idle)
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False},
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            REMEMBER_COOKIE_HTTPONLY=True,
            REMEMBER_COOKIE_SAMESITE="Lax",
            REMEMBER_COOKIE_SECURE=self.SESSION_COOKIE_SECURE,
            PERMANENT_SESSION_LIFETIME=timedelta(minutes=self.PASSERELLE_IDLE_TIMEOUT_MINUTES),
            WTF_CSRF_TIME_LIMIT=None,  # the session's idle timeout bounds it already
            BABEL_DEFAULT_LOCALE="fr",
            BABEL_DEFAULT_TIMEZONE="Europe/Paris",
            BABEL_TRANSLATION_DIRECTORIES=str(BASE_DIR / "translations"),
            API_TITLE="Passerelle API",
            API_VERSION="v1",
            OPENAPI_VERSION="3.0.3",
            OPENAPI_URL_PREFIX="/api/v1",
            OPENAPI_JSON_PATH="openapi.json",
            MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        )
        cfg.setdefault("TESTING", self.PASSERELLE_ENV == "test")
        return cfg


def from_environment(env: str | None = None) -> Settings:
    """Build the settings of ``env`` (default: ``PASSERELLE_ENV``) from environment variables."""
    env = (env or os.environ.get("PASSERELLE_ENV") or "development").strip().lower()
    if env not in {"development", "test", "production"}:
        raise ConfigError(f"PASSERELLE_ENV must be development, test or production, got {env!r}")
    instance = os.environ.get("PASSERELLE_INSTANCE_PATH") or str(DEFAULT_INSTANCE)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url and env == "development":
        database_url = f"sqlite:///{Path(instance) / 'passerelle.db'}"
    settings = Settings(
        PASSERELLE_ENV=env,
        SECRET_KEY=os.environ.get("SECRET_KEY") or None,
        SQLALCHEMY_DATABASE_URI=normalise_database_url(database_url) if database_url else None,
        PASSERELLE_ENCRYPTION_KEYS=os.environ.get("PASSERELLE_ENCRYPTION_KEYS") or None,
        PASSERELLE_INDEX_KEY=os.environ.get("PASSERELLE_INDEX_KEY") or None,
        PASSERELLE_KEY_FILE=os.environ.get("PASSERELLE_KEY_FILE") or None,
        # Production has no default: links in e-mails must not say localhost (check below).
        PASSERELLE_BASE_URL=os.environ.get(
            "PASSERELLE_BASE_URL", "" if env == "production" else "http://localhost:5000"),
        PASSERELLE_INSTANCE_PATH=instance,
        PASSERELLE_MFA_REQUIRED_ROLES=os.environ.get(
            "PASSERELLE_MFA_REQUIRED_ROLES", "coordinateur,admin"
        ),
        PASSERELLE_IDLE_TIMEOUT_MINUTES=_env_int("PASSERELLE_IDLE_TIMEOUT_MINUTES", 30),
        PASSERELLE_TOKEN_HOURS=_env_int("PASSERELLE_TOKEN_HOURS", 12),
        PASSERELLE_LOGIN_MAX_FAILURES=_env_int("PASSERELLE_LOGIN_MAX_FAILURES", 5),
        PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS=_env_int(
            "PASSERELLE_LOGIN_MAX_FAILURES_PER_ADDRESS", 30
        ),
        PASSERELLE_LOGIN_WINDOW_MINUTES=_env_int("PASSERELLE_LOGIN_WINDOW_MINUTES", 15),
        PASSERELLE_PROXY_HOPS=_env_int("PASSERELLE_PROXY_HOPS", 0),
        DATABASE_REPLICA_URL=normalise_database_url(os.environ["DATABASE_REPLICA_URL"])
        if os.environ.get("DATABASE_REPLICA_URL") else None,
        PASSERELLE_REPLICA_MAX_LAG_SECONDS=_env_int("PASSERELLE_REPLICA_MAX_LAG_SECONDS", 30),
        PASSERELLE_DB_PING_IDLE_SECONDS=_env_int("PASSERELLE_DB_PING_IDLE_SECONDS", 10),
        PASSERELLE_BREAK_GLASS_HOURS=_env_int("PASSERELLE_BREAK_GLASS_HOURS", 24),
        PASSERELLE_SEARCH_MAX_PER_MINUTE=_env_int("PASSERELLE_SEARCH_MAX_PER_MINUTE", 20),
        PASSERELLE_SEARCH_MAX_PER_DAY=_env_int("PASSERELLE_SEARCH_MAX_PER_DAY", 600),
        PASSERELLE_EMAIL_LINK_HOURS=_env_int("PASSERELLE_EMAIL_LINK_HOURS", 72),
        PASSERELLE_INDICATORS_MIN_WINDOW_DAYS=_env_int("PASSERELLE_INDICATORS_MIN_WINDOW_DAYS",
                                                       7),
        MAIL_SERVER=os.environ.get("MAIL_SERVER") or None,
        MAIL_PORT=_env_int("MAIL_PORT", 25),
        MAIL_USE_TLS=_env_bool("MAIL_USE_TLS", False),
        MAIL_USERNAME=os.environ.get("MAIL_USERNAME") or None,
        MAIL_PASSWORD=os.environ.get("MAIL_PASSWORD") or None,
        MAIL_DEFAULT_SENDER=os.environ.get("MAIL_DEFAULT_SENDER", "passerelle@localhost"),
        ACK_DELAY=_env_int("ACK_DELAY", 2),
        TAKE_CHARGE_DELAY=_env_int("TAKE_CHARGE_DELAY", 22),
        ESCALATION_DELAY=_env_int("ESCALATION_DELAY", 2),
        PASSERELLE_URGENT_DEADLINES=(os.environ.get("PASSERELLE_URGENT_DEADLINES") or "").strip()
        or None,
        PARCOURS_HANDOVER_DAYS=_env_int("PARCOURS_HANDOVER_DAYS", 30),
        PARCOURS_SILENT_DAYS=_env_int("PARCOURS_SILENT_DAYS", 60),
        PASSERELLE_CONTACT_LINK_DAYS=_env_int("PASSERELLE_CONTACT_LINK_DAYS", 8),
        PASSERELLE_SMS_URL=os.environ.get("PASSERELLE_SMS_URL") or None,
        PASSERELLE_SMS_TOKEN=os.environ.get("PASSERELLE_SMS_TOKEN") or None,
        PASSERELLE_SMS_SENDER=os.environ.get("PASSERELLE_SMS_SENDER", "Passerelle"),
        PASSERELLE_ACCESSIBILITY_CONTACT=os.environ.get("PASSERELLE_ACCESSIBILITY_CONTACT")
        or None,
        PASSERELLE_HOLIDAYS_SUBDIV=(os.environ.get("PASSERELLE_HOLIDAYS_SUBDIV") or "").strip()
        or None,
        PASSERELLE_DOCUMENT_MAX_BYTES=_env_int("PASSERELLE_DOCUMENT_MAX_BYTES",
                                               10 * 1024 * 1024),
        PASSERELLE_RETENTION_PERSON_YEARS=_env_int("PASSERELLE_RETENTION_PERSON_YEARS", 3),
        PASSERELLE_RETENTION_LOGIN_ATTEMPTS_DAYS=_env_int(
            "PASSERELLE_RETENTION_LOGIN_ATTEMPTS_DAYS", 365),
        PASSERELLE_RETENTION_OUTBOX_DAYS=_env_int("PASSERELLE_RETENTION_OUTBOX_DAYS", 90),
        PASSERELLE_RETENTION_SESSIONS_DAYS=_env_int("PASSERELLE_RETENTION_SESSIONS_DAYS", 90),
        SESSION_COOKIE_SECURE=env == "production",
    )
    # Single sign-on (app/auth/oidc.py): PASSERELLE_OIDC_PROVIDERS, then one block of
    # PASSERELLE_OIDC_<NAME>_* settings per provider, checked when the application starts.
    settings.extra.update({key: value for key, value in os.environ.items()
                           if key.startswith("PASSERELLE_OIDC_")})
    check(settings)
    return settings


MIN_SECRET_KEY_LENGTH = 32


def key_file_problem(path: str) -> str | None:
    """Why a key file may not be used (group or other may read or write it), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # a missing file is reported by the key ring, with its own message
    if mode & 0o077:
        return (f"PASSERELLE_KEY_FILE {path} is readable or writable by others (mode "
                f"{mode & 0o777:04o}): chmod 600 it")
    return None


def check(settings: Settings) -> None:
    """Fail closed: production needs every secret spelled out, nothing is generated for it."""
    if settings.PASSERELLE_PROXY_HOPS < 0:
        raise ConfigError("PASSERELLE_PROXY_HOPS must be 0 or more")
    if settings.PASSERELLE_INDICATORS_MIN_WINDOW_DAYS < 1:
        raise ConfigError("PASSERELLE_INDICATORS_MIN_WINDOW_DAYS must be 1 or more")
    if settings.PASSERELLE_HOLIDAYS_SUBDIV:
        from app.orientation.deadlines import subdivision_problem

        problem = subdivision_problem(settings.PASSERELLE_HOLIDAYS_SUBDIV)
        if problem:
            raise ConfigError(problem)
    if settings.PASSERELLE_URGENT_DEADLINES:
        from app.orientation.urgency import problem as urgent_problem

        problem = urgent_problem(settings.PASSERELLE_URGENT_DEADLINES)
        if problem:
            raise ConfigError(problem)
    if settings.PASSERELLE_REPLICA_MAX_LAG_SECONDS < 0:
        raise ConfigError("PASSERELLE_REPLICA_MAX_LAG_SECONDS must be 0 or more")
    if settings.PASSERELLE_DB_PING_IDLE_SECONDS < 0:
        raise ConfigError("PASSERELLE_DB_PING_IDLE_SECONDS must be 0 or more")
    for name in ("PASSERELLE_SEARCH_MAX_PER_MINUTE", "PASSERELLE_SEARCH_MAX_PER_DAY",
                 "PASSERELLE_EMAIL_LINK_HOURS"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name} must be 1 or more")
    if settings.DATABASE_REPLICA_URL and not (
            settings.DATABASE_REPLICA_URL.startswith("postgresql")
            and (settings.SQLALCHEMY_DATABASE_URI or "").startswith("postgresql")):
        raise ConfigError("DATABASE_REPLICA_URL needs PostgreSQL for both DATABASE_URL and "
                          "the replica (a streaming replica of the primary)")
    if settings.PASSERELLE_ENV != "production":
        return
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", settings.SECRET_KEY),
            ("DATABASE_URL", settings.SQLALCHEMY_DATABASE_URI),
            ("PASSERELLE_ENCRYPTION_KEYS", settings.PASSERELLE_ENCRYPTION_KEYS
             or settings.PASSERELLE_KEY_FILE),
            ("PASSERELLE_INDEX_KEY", settings.PASSERELLE_INDEX_KEY or settings.PASSERELLE_KEY_FILE),
            ("PASSERELLE_BASE_URL", settings.PASSERELLE_BASE_URL),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            "production refuses to start: missing " + ", ".join(missing)
            + " (see README.md, Settings)"
        )
    if len(settings.SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"production refuses to start: SECRET_KEY must be at least "
                          f"{MIN_SECRET_KEY_LENGTH} characters (python -c 'import secrets; "
                          f"print(secrets.token_hex(32))')")
    if not settings.PASSERELLE_BASE_URL.startswith(("https://", "http://")):
        raise ConfigError("production refuses to start: PASSERELLE_BASE_URL must be an "
                          "http(s):// address")
    if settings.PASSERELLE_KEY_FILE and not (settings.PASSERELLE_ENCRYPTION_KEYS
                                             and settings.PASSERELLE_INDEX_KEY):
        problem = key_file_problem(settings.PASSERELLE_KEY_FILE)
        if problem:
            raise ConfigError("production refuses to start: " + problem)
