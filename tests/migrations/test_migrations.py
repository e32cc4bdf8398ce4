"""The migrated schema equals the models, and the migrations go down and up again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.db import EXPRESSION_INDEXES, include_object, render_item


def _diff(app):
    from app.core.db import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "render_item": render_item, "include_object": include_object,
        })
        return compare_metadata(context, db.metadata)


def test_migrations_match_models(app):
    assert _diff(app) == []


def test_expression_indexes_exist(app):
    """The indexes autogenerate leaves alone are there all the same."""
    from app.core.db import db

    with app.app_context(), db.engine.connect() as conn:
        sql = ("SELECT name FROM sqlite_master WHERE type = 'index'"
               if conn.dialect.name == "sqlite" else "SELECT indexname FROM pg_indexes")
        names = set(conn.execute(sa.text(sql)).scalars())
    assert names >= EXPRESSION_INDEXES


def test_downgrade_then_upgrade(app):
    from flask_migrate import downgrade, upgrade

    from app.core.db import db

    with app.app_context():
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"users", "audit_entries", "charter_versions"} <= tables
    assert _diff(app) == []


def test_first_migration_seeds_the_charter(app):
    from app.charter.services import current_version

    with app.app_context():
        version = current_version()
        assert version.version == 1
        assert "L.121-6-2" in version.text and "secret professionnel" in version.text


def test_stalled_index_covers_its_count_on_postgresql(app):
    """The stalled count is an index-only scan: the index carries the due expression's columns."""
    from app.core.db import db

    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("INCLUDE columns are a PostgreSQL feature")
        definition = conn.execute(sa.text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orientations_stall_due'"
        )).scalar_one()
    assert "INCLUDE (status, acknowledge_due, take_charge_due)" in definition


def test_the_stalled_page_is_read_in_its_order_from_an_index(app, ctx):
    """Urgent first, then the most overdue (issue 24's order): read from
    ``ix_orientations_stall_urgent_due`` in order, not sorted after reading every stalled row
    of the territory (800 ms at 1 M persons before migration 0025; issue 21)."""
    from app.core.db import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the plan checked is PostgreSQL's")
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a tiny table: as at scale
    db.session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    plan = "\n".join(db.session.execute(sa.text(
        "EXPLAIN SELECT id FROM orientations WHERE territory = 'Valence' AND status IN "
        "('sent', 'acknowledged') AND (CASE WHEN status = 'sent' THEN acknowledge_due ELSE "
        "take_charge_due END) < current_date ORDER BY urgent DESC, (CASE WHEN status = 'sent' "
        "THEN acknowledge_due ELSE take_charge_due END), id LIMIT 50")).scalars())
    db.session.rollback()
    assert "ix_orientations_stall_urgent_due" in plan and "Sort" not in plan, plan
