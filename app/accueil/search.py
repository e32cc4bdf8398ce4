"""Finding a person without a plaintext name in the database.

Each word of the query is turned into two blind indexes (exact word, phonetic code); a person is
a candidate when every query word matches one of their name words, exactly or by sound, or
else one letter dropped, added or swapped away ("lefebre" finds LEFEBVRE: ``one_slip_away``). The
candidates are then decrypted and ranked (rapidfuzz), exact matches first. At most
``MAX_CANDIDATES`` are ranked: the exact matches are fetched first, then the phonetic ones fill
up to the cap, and the result says when the cap cut (the agent then adds a first name or a
birth date). A reception number (``A-2026-000123``) finds its person directly. Nothing of the
query is logged or stored: the audit keeps whether the search was by number or by name.

Reception numbers are sequential, so searching by number could list the register: each user
may search ``PASSERELLE_SEARCH_MAX_PER_MINUTE`` times a minute and
``PASSERELLE_SEARCH_MAX_PER_DAY`` times a day (pages of results count). Beyond, the search is
refused (429) and audited (``person.search_refused``), the coordinators of the user's territory
get an e-mail (once a day per user) and the burst shows on their stalled-work page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from rapidfuzz import fuzz

from app.accueil.models import Person, PersonSearchKey
from app.accueil.persons import birth_key, parse_reception_number, sound_key, word_key
from app.accueil.scopes import FULL, search_shows_outside_scope, visible_fields_many
from app.core import audit, ratelimit
from app.core.db import db, key_ring, load_many, utcnow
from app.core.errors import TooManyRequests
from app.core.names import normalise, phonetic_key, tokens

MAX_CANDIDATES = 200  # beyond, the agent is asked to add a birth date
MAX_QUERY_LENGTH = 200  # the page's and the API's limit on ``q``
MAX_WORDS = 8  # words of a query looked up; more name no one better and cost a statement's size
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

    # In the tables' columns, not the models' attributes: a statement naming no model runs
    # without the ORM's compilation and loading (half the time of these statements; issue 21).
    persons, keys = Person.__table__.c, PersonSearchKey.__table__.c

    def matching(values_of) -> sa.Select:
        query = (sa.select(persons.id, *(persons[name] for name in NAMES))
                 .where(persons.merged_into_id.is_(None)))
        for word in words:
            query = query.where(persons.id.in_(
                sa.select(keys.person_id).where(keys.value.in_(values_of(word)))))
        if birth is not None:
            query = query.where(persons.birth_date_index == birth_key(birth))
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
            query = query.where(persons.id.not_in([p.id for p in exact]))
        close = _decrypted(db.session.execute(query.limit(room + 1)))
        truncated = len(close) > room
        close = close[:room]
    # Last, when neither the spelling nor the sound found anyone, a letter dropped, added or
    # swapped in a word ("lefebre" for LEFEBVRE): the keys of the words one such slip away (of
    # those long enough for one letter not to make another name of them). Only then: each word
    # of eight letters brings about 250 keys to hash and look up, which every search paying it
    # made the desk's most frequent request several times slower (issue 21).
    room -= len(close)
    near: list[Candidate] = []
    slips = ({w: [word_key(v) for v in one_slip_away(w)] for w in words}
             if not (exact or close or truncated) else {})
    if slips and room > 0 and any(slips.values()):
        query = matching(lambda w: [exact_keys[w]] + ([sound_keys[w]] if w in sound_keys else [])
                         + slips[w])
        seen = [p.id for p in exact + close]
        if seen:
            query = query.where(persons.id.not_in(seen))
        near = _decrypted(db.session.execute(query.limit(room + 1)))
        truncated = len(near) > room
        near = near[:room]
    is_exact = {p.id: True for p in exact} | {p.id: False for p in close + near}
    return exact + close + near, is_exact, truncated


SLIP_MIN_LENGTH = 5
SLIP_MAX_LENGTH = 30  # no name word is longer: a longer word would only bloat the statement
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def one_slip_away(word: str) -> set[str]:
    """The words one letter dropped, added or two neighbours swapped away from ``word`` (a
    normalised word of at least ``SLIP_MIN_LENGTH`` letters; none for a shorter one, nor for one
    longer than ``SLIP_MAX_LENGTH``: each letter adds 27 keys to bind)."""
    if not SLIP_MIN_LENGTH <= len(word) <= SLIP_MAX_LENGTH:
        return set()
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    found = {a + c + b for a, b in splits for c in _LETTERS}  # the letter the agent dropped
    found |= {a + b[1:] for a, b in splits if b}  # a letter typed twice or by mistake
    found |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    found.discard(word)
    return found


def _decrypted(rows) -> list[Candidate]:
    fields = [Person.__encrypted__[name] for name in NAMES]
    ring = key_ring()  # once: through Flask's proxy for each of 800 fields it cost 1.5 ms
    found = []
    for row_id, *sealed in rows:
        aad_id = str(row_id)  # once per row, not per field: a UUID's str() costs 1.5 µs
        found.append(Candidate(row_id, *(f.decrypt(aad_id, token, ring)
                                         for f, token in zip(fields, sealed, strict=True))))
    return found


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
    whether there were more than ``MAX_CANDIDATES`` (the agent should narrow the search).

    ``TooManyRequests`` (recorded: the refusal stays in the audit) when the user is over their
    limits."""
    number = parse_reception_number(q)
    if number or tokens(q):
        keep_pace(user, "number" if number else "name")
    truncated = False
    if number:
        persons = list(db.session.scalars(sa.select(Person).where(
            Person.reception_number == number, Person.merged_into_id.is_(None))))
        hits = [Hit(p, EXACT, 100.0, None) for p in persons]
    else:
        words = tokens(q)[:MAX_WORDS]
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
    if not search_shows_outside_scope(user):  # a référent: only the persons of their scope
        hits = [hit for hit in with_access(user, hits) if hit.accessible]
    audit.record("person.search", actor=user, details={"by": "number" if number else "name",
                                                       "results": len(hits),
                                                       "with_birth_date": birth_date is not None,
                                                       "truncated": truncated})
    return SearchResult(hits, truncated)


