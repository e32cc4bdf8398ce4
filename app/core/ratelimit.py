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
    _lock(_bucket(name))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == _bucket(name), RateLimitHit.at > utcnow() - window))
    return count >= limit


def first_exceeded(name: str, limits: list[tuple[str, int, timedelta]]) -> str | None:
    """Several windows of one bucket checked at once (a minute and a day): the first
    ``(label, limit, window)`` whose limit ``name`` already reached, or None. One lock and one
    count for all of them, as ``exceeded`` would take one of each per window."""
    bucket = _bucket(name)
    _lock(bucket)
    now = utcnow()
    counts = db.session.execute(sa.select(*(
        sa.func.count().filter(RateLimitHit.at > now - window) for _l, _n, window in limits))
        .where(RateLimitHit.bucket == bucket,
               RateLimitHit.at > now - max(window for _l, _n, window in limits))).one()
    for (label, limit, _window), count in zip(limits, counts, strict=True):
        if count >= limit:
            return label
    return None


def hit(name: str) -> None:
    db.session.add(RateLimitHit(bucket=_bucket(name)))


def forget(name: str, older_than: timedelta) -> None:
    """Delete the hits of ``name`` older than ``older_than``: a limit counted on every request
    of a user (person searches) keeps only what its longest window needs."""
    db.session.execute(sa.delete(RateLimitHit).where(
        RateLimitHit.bucket == _bucket(name), RateLimitHit.at <= utcnow() - older_than))
