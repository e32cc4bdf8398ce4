"""Settings: production fails closed with one line; development needs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from config import ConfigError, from_environment, normalise_database_url

ROOT = Path(__file__).resolve().parents[2]


def test_production_refuses_without_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_INDEX_KEY",
                 "PASSERELLE_KEY_FILE", "PASSERELLE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as error:
        from_environment("production")
    message = str(error.value)
    assert "\n" not in message
    for name in ("SECRET_KEY", "DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_INDEX_KEY",
                 "PASSERELLE_BASE_URL"):
        assert name in message


def test_production_refuses_with_one_line_from_the_command_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PASSERELLE_ENV": "production",
           "PASSERELLE_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SECRET_KEY" in lines[0], result.stderr


def test_production_refuses_bad_keys(monkeypatch):
    monkeypatch.setenv("PASSERELLE_ENCRYPTION_KEYS", "k1:not-base64")
    monkeypatch.setenv("PASSERELLE_INDEX_KEY", "also-bad")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("PASSERELLE_BASE_URL", "https://passerelle.example.fr")
    with pytest.raises(ConfigError, match="base64"):
        create_app(from_environment("production"))


def test_development_generates_its_secrets(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_INDEX_KEY",
                 "PASSERELLE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PASSERELLE_INSTANCE_PATH", str(tmp_path))
    app = create_app(from_environment("development"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'passerelle.db'}"
    assert (tmp_path / "keys.json").exists() and (tmp_path / "secret_key").exists()
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert create_app(from_environment("development")).config["SECRET_KEY"] == app.config["SECRET_KEY"]


def _production(monkeypatch, **env):
    for name in ("PASSERELLE_KEY_FILE", "PASSERELLE_PROXY_HOPS"):
        monkeypatch.delenv(name, raising=False)
    values = {"SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://",
              "PASSERELLE_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
              "PASSERELLE_INDEX_KEY": "B" * 43 + "=",
              "PASSERELLE_BASE_URL": "https://passerelle.example.fr", **env}
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_production_cookies_are_secure(monkeypatch):
    _production(monkeypatch)
    app = create_app(from_environment("production"))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_a_short_secret_key(monkeypatch):
    _production(monkeypatch, SECRET_KEY="x")
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32"):
        from_environment("production")
    _production(monkeypatch, SECRET_KEY="x" * 31)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment("production")
    _production(monkeypatch, SECRET_KEY="x" * 32)
    assert from_environment("production").SECRET_KEY == "x" * 32


def test_production_refuses_a_missing_base_url(monkeypatch):
    _production(monkeypatch, PASSERELLE_BASE_URL=None)
    with pytest.raises(ConfigError, match="missing PASSERELLE_BASE_URL"):
        from_environment("production")
    _production(monkeypatch, PASSERELLE_BASE_URL="passerelle.example.fr")
    with pytest.raises(ConfigError, match="PASSERELLE_BASE_URL"):
        from_environment("production")


def test_production_refuses_a_key_file_others_can_read(monkeypatch, tmp_path):
    import json
    import os

    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps({"encryption_keys": "k1:" + "A" * 43 + "=",
                                    "index_key": "B" * 43 + "="}))
    _production(monkeypatch, PASSERELLE_ENCRYPTION_KEYS=None, PASSERELLE_INDEX_KEY=None,
                PASSERELLE_KEY_FILE=str(key_file))
    for mode in (0o644, 0o640, 0o604, 0o660):
        os.chmod(key_file, mode)
        with pytest.raises(ConfigError, match="chmod 600"):
            from_environment("production")
    os.chmod(key_file, 0o600)
    app = create_app(from_environment("production"))
    assert app.extensions["passerelle_keyring"].active_id == "k1"
    # The factory checks settings handed to it too, not only those read from the environment.
    os.chmod(key_file, 0o644)
    from config import Settings

    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(Settings(PASSERELLE_ENV="production", SECRET_KEY="y" * 40,
                            SQLALCHEMY_DATABASE_URI="sqlite://", PASSERELLE_KEY_FILE=str(key_file),
                            PASSERELLE_BASE_URL="https://passerelle.example.fr",
                            PASSERELLE_INSTANCE_PATH=str(tmp_path)))


def test_production_sends_hsts_and_development_does_not(monkeypatch, tmp_path):
    _production(monkeypatch)
    monkeypatch.setenv("PASSERELLE_INSTANCE_PATH", str(tmp_path / "prod"))
    answer = create_app(from_environment("production")).test_client().get("/login")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    for name in ("SECRET_KEY", "DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS",
                 "PASSERELLE_INDEX_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("PASSERELLE_INSTANCE_PATH", str(tmp_path / "dev"))
    development = create_app(from_environment("development"))
    assert "Strict-Transport-Security" not in development.test_client().get("/login").headers


def test_development_instance_files_are_the_owners_only(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_INDEX_KEY",
                 "PASSERELLE_KEY_FILE", "MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    instance = tmp_path / "instance"
    monkeypatch.setenv("PASSERELLE_INSTANCE_PATH", str(instance))
    app = create_app(from_environment("development"))
    with app.app_context():
        from email.message import EmailMessage

        from app.core.db import db
        from app.notifications.services import transport_from_config

        db.session.execute(db.text("select 1"))
        message = EmailMessage()
        message["To"] = "someone@example.org"
        message.set_content("Votre code : 123456")
        transport_from_config().send(message)
    [outbox_file] = list((instance / "outbox").iterdir())
    for path in (instance / "passerelle.db", instance / "keys.json", instance / "secret_key",
                 outbox_file):
        assert path.stat().st_mode & 0o777 == 0o600, path
    for folder in (instance, instance / "outbox"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_plain_postgresql_url_gets_the_psycopg_driver():
    assert normalise_database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_refuses_an_http_oidc_issuer(monkeypatch):
    """Security review (finding 6): discovery, keys and tokens come from the issuer."""
    _production(monkeypatch, PASSERELLE_OIDC_PROVIDERS="cd26",
                PASSERELLE_OIDC_CD26_ISSUER="http://idp.cd26.example.fr",
                PASSERELLE_OIDC_CD26_CLIENT_ID="passerelle",
                PASSERELLE_OIDC_CD26_CLIENT_SECRET="s" * 40)
    with pytest.raises(ConfigError, match="PASSERELLE_OIDC_CD26_ISSUER must be an https://"):
        create_app(from_environment("production"))
    monkeypatch.setenv("PASSERELLE_OIDC_CD26_ISSUER", "https://idp.cd26.example.fr")
    assert create_app(from_environment("production")).config[
        "PASSERELLE_OIDC_CD26_ISSUER"] == "https://idp.cd26.example.fr"