# -- pace -------------------------------------------------------------------------------------
BURST_DAYS = 7  # how long a burst shows on the coordinators' page


def _bucket(user: Any) -> str:
    return f"person-search:{user.id}"


def keep_pace(user: Any, by: str) -> None:
    """Count one search of ``user`` (``by`` number or name), or refuse it when the user is over
    the limit of the minute or of the day: audited, coordinators told, ``TooManyRequests``."""
    config = current_app.config
    limits = [("minute", config["PASSERELLE_SEARCH_MAX_PER_MINUTE"], timedelta(minutes=1)),
              ("day", config["PASSERELLE_SEARCH_MAX_PER_DAY"], timedelta(days=1))]
    window = ratelimit.first_exceeded(_bucket(user), limits)
    if window is not None:
        limit = dict((label, n) for label, n, _length in limits)[window]
        audit.record("person.search_refused", actor=user, details={"by": by, "limit": window})
        _alert_coordinators(user, window, limit)
        message = (_("Trop de recherches en une minute : patientez une minute avant de "
                     "chercher à nouveau.") if window == "minute" else
                   _("Vous avez atteint le nombre de recherches permis sur 24 heures : "
                     "réessayez plus tard ou adressez-vous à votre coordinateur."))
        raise TooManyRequests(message, persist=True)
    ratelimit.hit(_bucket(user))
    # The day's window is the longest: older hits of this user count for nothing any more.
    ratelimit.forget(_bucket(user), timedelta(days=1))


def _territory(user: Any) -> str | None:
    site = getattr(user, "site", None)
    return site.territory if site is not None else getattr(user, "territory", None)


