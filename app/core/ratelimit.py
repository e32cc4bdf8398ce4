"""A small, tested throttle for public pages (links, codes): hits per bucket in a window.

Buckets name what is limited and for whom (``contact-code:<ip>``); only a keyed hash of the
bucket is stored, so the table holds no address in clear.

A check and the hit that follows it must be one step: 40 requests arriving together would
otherwise all count the same few hits and all pass. ``exceeded`` therefore first takes the
bucket's lock, held until the transaction ends (PostgreSQL: a transaction-scoped advisory lock;
SQLite serialises writers), so the next request on that bucket counts after this one's hit is
committed. ``serialise`` takes the same lock for counters kept elsewhere (login attempts).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Model, db, key_ring, utcnow


class RateLimitHit(Model):
    __tablename__ = "rate_limit_hits"
    __table_args__ = (sa.Index("ix_rate_limit_hits_bucket_at", "bucket", "at"),)

    bucket: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def _bucket(name: str) -> str:
    return key_ring().blind_index("rate-limit", name)


_LOCK_CLASS = 0x5A7E  # the first key of the two-key advisory locks taken here


def _lock(bucket: str) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        key = int(bucket[:8], 16) - 2**31  # 32 bits of the keyed hash, as a signed int4
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:c, :k)"),
                           {"c": _LOCK_CLASS, "k": key})


def serialise(name: str) -> None:
    """Hold the lock of ``name`` until the transaction ends: a concurrent request on the same
    name waits here until this one's count and writes are committed."""
    _lock(_bucket(name))


def exceeded(name: str, limit: int, window: timedelta) -> bool:
    """True when ``name`` already had ``limit`` hits within ``window``; the bucket stays locked
    until the transaction ends (see the module's docstring), so check and hit are one step."""
    bucket = _bucket(name)
    _lock(bucket)
    return db.session.scalar(sa.select(_capped_count(bucket, RateLimitHit.at > utcnow() - window,
                                                     limit))) >= limit


def _capped_count(bucket, condition, cap) -> sa.ScalarSelect:
    """How many hits of ``bucket`` meet ``condition``, counted up to ``cap`` (values, or bound
    parameters of a statement built once): a range of the (bucket, at) index read no further
    than the limit needs. Counting them all made a busy bucket's check as slow as its day was
    long (8 ms at 10 000 hits; issue 21)."""
    hits = (sa.select(sa.literal(1)).where(RateLimitHit.__table__.c.bucket == bucket, condition)
            .limit(cap).subquery())
    return sa.select(sa.func.count()).select_from(hits).scalar_subquery()


@functools.cache
def _counts(windows: int) -> sa.Select:
    """``first_exceeded``'s statement for this many windows, built once (building it took half
    a millisecond of each person search; issue 21): the bucket, each window's start
    (``since_<i>``) and limit (``cap_<i>``) are bound at each run; the last count is the hits
    before ``since_<windows>``, up to ``cap_<windows>``."""
    at = RateLimitHit.__table__.c.at  # the table's columns: no ORM compilation at each run

    def capped(i: int, older: bool) -> sa.ScalarSelect:
        since = sa.bindparam(f"since_{i}", type_=at.type)
        return _capped_count(sa.bindparam("bucket"), at <= since if older else at > since,
                             sa.bindparam(f"cap_{i}", type_=sa.Integer))

    return sa.select(*(capped(i, False) for i in range(windows)), capped(windows, True))


def first_exceeded(name: str, limits: list[tuple[str, int, timedelta]]) -> str | None:
    """Several windows of one bucket checked at once (a minute and a day): the first
    ``(label, limit, window)`` whose limit ``name`` already reached, or None. One lock and one
    count for all of them, as ``exceeded`` would take one of each per window."""
    bucket = _bucket(name)
    _lock(bucket)
    now = utcnow()
    longest = max(window for _l, _n, window in limits)
    # The same statement counts the hits past the longest window, which ``forget`` then
    # deletes only once there are enough of them (a statement fewer on most requests).
    values: dict = {"bucket": bucket, f"since_{len(limits)}": now - longest,
                    f"cap_{len(limits)}": FORGET_AFTER}
    for i, (_label, limit, window) in enumerate(limits):
        values.update({f"since_{i}": now - window, f"cap_{i}": limit})
    *counts, stale = db.session.execute(_counts(len(limits)), values).one()
    db.session.info.setdefault("rate_limit_stale", {})[bucket] = (longest, stale)
    for (label, limit, _window), count in zip(limits, counts, strict=True):
        if count >= limit:
            return label
    return None


def hit(name: str) -> None:
    db.session.add(RateLimitHit(bucket=_bucket(name)))


FORGET_AFTER = 20  # old hits of a bucket left until ``forget`` deletes them together


def forget(name: str, older_than: timedelta) -> None:
    """Delete the hits of ``name`` older than ``older_than``: a limit counted on every request
    of a user (person searches) keeps only what its longest window needs.

    When ``first_exceeded`` counted this bucket in this transaction with ``older_than`` as its
    longest window, the hits are deleted only once ``FORGET_AFTER`` of them are that old: fewer
    than that count for nothing (outside every window) and cost a statement to delete each time.
    """
    bucket = _bucket(name)
    window, stale = db.session.info.get("rate_limit_stale", {}).pop(bucket, (None, None))
    if window == older_than and stale < FORGET_AFTER:
        return
    db.session.execute(sa.delete(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.at <= utcnow() - older_than))
