"""Database foundations: the declarative base, naming convention, UUID keys, UTC timestamps and
encrypted attributes.

A model declares an encrypted attribute in one line::

    class Person(Model):
        first_name = Encrypted()            # str, stored encrypted in column "first_name"
        birth_date = Encrypted(kind="date")  # datetime.date

and reads and writes plaintext. The ciphertext lives in the column of the same name (attribute
``<name>_ct``), encrypted with the associated data ``table:column:row-id``.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import TypeDecorator

from app.core.crypto import KeyRing

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def render_item(type_: str, obj: Any, autogen_context) -> str | bool:
    """Alembic autogenerate: write our UTC type as the plain type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Indexes on expressions: Alembic compares them as text, and PostgreSQL gives back its own
# rewriting of the expression, so autogenerate would see a change forever. They are created by
# their migration and checked by tests/migrations instead.
EXPRESSION_INDEXES = frozenset({"ix_orientations_stall_due", "ix_orientations_stall_urgent_due"})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic autogenerate: leave the expression indexes alone."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


class Base(DeclarativeBase):
    registry = sa.orm.registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), uuid.UUID: sa.Uuid()},
    )


# session.info key of the replica connection while ``app.core.routing.replica_reads`` routes.
REPLICA_READS = "passerelle_replica_reads"


class RoutingSession(FlaskSession):
    """The one place where a statement's database is chosen: inside ``replica_reads()`` (see
    ``app.core.routing``) a plain SELECT goes to the replica's connection; everything else (a
    flush, an INSERT/UPDATE/DELETE, ``SELECT … FOR UPDATE``, text, ``session.connection()``)
    goes to the primary, as it always does outside."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None:
            reads = self.info.get(REPLICA_READS)
            if (reads is not None and not self._flushing
                    and getattr(clause, "is_select", False)
                    and getattr(clause, "_for_update_arg", None) is None):
                return reads
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, disable_autonaming=True,
                session_options={"class_": RoutingSession})


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys and wait for locks instead of failing at once."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@sa.event.listens_for(sa.engine.Engine, "do_connect")
def _prepare_threshold(_dialect, _record, _cargs, cparams) -> None:
    """``?prepare_threshold=none`` in a PostgreSQL URL: psycopg never prepares statements on the
    server, as PgBouncer in transaction mode before 1.21 requires (Debian 12 ships 1.18). The URL
    hands the value over as text, which psycopg cannot compare: it gets its type here."""
    value = cparams.get("prepare_threshold")
    if isinstance(value, str):
        text = value.strip().lower()
        cparams["prepare_threshold"] = None if text in ("", "none", "off") else int(text)


_CHECKED_IN = "passerelle_checked_in"


def ping_when_idle(engine: sa.Engine, seconds: float) -> None:
    """Check a pooled connection with a ping only when it comes back after ``seconds`` idle.

    ``pool_pre_ping`` pings at every checkout: a round trip per request (issue 21) to protect
    against a connection the server dropped meanwhile (a restart, an idle timeout, a failover),
    which happens while connections sit unused, not between two requests a few milliseconds
    apart. A ping that fails makes the pool drop that connection and open another, so the
    request never sees it. A connection dropped while in steady use is caught by SQLAlchemy at
    its first statement (the pool is then emptied); with ``seconds`` = 0 every checkout pings,
    as ``pool_pre_ping`` did."""

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < seconds:
            return  # new, or back from a request just now
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # the pool discards this connection and checks out another (up to three times)
            raise sa.exc.DisconnectionError("connection lost while idle") from error


def analyze(tables: list[str] | tuple[str, ...]) -> None:
    """Settle tables a bulk command has just filled or rewritten: planner statistics, and on
    PostgreSQL the visibility map too (``VACUUM (ANALYZE)``).

    Autovacuum gets there only once enough rows changed and its next round comes: a search run
    right after loading 100 000 persons was planned blind and took 10 × longer, and until the
    visibility map is set an index-only scan visits the table for every entry (a common name's
    search took 300 ms instead of 20). Bulk commands (``demo generate``, ``directory import``,
    ``keys rotate``) end with this. Table names come from the models, never from input."""
    if not tables:
        return
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # VACUUM runs outside any transaction block
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.execute(sa.text(f'VACUUM (ANALYZE) "{table}"'))
        return
    for table in tables:
        db.session.execute(sa.text(f'ANALYZE "{table}"'))
    db.session.commit()


def key_ring() -> KeyRing:
    """The application's key ring (set up by the factory)."""
    if not has_app_context():
        raise RuntimeError("encrypted attributes need an application context")
    return current_app.extensions["passerelle_keyring"]


