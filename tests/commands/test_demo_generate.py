"""A small smoke test of ``demo generate``: the data is encrypted, indexed and usable."""

from __future__ import annotations

import sqlalchemy as sa


def test_generate_a_few_persons(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "60", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "60"
    from app.accueil.models import Person, PersonSearchKey, Visit
    from app.core.audit import verify_chain
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        persons = db.session.scalars(sa.select(Person)).all()
        assert len(persons) == 60
        named = [p for p in persons if not p.anonymous]
        assert named and all(p.last_name for p in named)  # decrypts with the app's keys
        raw = db.session.execute(sa.text("SELECT last_name FROM persons WHERE last_name IS NOT NULL"
                                         " LIMIT 1")).scalar()
        assert raw.startswith("v1:") and named[0].last_name not in raw
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) >= 60
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Orientation)) == 60
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonSearchKey)) > 100
        statuses = set(db.session.scalars(sa.select(Orientation.status)))
        assert len(statuses) >= 4
        verify_chain(db.session)
        target = named[0]
    # The app finds a generated person by name, through the blind indexes.
    from tests.helpers import api_token, bearer

    with app.app_context():
        from app.auth.models import User

        agent = db.session.scalars(sa.select(User).where(
            User.role == "accueil", User.site_id == target.created_site_id)).first()
        last_name = target.last_name
    from types import SimpleNamespace

    token = bearer(api_token(client, SimpleNamespace(email=agent.email,
                                                     password="passerelle-demo-2026")))
    client.post("/api/v1/charter/accept", headers=token, json={"version": 1})
    hits = client.get(f"/api/v1/persons?q={last_name}", headers=token).get_json()
    assert str(target.id) in {h["id"] for h in hits}


def _derived_mismatches() -> tuple[int, int]:
    """Rows whose derived values differ from what the triggers of migration 0015 keep."""
    from app.core.db import db

    persons = db.session.execute(sa.text(
        "SELECT count(*) FROM persons p WHERE p.first_visit_on IS NULL OR p.first_visit_on <> "
        "(SELECT min(v.occurred_on) FROM visits v WHERE v.person_id = p.id)")).scalar()
    needs = db.session.execute(sa.text(
        "SELECT count(*) FROM needs n JOIN visits v ON v.id = n.visit_id "
        "WHERE n.site_id IS NULL OR n.site_id <> v.site_id OR n.occurred_on <> v.occurred_on"
    )).scalar()
    return persons, needs


def _plaintexts() -> list[tuple]:
    from app.accueil.models import Person
    from app.core.db import db

    return sorted((p.reception_number, p.first_name, p.last_name, p.pseudonym, p.first_visit_on,
                   len(p.visits)) for p in db.session.scalars(sa.select(Person)))


def test_generated_rows_carry_what_the_database_derives(app, ctx):
    from app.demo import generate, seed

    seed.seed(with_persons=False)
    report = generate.generate(90, seed=3, workers=1, batch_size=40)
    assert report.persons == 90
    assert _derived_mismatches() == (0, 0)
    numbers = [n for n, *_rest in _plaintexts()]
    assert len(set(numbers)) == 90  # reserved per batch and year: unique, without gaps
    from app.accueil.models import ReceptionCounter
    from app.core.db import db

    counters = {c.year: c.last for c in db.session.scalars(sa.select(ReceptionCounter))}
    assert sum(counters.values()) == 90
    assert max(int(n.rsplit("-", 1)[1]) for n in numbers) == max(counters.values())


def test_parallel_generation_gives_the_same_data(app, ctx):
    """Two worker processes (PostgreSQL) write what one process writes for the same seed."""
    import pytest

    from app.core.db import db
    from app.demo import generate, seed
    from tests.conftest import empty_database

    if db.engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite: batches run in-process there")
    seed.seed(with_persons=False)
    generate.generate(120, seed=5, workers=1, batch_size=25)
    alone = _plaintexts()
    db.session.remove()
    empty_database(app)
    seed.seed(with_persons=False)
    report = generate.generate(120, seed=5, workers=2, batch_size=25)
    db.session.remove()
    assert report.persons == 120 and report.orientations == 120
    assert _plaintexts() == alone
    assert _derived_mismatches() == (0, 0)


def test_deferred_indexes_are_built_again(app, ctx):
    """PostgreSQL: with --defer-indexes, the indexes dropped for the load are all back."""
    import pytest

    from app.core.db import db
    from app.demo import seed

    if db.engine.dialect.name != "postgresql":
        pytest.skip("index deferral is for PostgreSQL loads")

    from app.core.db import EXPRESSION_INDEXES

    def definitions() -> set[str]:
        """Every index (PostgreSQL rewrites the text of an expression index: its name only)."""
        rows = db.session.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"))
        return {name if name in EXPRESSION_INDEXES else definition for name, definition in rows}

    before = definitions()
    seed.seed(with_persons=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "50", "--defer-indexes",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert definitions() == before
    assert any("ix_visits_site_occurred_on" in d and "INCLUDE" in d for d in before)
    assert _derived_mismatches() == (0, 0)


def test_generation_leaves_planner_statistics(app, ctx):
    """PostgreSQL: a search right after ``demo generate`` must not be planned blind (issue 21):
    the generator analyses the tables it loaded."""
    import pytest

    from app.core.db import db
    from app.demo import seed

    if db.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics: PostgreSQL")
    seed.seed(with_persons=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "40", "--workers", "1"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    # ANALYZE sets the row estimates to what is there (autovacuum would wait for 50 changed
    # rows and its next round); pg_class is transactional, unlike the statistics views.
    for table in ("persons", "person_search_keys", "visits", "orientations"):
        estimate, count = db.session.execute(sa.text(
            f"SELECT c.reltuples, (SELECT count(*) FROM {table}) FROM pg_class c "
            f"WHERE c.relname = '{table}'")).one()
        assert count > 0 and estimate == count, (table, estimate, count)
