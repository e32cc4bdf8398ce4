"""Finding a person without a plaintext name in the database.

Each word of the query is turned into two blind indexes (exact word, phonetic code); a person is
a candidate when every query word matches one of their name words, exactly or by sound. The
candidates are then decrypted and ranked (rapidfuzz), exact matches first. At most
``MAX_CANDIDATES`` are ranked: the exact matches are fetched first, then the phonetic ones fill
up to the cap, and the result says when the cap cut (the agent then adds a first name or a
birth date). A reception number (``A-2026-000123``) finds its person directly. Nothing of the
query is logged or stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz

from app.accueil.models import Person, PersonSearchKey
from app.accueil.persons import birth_key, parse_reception_number, sound_key, word_key
from app.accueil.scopes import FULL, visible_fields_many
from app.core import audit
from app.core.db import db, load_many
from app.core.names import normalise, phonetic_key, tokens

MAX_CANDIDATES = 200  # beyond, the agent is asked to add a birth date
EXACT, APPROXIMATE = "exact", "approximate"
NAMES = ("first_name", "last_name", "birth_name", "pseudonym")


@dataclass
class Candidate:
    """What ranking reads of a person: their id and names, decrypted from a query of these
    columns only. At 1 M persons a common surname fills the cap, and building 200 whole persons
    cost more than finding them (BENCHMARKS.md): the persons of the page shown are loaded by
    ``with_access``."""

    id: uuid.UUID
    first_name: str | None
    last_name: str | None
    birth_name: str | None
    pseudonym: str | None


@dataclass
class Hit:
    person: Person | Candidate  # a Candidate until ``with_access`` loads the person
    match: str
    score: float
    access: str | set[str] | None  # FULL, shared fields, or None ("known at another site");
    # filled by ``with_access`` for the page shown

    @property
    def accessible(self) -> bool:
        return self.access is not None


@dataclass
class SearchResult:
    hits: list[Hit]
    truncated: bool = False  # more persons matched than MAX_CANDIDATES: add a first name or a
    # birth date


def _candidates(words: list[str], birth: date | None) -> tuple[list[Candidate], dict, bool]:
    """Persons matching every word, at most ``MAX_CANDIDATES``: those matching every word
    exactly first, then those matching by sound; whether each was exact; whether the cap cut."""
    exact_keys = {w: word_key(w) for w in words}
    sound_keys = {w: sound_key(w) for w in words if phonetic_key(w)}

    def matching(values_of) -> sa.Select:
        query = (sa.select(Person.id, *(getattr(Person, f"{name}_ct") for name in NAMES))
                 .where(Person.merged_into_id.is_(None)))
        for word in words:
            query = query.where(Person.id.in_(
                sa.select(PersonSearchKey.person_id).where(
                    PersonSearchKey.value.in_(values_of(word)))))
        if birth is not None:
            query = query.where(Person.birth_date_index == birth_key(birth))
        # No ORDER BY: with one, PostgreSQL must find and sort every match of a common name
        # before the LIMIT (125 ms p95 at 1 M persons, BENCHMARKS.md); without, it stops at the
        # cap. When the cap cuts, the agent is asked to narrow the search anyway.
        return query

    exact = _decrypted(db.session.execute(
        matching(lambda w: [exact_keys[w]]).limit(MAX_CANDIDATES + 1)))
    truncated = len(exact) > MAX_CANDIDATES
    exact = exact[:MAX_CANDIDATES]
    room = MAX_CANDIDATES - len(exact)
    close: list[Candidate] = []
    if not truncated and sound_keys:
        query = matching(lambda w: [exact_keys[w]] + ([sound_keys[w]] if w in sound_keys else []))
        if exact:
            query = query.where(Person.id.not_in([p.id for p in exact]))
        close = _decrypted(db.session.execute(query.limit(room + 1)))
        truncated = len(close) > room
        close = close[:room]
    is_exact = {p.id: True for p in exact} | {p.id: False for p in close}
    return exact + close, is_exact, truncated


def _decrypted(rows) -> list[Candidate]:
    fields = [Person.__encrypted__[name] for name in NAMES]
    return [Candidate(row_id, *(f.decrypt(row_id, token) for f, token in zip(fields, tokens,
                                                                             strict=True)))
            for row_id, *tokens in rows]


def _load_persons(hits: list[Hit]) -> None:
    """Put the whole person in each hit, in one query."""
    persons = {p.id: p for p in load_many(Person, [h.person.id for h in hits
                                                   if not isinstance(h.person, Person)])}
    for hit in hits:
        hit.person = persons.get(hit.person.id, hit.person)


def search_persons(user: Any, q: str | None, birth_date: date | None = None) -> list[Hit]:
    """Every match of ``q`` (and ``birth_date``), exact ones first, then by closeness; the
    persons loaded whole."""
    hits = find_persons(user, q, birth_date).hits
    _load_persons(hits)
    return hits


def find_persons(user: Any, q: str | None, birth_date: date | None = None) -> SearchResult:
    """The matches of ``q`` (and ``birth_date``), exact ones first, then by closeness; and
    whether there were more than ``MAX_CANDIDATES`` (the agent should narrow the search)."""
    number = parse_reception_number(q)
    truncated = False
    if number:
        persons = list(db.session.scalars(sa.select(Person).where(
            Person.reception_number == number, Person.merged_into_id.is_(None))))
        hits = [Hit(p, EXACT, 100.0, None) for p in persons]
    else:
        words = tokens(q)
        if not words:
            return SearchResult([])
        persons, exact, truncated = _candidates(words, birth_date)
        query_text = normalise(q)
        folded: dict[str, str] = {}  # names repeat among candidates: each folded once

        def fold(name: str | None) -> str:
            if not name:
                return ""
            if name not in folded:
                folded[name] = normalise(name)
            return folded[name]

        hits, order = [], {}
        for person in persons:
            first, last = fold(person.first_name), fold(person.last_name)
            # normalise works word by word: the parts folded apart, joined, are the whole folded
            names = " ".join(filter(None, (first, last, fold(person.birth_name),
                                           fold(person.pseudonym))))
            score = fuzz.token_set_ratio(query_text, names)
            hits.append(Hit(person, EXACT if exact[person.id] else APPROXIMATE, score, None))
            order[person.id] = (last, first)
        hits.sort(key=lambda h: (h.match != EXACT, -h.score, *order[h.person.id]))
    audit.record("person.search", actor=user, details={"results": len(hits),
                                                       "with_birth_date": birth_date is not None,
                                                       "truncated": truncated})
    return SearchResult(hits, truncated)


def with_access(user: Any, hits: list[Hit]) -> list[Hit]:
    """Fill in what the user may open of each hit (call it on the page shown, not all hits);
    the page's persons are loaded whole, in one query."""
    _load_persons(hits)
    access = visible_fields_many(user, [h.person for h in hits])
    for hit in hits:
        hit.access = access[hit.person.id]
    return hits


def full_access(hit: Hit) -> bool:
    return hit.access == FULL