class Encrypted:
    """Descriptor of an encrypted attribute; see the module docstring."""

    KINDS = ("text", "date")

    def __init__(self, kind: str = "text"):
        if kind not in self.KINDS:
            raise ValueError(f"unknown encrypted kind {kind!r}")
        self.kind = kind
        self.name = ""
        self.table = ""

    @property
    def storage(self) -> str:
        return f"{self.name}_ct"

    def aad(self, obj: Any) -> str:
        return self._aad(obj.id)

    def _aad(self, row_id: Any) -> str:
        return f"{self.table}:{self.name}:{row_id}"

    def decrypt(self, row_id: Any, token: str | None, ring: KeyRing | None = None) -> Any:
        """The plaintext of this attribute's ``token`` in row ``row_id``, read without the ORM
        (a query of columns, for many rows: pass them the ``ring``, looked up once)."""
        if token is None:
            return None
        return self._decode((ring or key_ring()).decrypt(token, self._aad(row_id)))

    def _encode(self, value: Any) -> str:
        if self.kind == "date":
            if not isinstance(value, date) or isinstance(value, datetime):
                raise TypeError(f"{self.name} expects a date")
            return value.isoformat()
        if not isinstance(value, str):
            raise TypeError(f"{self.name} expects a string")
        return value

    def _decode(self, text: str) -> Any:
        return date.fromisoformat(text) if self.kind == "date" else text

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        token = getattr(obj, self.storage)
        if token is None:
            return None
        cache = obj.__dict__.setdefault("_plaintext_cache", {})
        cached = cache.get(self.name)
        if cached is not None and cached[0] == token:
            return cached[1]
        value = self.decrypt(obj.id, token)
        cache[self.name] = (token, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if obj.id is None:
            obj.id = uuid.uuid4()  # the row id is part of the associated data
        cache = obj.__dict__.setdefault("_plaintext_cache", {})
        if value is None or value == "":
            setattr(obj, self.storage, None)
            cache.pop(self.name, None)
            return
        token = key_ring().encrypt(self._encode(value), self.aad(obj))
        setattr(obj, self.storage, token)
        cache[self.name] = (token, value)


class Model(db.Model):
    """Abstract base of every Passerelle table: UUID primary key generated in Python."""

    __abstract__ = True
    __encrypted__: ClassVar[dict[str, Encrypted]] = {}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        found = {k: v for k, v in vars(cls).items() if isinstance(v, Encrypted)}
        for name, field in found.items():
            field.name = name
            field.table = cls.__dict__.get("__tablename__", "")
            setattr(cls, field.storage, mapped_column(name, sa.Text, nullable=True))
        if found:
            cls.__encrypted__ = {**cls.__encrypted__, **found}
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs: Any) -> None:
        # The id comes first: encrypted attributes bind their ciphertext to it.
        self.id = kwargs.pop("id", None) or uuid.uuid4()
        # Python-side defaults are applied now, not at flush, so a new object reads complete.
        for attr in sa.inspect(type(self)).column_attrs:
            default = attr.columns[0].default
            if attr.key in kwargs or attr.key == "id" or default is None:
                continue
            if default.is_scalar:
                kwargs[attr.key] = default.arg
            elif default.is_callable:
                kwargs[attr.key] = default.arg(None)
        super().__init__(**kwargs)


def encrypted_models() -> list[type[Model]]:
    """Every mapped model that declares at least one encrypted attribute."""
    return sorted(
        (m.class_ for m in db.Model.registry.mappers if getattr(m.class_, "__encrypted__", None)),
        key=lambda cls: cls.__tablename__,
    )


def load_many(model: type, ids: Any) -> list[Any]:
    """Load the rows of ``model`` with these ids in one query and keep them in the session.

    The identity map holds only weak references: rows loaded and dropped are collected, and a
    later ``session.get`` queries again. Keeping them in ``session.info`` for the session's life
    (one request) makes the following ``get`` calls free.
    """
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return []
    session = db.session()
    # Rows this request already holds, loaded and not expired, are not asked for again (the
    # person of the file whose orientations are listed: issue 21).
    held = [row for row in (session.identity_map.get(identity_key(model, i))
                            for i in wanted)
            if row is not None and not sa.inspect(row).expired_attributes]
    missing = wanted - {row.id for row in held}
    rows = held + (list(session.scalars(sa.select(model).where(model.id.in_(missing))))
                   if missing else [])
    session.info.setdefault("loaded", []).extend(rows)
    return rows


def page_of(query: Any, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of a query's rows (numbered from 1) and the total count of its rows."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery()))
    rows = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return rows, total or 0
