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
                 "PASSERELLE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as error:
        from_environment("production")
    message = str(error.value)
    assert "\n" not in message
    for name in ("SECRET_KEY", "DATABASE_URL", "PASSERELLE_ENCRYPTION_KEYS", "PASSERELLE_INDEX_KEY"):
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


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("PASSERELLE_ENCRYPTION_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setenv("PASSERELLE_INDEX_KEY", "B" * 43 + "=")
    app = create_app(from_environment("production"))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_plain_postgresql_url_gets_the_psycopg_driver():
    assert normalise_database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
