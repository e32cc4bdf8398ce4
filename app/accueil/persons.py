"""Persons: identity checks, reception numbers, blind indexes, creation and rectification."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.accueil.models import Person, PersonRevision, PersonSearchKey, ReceptionCounter
from app.core import audit
from app.core.db import db, key_ring, utcnow
from app.core.names import normalise, phonetic_key, tokens
from app.core.validation import FieldErrors, clean_email, clean_name, clean_text

IDENTITY_FIELDS = ("first_name", "last_name", "birth_name", "birth_date", "phone", "email",
                   "address")
EDITABLE_FIELDS = (*IDENTITY_FIELDS, "pseudonym")
RECEPTION_NUMBER = re.compile(r"^\s*A-?(\d{4})-?(\d{1,6})\s*$", re.IGNORECASE)
_PHONE = re.compile(r"^[0-9+(). \-]{4,30}$")
OLDEST_BIRTH = date(1900, 1, 1)


# -- checks -----------------------------------------------------------------------------------
def clean_birth_date(errors: FieldErrors, value: Any, field: str = "birth_date") -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            errors.add(field, _("Date invalide : utilisez le format AAAA-MM-JJ."))
            return None
    else:
        errors.add(field, _("Date invalide : utilisez le format AAAA-MM-JJ."))
        return None
    if parsed > date.today():
        errors.add(field, _("La date de naissance ne peut pas être dans le futur."))
        return None
    if parsed < OLDEST_BIRTH:
        errors.add(field, _("La date de naissance ne peut pas être antérieure à 1900."))
        return None
    return parsed


def _clean_phone(errors: FieldErrors, value: Any) -> str | None:
    text = clean_text(errors, "phone", value, max_length=30)
    if text and not _PHONE.match(text):
        errors.add("phone", _("Numéro de téléphone invalide."))
        return None
    return text


def clean_identity(data: dict[str, Any], *, anonymous: bool, partial: bool = False
                   ) -> tuple[dict[str, Any], FieldErrors]:
    """Checked identity values; with ``partial``, only the keys present in ``data``."""
    errors = FieldErrors()
    checks = {
        "first_name": lambda v: clean_name(errors, "first_name", v, max_length=100,
                                           required=not anonymous),
        "last_name": lambda v: clean_name(errors, "last_name", v, max_length=100,
                                          required=not anonymous),
        "birth_name": lambda v: clean_name(errors, "birth_name", v, max_length=100),
        "birth_date": lambda v: clean_birth_date(errors, v),
        "phone": lambda v: _clean_phone(errors, v),
        "email": lambda v: clean_email(errors, "email", v, required=False),
        "address": lambda v: clean_text(errors, "address", v, max_length=300, multiline=True),
        "pseudonym": lambda v: clean_name(errors, "pseudonym", v, max_length=60),
    }
    values = {name: check(data.get(name)) for name, check in checks.items()
              if not partial or name in data}
    return values, errors


def split_name(text: str | None) -> tuple[str, str]:
    """A searched name as (first name, last name) for a new file: the words written in capitals
    are the last name ("TRAORÉ Moussa"); otherwise the first word is the first name and the
    rest the last name ("Moussa Traoré"); a single word is a last name."""
    words = " ".join((text or "").split()).split(" ")
    words = [w for w in words if w]
    if len(words) < 2:
        return "", " ".join(words)[:100]
    capitals = [w for w in words if w.isupper() and len(w) > 1]
    if capitals and len(capitals) < len(words):
        first = [w for w in words if w not in capitals]
        return " ".join(first)[:100], " ".join(capitals)[:100]
    return words[0][:100], " ".join(words[1:])[:100]


# -- reception numbers ------------------------------------------------------------------------
def next_reception_number(year: int | None = None) -> str:
    """``A-<year>-<000123>``, sequential per year; the counter row serialises concurrent agents."""
    year = year or utcnow().year
    table = ReceptionCounter.__table__
    for _attempt in range(3):
        number = db.session.execute(
            sa.update(table).where(table.c.year == year).values(last=table.c.last + 1)
            .returning(table.c.last)
        ).scalar()
        if number is not None:
            return f"A-{year}-{number:06d}"
        try:
            with db.session.begin_nested():
                db.session.execute(table.insert().values(id=uuid.uuid4(), year=year, last=1))
            return f"A-{year}-{1:06d}"
        except sa.exc.IntegrityError:
            continue  # another agent created the year's counter first
    raise RuntimeError("could not allocate a reception number")


def parse_reception_number(text: str | None) -> str | None:
    match = RECEPTION_NUMBER.match(text or "")
    if not match:
        return None
    return f"A-{match.group(1)}-{int(match.group(2)):06d}"


# -- blind indexes ----------------------------------------------------------------------------
def word_key(word: str) -> str:
    return key_ring().blind_index("person-word", word)


def sound_key(word: str) -> str:
    return key_ring().blind_index("person-sound", phonetic_key(word))


def birth_key(value: date) -> str:
    return key_ring().blind_index("person-birth", value.isoformat())


def identity_keys(first_name: str | None, last_name: str | None,
                  birth_date: date | None) -> tuple[str | None, str | None]:
    """Exact and phonetic keys of (last name, first name, birth date), for duplicates."""
    if not (first_name and last_name and birth_date):
        return None, None
    ring = key_ring()
    exact = f"{normalise(last_name)}|{normalise(first_name)}|{birth_date.isoformat()}"
    sound = f"{phonetic_key(last_name)}|{phonetic_key(first_name)}|{birth_date.isoformat()}"
    return ring.blind_index("person-identity", exact), ring.blind_index("person-identity-sound", sound)


def identity_fingerprint(values: dict[str, Any]) -> str:
    """What an agent confirms when creating a file despite possible duplicates: a keyed digest
    of the normalised names and birth date (what duplicates are looked up by), so that a
    confirmation given for one identity is not taken for another one typed afterwards."""
    birth = values.get("birth_date")
    text = "|".join((normalise(values.get("last_name") or ""),
                     normalise(values.get("first_name") or ""),
                     birth.isoformat() if isinstance(birth, date) else ""))
    return key_ring().blind_index("person-duplicate-confirmation", text)


def index_person(person: Person) -> None:
    """(Re)write the blind indexes of a person's names and identity."""
    db.session.execute(sa.delete(PersonSearchKey).where(PersonSearchKey.person_id == person.id))
    words: list[str] = []
    for name in (person.first_name, person.last_name, person.birth_name, person.pseudonym):
        words += [w for w in tokens(name) if w not in words]
    keys = set()
    for word in words:
        keys.add(("word", word_key(word)))
        if phonetic_key(word):
            keys.add(("sound", sound_key(word)))
    db.session.add_all(PersonSearchKey(person_id=person.id, kind=kind, value=value)
                       for kind, value in sorted(keys))
    person.identity_index, person.identity_phonetic_index = identity_keys(
        person.first_name, person.last_name, person.birth_date)
    person.birth_date_index = birth_key(person.birth_date) if person.birth_date else None