def _alert_coordinators(user: Any, window: str, limit: int) -> None:
    """One e-mail a day per searching user to each coordinator of the user's territory."""
    from app.auth.services import coordinators
    from app.notifications.services import queue

    territory = _territory(user)
    if not territory:
        return
    now = utcnow()
    base = current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
    site = getattr(user, "site", None)
    where = f" (site {site.name})" if site is not None else ""
    pace = f"{limit} par minute" if window == "minute" else f"{limit} par 24 heures"
    for coordinator in coordinators([territory], exclude=user.id):
        queue(coordinator.email, "Passerelle : recherches de personnes inhabituelles",
              f"Le compte {user.display_name}{where} a dépassé la limite de recherches de "
              f"personnes ({pace}) le {now:%d/%m/%Y à %H:%M} UTC. Ses recherches suivantes ont "
              f"été refusées.\n\nDes recherches en rafale, surtout par numéro d'accueil, "
              f"peuvent servir à parcourir le registre. Voir la page « En attente » : "
              f"{base}/pilotage/stalled\n",
              kind="person.search_burst", related_type="user", related_id=user.id,
              dedupe_key=f"person.search_burst:{user.id}:{now:%Y-%m-%d}:{coordinator.id}")


@dataclass
class Burst:
    """Searches refused to one user on one day: who, where, from when, how many."""

    user: Any
    site: Any
    first_at: datetime
    last_at: datetime
    refused: int


def bursts(territory: str | None, days: int = BURST_DAYS) -> list[Burst]:
    """The refused searches of the territory's users over the last ``days``, by user and day,
    the latest first (the coordinators' stalled-work page)."""
    from app.auth.models import User
    from app.directory.models import Site

    if not territory:
        return []
    rows = db.session.execute(
        sa.select(audit.AuditEntry.actor_id, audit.AuditEntry.at)
        .join(User, User.id == audit.AuditEntry.actor_id)
        .outerjoin(Site, Site.id == User.site_id)
        .where(audit.AuditEntry.action == "person.search_refused",
               audit.AuditEntry.at >= utcnow() - timedelta(days=days),
               sa.or_(Site.territory == territory,
                      sa.and_(User.site_id.is_(None), User.territory == territory)))
        .order_by(audit.AuditEntry.at)).all()
    grouped: dict[tuple, Burst] = {}
    users = {u.id: u for u in load_many(User, {actor for actor, _at in rows})}
    for actor, at in rows:
        key = (actor, at.date())
        if key in grouped:
            grouped[key].last_at = at
            grouped[key].refused += 1
        else:
            user = users[actor]
            grouped[key] = Burst(user, user.site, at, at, 1)
    return sorted(grouped.values(), key=lambda b: b.first_at, reverse=True)


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


# -- a list's search (a partner's inbox) --------------------------------------------------------
def persons_matching(q: str | None) -> sa.Select | None:
    """The ids of the persons ``q`` names, as a select to combine with a scope (a structure's
    inbox): a reception number, or every word by its blind index, exact or by sound (the words
    of the names are not known in plaintext, nothing is decrypted here). None when ``q`` names
    nothing. The caller checks the candidates against the names its reader may see
    (``names_match``): the indexes cover every name of the person."""
    number = parse_reception_number(q)
    if number:
        return sa.select(Person.id).where(Person.reception_number == number)
    words = tokens(q)[:MAX_WORDS]
    if not words:
        return None
    query = sa.select(Person.id).where(Person.merged_into_id.is_(None))
    for word in words:
        keys = [word_key(word)] + ([sound_key(word)] if phonetic_key(word) else [])
        query = query.where(Person.id.in_(sa.select(PersonSearchKey.person_id).where(
            PersonSearchKey.value.in_(keys))))
    return query


def names_match(q: str | None, reception_number: str | None, names: list[str | None]) -> bool:
    """Whether ``q`` names this person by what the reader sees of them: their reception number,
    or every word of ``q`` one of the words of ``names``, exactly or by sound."""
    number = parse_reception_number(q)
    if number:
        return number == reception_number
    words = tokens(q)
    seen = [w for name in names for w in tokens(name)]
    sounds = {phonetic_key(w) for w in seen} - {""}
    return bool(words) and all(w in seen or (phonetic_key(w) and phonetic_key(w) in sounds)
                               for w in words)
