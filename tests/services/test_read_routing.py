"""Read routing (app/core/routing.py): DATABASE_REPLICA_URL unset changes nothing; set, the
heavy reads' SELECTs go to the replica while writes and audit entries stay on the primary; a
replica down or lagging too much is not used. A real streaming replica is exercised by
tests/topology; here the "replica" is the test database itself, reached through its own
engine, so that every statement can be seen on the engine that ran it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core import routing
from app.core.db import db
from config import ConfigError, Settings, check, from_environment
from tests.helpers import api_token, bearer, login


class Statements:
    """The SQL statements an engine ran (its cursor executions)."""

    def __init__(self, engine: sa.Engine):
        self.engine, self.seen = engine, []
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)

    def remove(self):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def matching(self, word: str) -> list[str]:
        return [s for s in self.seen if word in s]


@pytest.fixture
def replica(app, monkeypatch, database_url):
    """A replica engine pointing at the test database; the statements of both engines."""
    if not database_url.startswith("postgresql"):
        pytest.skip("read routing needs PostgreSQL")
    monkeypatch.setitem(app.config, "DATABASE_REPLICA_URL", database_url)
    routing.init_app(app)
    engine = app.extensions["passerelle_replica_engine"]
    with app.app_context():
        primary = Statements(db.engine)
    on_replica = Statements(engine)
    yield on_replica, primary
    on_replica.remove()
    primary.remove()
    app.extensions.pop("passerelle_replica_engine")
    engine.dispose()


def _coordinator_token(client, build):
    return bearer(api_token(client, build.user("coordinateur", territory="Valence")))


def test_unset_everything_on_the_primary(app, ctx):
    assert routing.replica_engine() is None
    with routing.replica_reads() as route:
        assert route.replica is False and route.reason == "unset" and route.as_of is None
        assert routing.read_connection() is db.session.connection()
        assert db.session.scalar(sa.select(sa.literal(1))) == 1


@pytest.mark.postgres_only
def test_indicators_read_on_the_replica_their_audit_on_the_primary(app, client, build,
                                                                   replica):
    on_replica, primary = replica
    headers = _coordinator_token(client, build)
    answer = client.get("/api/v1/indicators", headers=headers)
    assert answer.status_code == 200
    assert answer.json["figures_as_of"] is None  # a database not in recovery is current
    assert on_replica.matching("FROM visits"), "the visits were not read on the replica"
    assert not primary.matching("FROM visits")
    assert on_replica.matching("SET TRANSACTION READ ONLY")
    # the calendar is extended on the primary (a write), and only there
    assert not any("INSERT" in s for s in on_replica.seen)

    login(client, build.user("coordinateur", territory="Valence"))
    before = len(primary.matching("INSERT INTO audit_entries"))
    answer = client.get("/pilotage/indicators.csv?table=totals")
    assert answer.status_code == 200
    assert len(primary.matching("INSERT INTO audit_entries")) == before + 1
    from app.core.audit import AuditEntry, verify_chain

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(
            AuditEntry.action == "indicators.export")) == 1
        verify_chain(db.session)


@pytest.mark.postgres_only
def test_lists_counts_directory_export_and_retention_listing_on_the_replica(app, client, build,
                                                                            replica):
    on_replica, primary = replica
    build.structure(name="Épicerie solidaire")
    login(client, build.user("coordinateur", territory="Valence"))
    assert client.get("/pilotage/stalled").status_code == 200
    assert on_replica.matching("FROM orientations") and on_replica.matching("FROM parcours")
    # the rows of the page stay on the primary (only the counts tolerate lag)
    assert primary.matching("FROM orientations")
    answer = client.get("/directory.csv")
    assert answer.status_code == 200 and "Épicerie solidaire" in answer.get_data(as_text=True)
    assert on_replica.matching("FROM structures")
    on_replica.seen.clear()
    result = app.test_cli_runner().invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert on_replica.matching("FROM persons") and on_replica.matching("FROM login_attempts")


@pytest.mark.postgres_only
def test_writes_locks_and_text_stay_on_the_primary_inside_a_block(app, ctx, build, replica):
    on_replica, primary = replica
    from app.auth.models import User

    user_id = build.user("accueil").id
    with routing.replica_reads() as route:
        assert route.replica
        user = db.session.scalars(sa.select(User).where(User.id == user_id)).one()
        assert on_replica.matching("FROM users")
        locked = db.session.scalars(sa.select(User).where(User.id == user_id)
                                    .with_for_update(of=User)).one()
        assert locked is user and primary.matching("FOR UPDATE")
        user.display_name = "Renommé"
        db.session.flush()
        assert primary.matching("UPDATE users") and not on_replica.matching("UPDATE")
        db.session.execute(sa.text("SELECT 1 AS primary_text"))
        assert primary.matching("primary_text")
        with pytest.raises(sa.exc.DBAPIError):  # the replica's transaction is read-only
            routing.read_connection().exec_driver_sql("CREATE TEMPORARY TABLE x (y int)")
    db.session.rollback()
    with routing.replica_reads() as again:  # a new transaction: a new replica connection
        assert again.replica
        assert db.session.get(User, user_id).display_name != "Renommé"
    db.session.commit()


@pytest.mark.postgres_only
def test_a_replica_behind_but_within_the_setting_is_used_and_says_so(app, client, build,
                                                                    replica, monkeypatch):
    on_replica, _primary = replica
    replayed = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    monkeypatch.setattr(routing, "measure_lag", lambda *_: (12.0, replayed))
    login(client, build.user("coordinateur", territory="Valence"))
    page = client.get("/pilotage/indicators").get_data(as_text=True)
    assert 'id="figures-as-of"' in page and "Chiffres au" in page
    assert on_replica.matching("FROM visits")
    answer = client.get("/api/v1/indicators", headers=_coordinator_token(client, build))
    assert answer.json["figures_as_of"].startswith("2026-12-04T09:30:00")


@pytest.mark.postgres_only
def test_a_replica_too_far_behind_is_not_used(app, client, build, replica, monkeypatch):
    on_replica, primary = replica
    monkeypatch.setitem(app.config, "PASSERELLE_REPLICA_MAX_LAG_SECONDS", 30)
    monkeypatch.setattr(routing, "measure_lag",
                        lambda *_: (31.0, datetime.now(UTC) - timedelta(seconds=31)))
    login(client, build.user("coordinateur", territory="Valence"))
    page = client.get("/pilotage/indicators").get_data(as_text=True)
    assert "Chiffres au" not in page
    assert not on_replica.matching("FROM visits") and primary.matching("FROM visits")
    with app.test_request_context(), routing.replica_reads() as route:
        assert route.reason == "lagging" and not route.replica
        db.session.rollback()


@pytest.mark.postgres_only
def test_a_replica_down_falls_back_to_the_primary(app, client, build, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "DATABASE_REPLICA_URL",
                        "postgresql+psycopg://nobody@127.0.0.1:9/nothing")  # discard port
    routing.init_app(app)
    try:
        headers = _coordinator_token(client, build)
        answer = client.get("/api/v1/indicators", headers=headers)
        assert answer.status_code == 200 and answer.json["figures_as_of"] is None
        assert "replica unavailable, reading the primary" in caplog.text
        with app.test_request_context(), routing.replica_reads() as route:
            assert route.reason == "down" and not route.replica
            assert db.session.scalar(sa.select(sa.literal(2))) == 2  # the session still works
            db.session.rollback()
    finally:
        app.extensions.pop("passerelle_replica_engine").dispose()


@pytest.mark.postgres_only
def test_days_missing_from_the_replicas_calendar_are_read_on_the_primary(app, ctx, replica,
                                                                         monkeypatch):
    on_replica, primary = replica
    from app.pilotage import indicators

    monkeypatch.setattr(indicators, "calendar_covers", lambda *_: False)
    with routing.replica_reads() as route:
        indicators.compute(indicators.Query(datetime.now(UTC).date() - timedelta(days=30),
                                            datetime.now(UTC).date()))
        assert route.reason == "primary" and not route.replica
    assert primary.matching("FROM visits") and not on_replica.matching("FROM visits")
    db.session.rollback()


class _Answer:
    def __init__(self, *values):
        self.values = values

    def scalar(self):
        return self.values[0]

    def one(self):
        return self.values


class _Connection:
    def __init__(self, answers: dict[str, tuple]):
        self.answers = answers

    def exec_driver_sql(self, sql):
        return _Answer(*next(v for k, v in self.answers.items() if k in sql))


def _replica(replayed_lsn, age, in_recovery=True):
    at = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    return _Connection({"pg_is_in_recovery": (in_recovery,),
                        "pg_last_wal_replay_lsn": (replayed_lsn, at, age)})


def test_lag_is_nil_when_the_replica_has_replayed_what_the_primary_flushed():
    primary = _Connection({"pg_current_wal_flush_lsn": ("1/A0",)})
    # idle primary: the last replayed transaction is an hour old, but nothing is pending
    assert routing.measure_lag(_replica("1/A0", 3600.0), primary)[0] == 0.0
    assert routing.measure_lag(_replica("1/B0", 3600.0), primary)[0] == 0.0
    # behind: the lag is the age of the last replayed transaction
    assert routing.measure_lag(_replica("0/FFFFFFFF", 7.5), primary)[0] == 7.5
    # nothing replayed since it started, and behind: unknown, so too much
    assert routing.measure_lag(_replica("0/10", None), primary)[0] == float("inf")
    # not in recovery: a primary (a promoted replica), current by definition
    assert routing.measure_lag(_replica(None, None, in_recovery=False), primary)[0] == 0.0


def test_wal_replayed_within_milliseconds_is_no_lag():
    """The request's own first write (or a checkpoint record) flushed just before the question
    is replayed a few milliseconds later: the replica is waited for briefly, not skipped."""
    primary = _Connection({"pg_current_wal_flush_lsn": ("1/A0",)})
    at = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    answers = iter([("1/90", at, 3600.0), ("1/A0", at, 3600.0)])

    class Catching(_Connection):
        def exec_driver_sql(self, sql):
            if "pg_last_wal_replay_lsn" in sql:
                return _Answer(*next(answers))
            return super().exec_driver_sql(sql)

    replica = Catching({"pg_is_in_recovery": (True,)})
    assert routing.measure_lag(replica, primary) == (0.0, at)


def test_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://p@primary/db")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql://p@replica/db")
    monkeypatch.setenv("PASSERELLE_REPLICA_MAX_LAG_SECONDS", "12")
    settings = from_environment("test")
    assert settings.DATABASE_REPLICA_URL == "postgresql+psycopg://p@replica/db"
    assert settings.PASSERELLE_REPLICA_MAX_LAG_SECONDS == 12
    monkeypatch.delenv("DATABASE_REPLICA_URL")
    monkeypatch.delenv("PASSERELLE_REPLICA_MAX_LAG_SECONDS")
    settings = from_environment("test")
    assert settings.DATABASE_REPLICA_URL is None and settings.PASSERELLE_REPLICA_MAX_LAG_SECONDS == 30
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL needs PostgreSQL"):
        check(Settings(SQLALCHEMY_DATABASE_URI="sqlite:///x.db",
                       DATABASE_REPLICA_URL="postgresql+psycopg://p@replica/db"))


@pytest.mark.postgres_only
def test_prepare_threshold_none_in_the_url_turns_server_side_prepared_statements_off(
        database_url):
    """Behind PgBouncer < 1.21 in transaction mode (Debian 12 ships 1.18) psycopg must not
    prepare statements; the URL's text value used to reach psycopg as a string and fail."""
    for query, expected in (("?prepare_threshold=none", None), ("?prepare_threshold=3", 3)):
        engine = sa.create_engine(database_url + query)
        try:
            with engine.connect() as connection:
                assert connection.connection.dbapi_connection.prepare_threshold == expected
                for _ in range(4):
                    assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()
