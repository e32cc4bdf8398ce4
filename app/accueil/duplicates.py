"""The duplicate warning of a new file, for one user: paced and audited like a search, and
narrowed to what that user may see.

``persons.find_duplicates`` matches on the names alone across the département (the usual case
at an unconditional welcome has no birth date). Shown as such, it would be a search by name
without the search's pace or audit, and would show persons outside the agent's scope. So each
lookup counts as one name search (``search.keep_pace``) and is audited (``person.search``, by
``duplicate``); a person outside the user's scope is shown by name and birth year only when the
birth date was given and is theirs (the former rule: the same identity); otherwise the user is
only told that a file of that name exists elsewhere, to look for it with the search.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from app.accueil import persons, search
from app.accueil.scopes import visible_fields_many
from app.core import audit
from app.core.errors import TooManyRequests


@dataclass
class Duplicates:
    hits: list[search.Hit] = field(default_factory=list)  # shown: in scope, or same identity
    elsewhere: bool = False  # a file of that name exists outside the user's scope
    checked: bool = True  # False: the user was over their search limits, nothing looked up


def duplicates_for(user: Any, values: dict[str, Any], exclude: uuid.UUID | None = None,
                   paced: bool = True) -> Duplicates:
    """The possible duplicates ``user`` may be shown. Over their search limits, nothing is looked
    up (``checked`` False; the refusal is recorded and the coordinators told, as for a search):
    the welcome is unconditional, so a new file is never refused for want of a check.

    ``paced`` False (the API's creation): the lookup does not count against the search limits,
    since it always creates the file it checks, a trail of its own; it is audited all the same.
    The page's warning step shows names without creating anything: it counts."""
    if not (values.get("first_name") and values.get("last_name")):
        return Duplicates()
    if paced:
        try:
            search.keep_pace(user, "name")
        except TooManyRequests:
            return Duplicates(checked=False)
    found = persons.find_duplicates(values, exclude=exclude)
    birth = values.get("birth_date")
    access = visible_fields_many(user, found)
    result = Duplicates()
    for person in found:
        seen = access.get(person.id)
        if seen is not None or (birth is not None and person.birth_date == birth):
            result.hits.append(search.Hit(person, search.EXACT, 100.0, seen))
        else:
            result.elsewhere = True
    audit.record("person.search", actor=user, details={
        "by": "duplicate", "results": len(result.hits), "elsewhere": result.elsewhere,
        "with_birth_date": birth is not None, "truncated": False})
    return result
