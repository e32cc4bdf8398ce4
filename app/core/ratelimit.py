"""A small, tested throttle for public pages (links, codes): hits per bucket in a window.

Buckets name what is limited and for whom (``contact-code:<ip>``); only a keyed hash of the
bucket is stored, so the table holds no address in clear.
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


def exceeded(name: str, limit: int, window: timedelta) -> bool:
    """True when ``name`` already had ``limit`` hits within ``window``."""
    count = db.session.scalar(sa.select(sa.func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == _bucket(name), RateLimitHit.at > utcnow() - window))
    return count >= limit


def hit(name: str) -> None:
    db.session.add(RateLimitHit(bucket=_bucket(name)))
