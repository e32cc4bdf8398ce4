"""A partner's inbox: finding an orientation by the person's name or reception number, and the
orientations assigned to the reader (issue 24, item 13).

The search goes through the blind indexes of ``accueil.search`` (nothing decrypted to find the
candidates), inside the inbox's scoped query; then each candidate is kept only if the query
names the person by what this partner sees of them (the fields the consent shares, the
reception number while the structure sees the person): a hidden name, a tombstone or a redirect
awaiting consent never answers a search, so the search is no oracle of what is not shared.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.accueil.persons import parse_reception_number
from app.accueil.search import keep_pace, names_match, persons_matching
from app.core import audit
from app.core.db import db
from app.orientation.models import Orientation
from app.orientation.presenters import orientation_view, preload

MAX_CANDIDATES = 200  # orientations of the inbox checked for one search


def mine(user: Any, query: sa.Select) -> sa.Select:
    """The orientations of ``query`` whose referent is ``user`` (they acknowledged them)."""
    return query.where(Orientation.referent_id == user.id)


def matching(user: Any, query: sa.Select, q: str) -> sa.Select:
    """The orientations of ``query`` (the inbox, scoped) whose person ``q`` names, by what
    ``user`` sees of them. Paced like the person search (``keep_pace``, one count per search or
    page of results): ``TooManyRequests`` (recorded) when the user is over their limits."""
    persons = persons_matching(q)
    if persons is not None:
        keep_pace(user, "number" if parse_reception_number(q) else "name")
    found: list = []
    if persons is not None:
        candidates = list(db.session.scalars(
            query.where(Orientation.person_id.in_(persons)).limit(MAX_CANDIDATES)))
        needs = preload(candidates)
        for orientation in candidates:
            person = orientation_view(orientation, user, with_events=False,
                                      needs_by_visit=needs)["person"]
            if person and names_match(q, person.get("reception_number"),
                                      [person.get(f) for f in ("first_name", "last_name",
                                                               "pseudonym")]):
                found.append(orientation.id)
    audit.record("orientation.inbox_search", actor=user,
                 details={"by": "number" if parse_reception_number(q) else "name",
                          "results": len(found)})
    return query.where(Orientation.id.in_(found) if found else sa.false())
