"""A pooled connection is pinged only when it comes back after being idle (issue 21):
``app.core.db.ping_when_idle`` replaces ``pool_pre_ping``'s round trip at every checkout."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.core.db import ping_when_idle


@pytest.fixture
def engine(database_url):
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch):
    calls = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        calls.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return calls


def _use(engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1


def test_a_connection_back_from_a_request_just_now_is_not_pinged(engine, pings):
    ping_when_idle(engine, 3600)
    for _ in range(3):
        _use(engine)
    assert pings == []


def test_a_connection_idle_for_longer_than_the_setting_is_pinged(engine, pings):
    ping_when_idle(engine, 1.0)  # a second: two uses in a row stay under it on a loaded machine
    _use(engine)  # a new connection: nothing to check
    _use(engine)
    assert pings == []
    time.sleep(1.2)
    _use(engine)
    assert len(pings) == 1


def test_a_connection_the_server_dropped_while_idle_is_replaced_unseen(engine, database_url):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    ping_when_idle(engine, 0)  # every checkout pings: the connection below was idle
    with engine.connect() as connection:
        first = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with killer.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                                  {"pid": first}).scalar() is True
    killer.dispose()
    time.sleep(0.1)
    with engine.connect() as connection:  # the ping fails, the pool opens another connection
        second = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    assert second != first


def test_without_the_ping_that_dropped_connection_would_have_failed(engine, database_url):
    """The counter-test: the case above is real (an unpinged dropped connection errors)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    ping_when_idle(engine, 3600)
    with engine.connect() as connection:
        first = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    killer = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with killer.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    killer.dispose()
    time.sleep(0.1)
    with pytest.raises(sa.exc.OperationalError), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