MAX_DUPLICATES = 10


def find_duplicates(values: dict[str, Any], exclude: uuid.UUID | None = None) -> list[Person]:
    """Files that may be this person's, the likeliest first: the same names (exactly, then by
    sound) with the same birth date, then the same names where a birth date is missing on either
    side (the usual case at an unconditional welcome). Files whose birth date differs from the
    one given are left out. At most ``MAX_DUPLICATES``."""
    first, last = values.get("first_name"), values.get("last_name")
    birth = values.get("birth_date")
    if not (first and last):
        return []
    words = tokens(f"{first} {last}")
    if not words:
        return []
    exact, sound = identity_keys(first, last, birth)
    by_name = sa.and_(*(Person.id.in_(sa.select(PersonSearchKey.person_id).where(
        PersonSearchKey.value.in_([word_key(w)] + ([sound_key(w)] if phonetic_key(w) else []))))
        for w in words))
    if birth is not None:
        by_name = sa.and_(by_name, sa.or_(Person.birth_date_index.is_(None),
                                          Person.birth_date_index == birth_key(birth)))
    found = by_name if exact is None else sa.or_(
        by_name, Person.identity_index == exact, Person.identity_phonetic_index == sound)
    query = sa.select(Person).where(found, Person.merged_into_id.is_(None))
    if exclude:
        query = query.where(Person.id != exclude)
    candidates = list(db.session.scalars(query.limit(MAX_DUPLICATES * 5)))
    wanted = (normalise(last), normalise(first))

    def rank(person: Person) -> tuple:
        same_names = (normalise(person.last_name), normalise(person.first_name)) == wanted
        same_birth = birth is not None and person.birth_date == birth
        return (not same_birth, not same_names, person.created_at)

    return sorted(candidates, key=rank)[:MAX_DUPLICATES]


# -- changes ----------------------------------------------------------------------------------
def create_person(data: dict[str, Any], actor: Any, site_id: uuid.UUID | None) -> Person:
    """A new person from identity fields, or ``anonymous`` with an optional pseudonym."""
    anonymous = data.get("anonymous") is True
    values, errors = clean_identity(data, anonymous=anonymous)
    errors.raise_if_any()
    if anonymous:
        values = {"pseudonym": values.get("pseudonym")}
    else:
        values.pop("pseudonym", None)
    now = utcnow()
    person = Person(reception_number=next_reception_number(now.year), anonymous=anonymous,
                    created_by_id=getattr(actor, "id", None), created_site_id=site_id,
                    created_at=now, updated_at=now)
    for name, value in values.items():
        setattr(person, name, value)
    db.session.add(person)
    db.session.flush()
    index_person(person)
    audit.record("person.create", actor=actor, object_type="person", object_id=person.id,
                 person_id=person.id, details={"anonymous": anonymous})
    return person


def update_person(person: Person, data: dict[str, Any], actor: Any) -> Person:
    """Rectify identity fields; the values replaced are kept, encrypted, in the history."""
    values, errors = clean_identity(data, anonymous=person.anonymous, partial=True)
    if person.anonymous and values.get("first_name") and values.get("last_name"):
        person.anonymous = False  # an anonymous person who gives a name is identified
    elif not person.anonymous:
        for name in ("first_name", "last_name"):
            if name in values and not values[name] and name not in errors.fields:
                errors.add(name, _("Ce champ est obligatoire."))
    errors.raise_if_any()
    previous = {}
    for name, value in values.items():
        old = getattr(person, name)
        if old != value:
            previous[name] = old.isoformat() if isinstance(old, date) else old
            setattr(person, name, value)
    if not previous:
        return person
    revision = PersonRevision(person_id=person.id, changed_by_id=getattr(actor, "id", None),
                              fields=",".join(sorted(previous)))
    revision.previous = json.dumps(previous, ensure_ascii=False)
    db.session.add(revision)
    person.updated_at = utcnow()
    index_person(person)
    audit.record("person.update", actor=actor, object_type="person", object_id=person.id,
                 person_id=person.id, details={"fields": sorted(previous)})
    return person


def revisions(person: Person) -> list[PersonRevision]:
    return list(db.session.scalars(
        sa.select(PersonRevision).where(PersonRevision.person_id == person.id)
        .order_by(PersonRevision.changed_at.desc())))
