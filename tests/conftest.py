"""Test fixtures: one migrated database per run (SQLite, or PostgreSQL when
``PASSERELLE_TEST_DATABASE`` is set), emptied between tests."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from config import Settings, normalise_database_url
from tests.helpers import Builder

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE = os.environ.get("PASSERELLE_TEST_DATABASE") or ""
ENCRYPTION_KEYS = "t1:" + base64.b64encode(b"\x01" * 32).decode()
OLD_KEYS_ONLY = "t0:" + base64.b64encode(b"\x02" * 32).decode()
INDEX_KEY = base64.b64encode(b"\x03" * 32).decode()


def _redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)


def pytest_report_header(config):
    if TEST_DATABASE:
        return f"database: PostgreSQL {_redact(TEST_DATABASE)}"
    return "database: SQLite (temporary file)"


def pytest_collection_modifyitems(config, items):
    if TEST_DATABASE:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE:
        return normalise_database_url(TEST_DATABASE)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'passerelle-test.db'}"


def make_settings(database_url: str, instance: Path, **overrides) -> Settings:
    settings = Settings(
        PASSERELLE_ENV="test",
        SECRET_KEY="test-secret-key-not-for-production",
        SQLALCHEMY_DATABASE_URI=database_url,
        PASSERELLE_ENCRYPTION_KEYS=ENCRYPTION_KEYS,
        PASSERELLE_INDEX_KEY=INDEX_KEY,
        PASSERELLE_INSTANCE_PATH=str(instance),
        PASSERELLE_BASE_URL="http://passerelle.test",
        # Tests of the second factor turn it on themselves (tests/api/test_mfa.py).
        PASSERELLE_MFA_REQUIRED_ROLES="",
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


def reset_schema(engine: sa.Engine) -> None:
    """Drop everything, so that the migrations run on an empty database."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            tables = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='table'"))
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for (name,) in list(tables):
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    from app.core.db import db
    from app.core.passwords import use_cheapest_parameters_for_tests

    use_cheapest_parameters_for_tests()

    application = create_app(make_settings(database_url, tmp_path_factory.mktemp("instance")))
    with application.app_context():
        reset_schema(db.engine)
        upgrade()
        _snapshot_seed(application)
    return application


_SEED: dict = {}
REFERENCE_TABLES = {"calendar_days"}  # filled by the migrations, never changed by a test


def _snapshot_seed(application) -> None:
    """Rows the migrations insert (the first charter), restored after each emptying."""
    from app.core.db import db

    with db.engine.connect() as conn:
        table = db.metadata.tables["charter_versions"]
        _SEED["charter_versions"] = [dict(r._mapping) for r in conn.execute(table.select())]


def empty_database(application) -> None:
    from app.core.db import db

    with application.app_context():
        engine = db.engine
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # The audit table refuses TRUNCATE (migration 0014): lifted for the cleanup only.
                guarded = conn.execute(sa.text(
                    "SELECT 1 FROM pg_trigger WHERE tgname = 'audit_entries_no_truncate'"
                )).first() is not None
                if guarded:
                    conn.execute(sa.text("ALTER TABLE audit_entries DISABLE TRIGGER "
                                         "audit_entries_no_truncate"))
                conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                     + " RESTART IDENTITY CASCADE"))
                if guarded:
                    conn.execute(sa.text("ALTER TABLE audit_entries ENABLE TRIGGER "
                                         "audit_entries_no_truncate"))
            else:
                for name in reversed(tables):
                    conn.execute(sa.text(f'DELETE FROM "{name}"'))
            for row in _SEED["charter_versions"]:
                conn.execute(db.metadata.tables["charter_versions"].insert().values(**row))
        db.session.remove()


@pytest.fixture(autouse=True)
def _clean_database(request):
    yield
    if "app" in request.fixturenames:
        empty_database(request.getfixturevalue("app"))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def build(app) -> Builder:
    return Builder(app)


@pytest.fixture
def ctx(app):
    """An application context for service-level tests (no HTTP inside)."""
    with app.app_context() as context:
        yield context
