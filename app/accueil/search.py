"""Finding a person without a plaintext name in the database.

Each word of the query is turned into two blind indexes (exact word, phonetic code); a person is
a candidate when every query word matches one of their name words, exactly or by sound. The
candidates are then decrypted and ranked (rapidfuzz), exact matches first. A reception number
(``A-2026-000123``) finds its person directly. Nothing of the query is logged or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz

from app.accueil.models import Person, PersonSearchKey
from app.accueil.persons import birth_key, parse_reception_number, sound_key, word_key
from app.accueil.scopes import FULL, visible_fields_many
from app.core import audit
from app.core.db import db
from app.core.names import normalise, phonetic_key, tokens

MAX_CANDIDATES = 200  # beyond, the agent is asked to add a birth date
EXACT, APPROXIMATE = "exact", "approximate"


@dataclass
class Hit:
    person: Person
    match: str
    score: float
    access: str | set[str] | None  # FULL, shared fields, or None ("known at another site");
    # filled by ``with_access`` for the page shown

    @property
    def accessible(self) -> bool:
        return self.access is not None


def _candidates(words: list[str], birth: date | None) -> tuple[list[Person], dict]:
    """Persons matching every word; and for each, whether every match was exact."""
    exact_keys = {w: word_key(w) for w in words}
    sound_keys = {w: sound_key(w) for w in words if phonetic_key(w)}
    query = sa.select(Person).where(Person.merged_into_id.is_(None))
    for word in words:
        values = [exact_keys[word]] + ([sound_keys[word]] if word in sound_keys else [])
        query = query.where(Person.id.in_(
            sa.select(PersonSearchKey.person_id).where(PersonSearchKey.value.in_(values))))
    if birth is not None:
        query = query.where(Person.birth_date_index == birth_key(birth))
    persons = list(db.session.scalars(query.limit(MAX_CANDIDATES)))
    exact_hits: dict = {}
    if persons:
        rows = db.session.execute(
            sa.select(PersonSearchKey.person_id, PersonSearchKey.value).where(
                PersonSearchKey.person_id.in_([p.id for p in persons]),
                PersonSearchKey.value.in_(list(exact_keys.values())),
            )
        ).all()
        for person_id, value in rows:
            exact_hits.setdefault(person_id, set()).add(value)
    exact = {p.id: exact_hits.get(p.id, set()) >= set(exact_keys.values()) for p in persons}
    return persons, exact


def search_persons(user: Any, q: str | None, birth_date: date | None = None) -> list[Hit]:
    """Every match of ``q`` (and ``birth_date``), exact ones first, then by closeness."""
    number = parse_reception_number(q)
    if number:
        persons = list(db.session.scalars(sa.select(Person).where(
            Person.reception_number == number, Person.merged_into_id.is_(None))))
        hits = [Hit(p, EXACT, 100.0, None) for p in persons]
    else:
        words = tokens(q)
        if not words:
            return []
        persons, exact = _candidates(words, birth_date)
        query_text = normalise(q)
        hits = []
        for person in persons:
            names = normalise(" ".join(filter(None, (person.first_name, person.last_name,
                                                     person.birth_name, person.pseudonym))))
            score = fuzz.token_set_ratio(query_text, names)
            hits.append(Hit(person, EXACT if exact[person.id] else APPROXIMATE, score, None))
        hits.sort(key=lambda h: (h.match != EXACT, -h.score, normalise(h.person.last_name or ""),
                                 normalise(h.person.first_name or "")))
    audit.record("person.search", actor=user, details={"results": len(hits),
                                                       "with_birth_date": birth_date is not None})
    return hits


def with_access(user: Any, hits: list[Hit]) -> list[Hit]:
    """Fill in what the user may open of each hit (call it on the page shown, not all hits)."""
    access = visible_fields_many(user, [h.person for h in hits])
    for hit in hits:
        hit.access = access[hit.person.id]
    return hits


def full_access(hit: Hit) -> bool:
    return hit.access == FULL
