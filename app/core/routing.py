"""Read routing: the heavy reads that tolerate seconds of lag go to a streaming replica.

With ``DATABASE_REPLICA_URL`` unset (the default) nothing here changes anything: every
statement goes to the primary. When it is set, a block::

    with replica_reads() as route:
        report = indicators.compute(query)

sends its plain SELECTs to the replica (``RoutingSession.get_bind`` in ``app.core.db`` decides,
statement by statement), while everything that writes stays on the primary, in the request's
own transaction: the audit entries the block records are chained on the primary like any other.
Only aggregate reads are wrapped (the indicators, the stalled and silent lists' counts, the
directory export, the retention listing); the pages that show what a user has just written read
the primary, so every read that follows a write of the same user sees it.

Before routing, the replica is asked how far behind it is. It is used when it has replayed
everything the primary had flushed when asked (``route.as_of`` is None: current figures), or
when its last replayed transaction is at most ``PASSERELLE_REPLICA_MAX_LAG_SECONDS`` old
(``route.as_of`` is that transaction's time: the page says "Chiffres au …"). A replica that does
not answer, or lags more, is not used: the block reads the primary, as without a replica. A
replica that dies in the middle of a block fails that request; the next one reads the primary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.db import REPLICA_READS, db

log = logging.getLogger(__name__)
_ENGINE = "passerelle_replica_engine"
_CONNECTION = "passerelle_replica_connection"  # session.info: the replica connection in use
_ROUTE = "passerelle_replica_route"            # session.info: the route of the open block
CATCH_UP_TRIES, CATCH_UP_PAUSE = 4, 0.02       # up to 60 ms for the replica to replay


@dataclass
class Route:
    """Where a ``replica_reads`` block reads. ``reason``: ``unset`` (no replica configured),
    ``replica``, ``down`` (it did not answer), ``lagging`` (more than the setting),
    ``primary`` (the block asked for the primary, e.g. for rows the replica cannot have yet)."""

    replica: bool = False
    reason: str = "unset"
    lag_seconds: float | None = None
    as_of: datetime | None = None  # the figures' time when they come from a replica behind


def init_app(app: Flask) -> None:
    """Create the replica's engine when ``DATABASE_REPLICA_URL`` is set (config.py checked
    that both databases are PostgreSQL)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    app.extensions[_ENGINE] = sa.create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10,
        # a replica that does not answer must not hold the request for long: fall back quickly
        connect_args={"connect_timeout": 3, "application_name": "passerelle-replica-reads"})


def replica_engine() -> sa.Engine | None:
    return current_app.extensions.get(_ENGINE)


def _lsn(text: str | None) -> int | None:
    if text is None:
        return None
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _connection(session: Session, engine: sa.Engine) -> sa.Connection:
    """The replica connection of this session's transaction (one for its whole life, so that
    the session sees one connection per engine), in a read-only transaction."""
    connection = session.info.get(_CONNECTION)
    if connection is None or connection.closed or connection.invalidated:
        connection = engine.connect()
        session.info[_CONNECTION] = connection
    if not connection.in_transaction():
        connection.begin()
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    return connection


def _discard(session: Session) -> None:
    connection = session.info.pop(_CONNECTION, None)
    if connection is not None:
        try:
            connection.invalidate()
            connection.close()
        except sa.exc.SQLAlchemyError:  # pragma: no cover - already gone
            pass


@event.listens_for(Session, "after_transaction_end")
def _close_replica(session: Session, transaction) -> None:
    """The replica connection ends with the session's transaction (commit, rollback, close)."""
    if transaction.parent is None and _CONNECTION in session.info:
        session.info.pop(REPLICA_READS, None)  # a block open across a commit reads the primary
        connection = session.info.pop(_CONNECTION)
        try:
            connection.close()
        except sa.exc.SQLAlchemyError:  # pragma: no cover - a replica gone meanwhile
            log.warning("replica connection could not be closed cleanly")


def measure_lag(replica: sa.Connection, primary: sa.Connection) -> tuple[float, datetime | None]:
    """(seconds behind, time of the last replayed transaction) of ``replica``.

    No lag when it has replayed everything the primary had flushed when asked: an idle primary
    writes nothing, so the last replayed transaction may be hours old without the replica being
    behind. Otherwise the lag is the age of its last replayed transaction (unknown, hence
    infinite, when it has replayed none since it started). A database that is not in recovery
    is a primary (a replica promoted, or the primary itself): it is current."""
    if not replica.exec_driver_sql("SELECT pg_is_in_recovery()").scalar():
        return 0.0, None
    flushed = _lsn(primary.exec_driver_sql("SELECT pg_current_wal_flush_lsn()::text").scalar())
    for attempt in range(CATCH_UP_TRIES):
        if attempt:
            # WAL just flushed (often this request's own first write, or a checkpoint's record)
            # is replayed within milliseconds: a short wait is no lag.
            time.sleep(CATCH_UP_PAUSE)
        replayed, at, lag = replica.exec_driver_sql(
            "SELECT pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(),"
            " extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())").one()
        if replayed is not None and flushed is not None and _lsn(replayed) >= flushed:
            return 0.0, at
    return (float(lag) if lag is not None else float("inf")), at


@contextmanager
def replica_reads() -> Iterator[Route]:
    """Send the block's plain SELECTs to the replica when one is set, answers and is recent
    enough; see the module's docstring. Nested blocks share the outer block's route."""
    session = db.session()
    outer = session.info.get(_ROUTE)
    if outer is not None:
        yield outer
        return
    route = Route()
    engine = replica_engine()
    if engine is not None:
        try:
            replica = _connection(session, engine)
            lag, at = measure_lag(replica, session.connection())
        except sa.exc.DBAPIError as error:
            log.warning("replica unavailable, reading the primary: %s",
                        str(error.orig or error).splitlines()[0])
            _discard(session)
            route.reason = "down"
        else:
            route.lag_seconds = lag
            if lag > current_app.config["PASSERELLE_REPLICA_MAX_LAG_SECONDS"]:
                log.warning("replica %.1f s behind, reading the primary", lag)
                route.reason = "lagging"
            else:
                route.replica, route.reason = True, "replica"
                route.as_of = at if lag > 0 else None
                session.info[REPLICA_READS] = replica
    session.info[_ROUTE] = route
    try:
        yield route
    finally:
        session.info.pop(_ROUTE, None)
        session.info.pop(REPLICA_READS, None)


def read_connection() -> sa.Connection:
    """The connection the current block reads from: the replica's inside a routed
    ``replica_reads`` block, else the primary's (the session's)."""
    session = db.session()
    return session.info.get(REPLICA_READS) or session.connection()


def read_primary() -> None:
    """Inside a ``replica_reads`` block: read the primary from now on (rows the block needs were
    just written, the replica cannot have them yet)."""
    session = db.session()
    session.info.pop(REPLICA_READS, None)
    route = session.info.get(_ROUTE)
    if route is not None and route.replica:
        route.replica, route.reason, route.as_of = False, "primary", None
