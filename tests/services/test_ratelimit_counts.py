"""The pace's counts read no further than their limits (issue 21): a busy bucket's check costs
what its limit needs, not what its day holds."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.core import ratelimit
from app.core.db import db, utcnow


def _hits(name: str, count: int, age: timedelta) -> None:
    bucket = ratelimit._bucket(name)
    db.session.execute(sa.insert(ratelimit.RateLimitHit), [
        {"bucket": bucket, "at": utcnow() - age} for _ in range(count)])


def test_counts_stop_at_the_limit_and_still_tell_it_is_reached(ctx):
    _hits("busy", 50, timedelta(seconds=5))
    _hits("busy", 30, timedelta(days=2))  # past the longest window
    bucket = ratelimit._bucket("busy")
    capped = db.session.scalar(sa.select(ratelimit._capped_count(
        bucket, ratelimit.RateLimitHit.at > utcnow() - timedelta(minutes=1), 10)))
    assert capped == 10  # not 50
    limits = [("minute", 60, timedelta(minutes=1)), ("day", 600, timedelta(days=1))]
    assert ratelimit.first_exceeded("busy", limits) is None  # 50 < 60
    assert ratelimit.first_exceeded("busy", [("minute", 50, timedelta(minutes=1))]) == "minute"
    assert ratelimit.exceeded("busy", 50, timedelta(minutes=1)) is True
    assert ratelimit.exceeded("busy", 51, timedelta(minutes=1)) is False
    # the old hits are counted up to what ``forget`` needs, and forgotten once that many
    ratelimit.first_exceeded("busy", limits)
    assert db.session.info["rate_limit_stale"][bucket] == (timedelta(days=1),
                                                           ratelimit.FORGET_AFTER)
    ratelimit.forget("busy", timedelta(days=1))
    left = db.session.scalar(sa.select(sa.func.count()).select_from(ratelimit.RateLimitHit)
                             .where(ratelimit.RateLimitHit.bucket == bucket))
    assert left == 50
    db.session.rollback()
