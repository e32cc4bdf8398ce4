"""``demo generate``: synthetic data at département scale, for benchmarks.

Persons with French names (Faker ``fr_FR``, with real spelling variants), visits and needs over
three years, orientations in every state with their events, parcours with journals, the
appointments of the orientations taken in charge (and their attendance), the documents of one
person in five (a small PDF or PNG each, sealed under a data key of its own and in part shared
with the person's orientation) — encrypted and indexed exactly as the application does (the same key ring, associated data and blind
indexes), streamed in batches with constant memory, deterministic for a seed (the ciphertexts
differ, their plaintexts do not), inserted in bulk (COPY on PostgreSQL).
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from faker import Faker

from app.accueil.persons import identity_keys
from app.appointments.models import SCHEDULED
from app.appointments.services import person_token
from app.core.crypto import new_data_key, token_digest
from app.core.db import analyze, db, key_ring
from app.core.names import phonetic_key, tokens
from app.demo import files
from app.documents.services import seal_content
from app.orientation.deadlines import add_working_days
from app.orientation.status import TOMBSTONE_STATUSES
from app.orientation.status import OrientationStatus as Status

DOMAINS = ("acces_droits", "budget", "logement", "emploi_insertion", "sante", "famille_enfance",
           "autonomie_handicap", "mobilite", "numerique", "violences", "alimentation", "juridique")
CHANNELS = (("in_person", 60), ("phone", 30), ("mobile", 5), ("email", 5))
OUTCOMES = (("answered", 45), ("oriented", 40), ("pending", 15))
STATUSES = ((Status.SENT, 8), (Status.ACKNOWLEDGED, 12), (Status.IN_CHARGE, 40),
            (Status.CLOSED, 20), (Status.REFUSED, 10), (Status.REDIRECTED, 5), (Status.CANCELLED, 5))
VARIANTS = (("è", "e"), ("é", "e"), ("ph", "f"), ("th", "t"), ("mm", "m"), ("ll", "l"),
            ("ff", "f"), ("y", "i"), ("ou", "o"), ("bv", "v"))
BATCH = 2000


def _weighted(rng: random.Random, choices) -> str:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def variant(rng: random.Random, name: str) -> str:
    """A real spelling variant of a name (accents dropped, PH→F, double letters…)."""
    lowered = name.lower()
    for old, new in rng.sample(VARIANTS, len(VARIANTS)):
        if old in lowered:
            index = lowered.index(old)
            out = name[:index] + new + name[index + len(old):]
            return out[0].upper() + out[1:] if name[0].isupper() else out
    return name.upper()


@dataclass
class Tables:
    rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, table: str, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass
class Pools:
    """Faker is slow per call: draw once from it, then pick from these pools (still seeded)."""

    first: list[str]
    last: list[str]
    phones: list[str]
    emails: list[str]
    streets: list[str]
    sentences: list[str]

    @classmethod
    def make(cls, seed: int, size: int = 3000) -> Pools:
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        return cls(first=[fake.first_name() for _i in range(size)],
                   last=[fake.last_name() for _i in range(size)],
                   phones=[fake.phone_number() for _i in range(size)],
                   emails=[fake.email() for _i in range(size)],
                   streets=[fake.street_address() for _i in range(size)],
                   sentences=[fake.sentence(nb_words=12) for _i in range(size)])


@dataclass
class Context:
    rng: random.Random
    fake: Pools
    sites: list[Any]
    structures: list[Any]
    agents: dict[uuid.UUID, uuid.UUID]     # site id -> an agent of that site
    partners: dict[uuid.UUID, uuid.UUID]   # structure id -> a partner user
    referents: list[uuid.UUID]
    counters: dict[int, int]
    today: date
    ring: Any = None
    structure_by_id: dict[uuid.UUID, Any] = field(default_factory=dict)
    partner_names: dict[uuid.UUID, str] = field(default_factory=dict)

    def enc(self, table: str, column: str, row_id: uuid.UUID, value: Any) -> str | None:
        if value is None or value == "":
            return None
        text = value.isoformat() if isinstance(value, date) else str(value)
        return self.ring.encrypt(text, f"{table}:{column}:{row_id}")


def _moment(ctx: Context, day: date) -> datetime:
    seconds = ctx.rng.randint(8 * 3600, 17 * 3600)
    return datetime.combine(day, time(), UTC) + timedelta(seconds=seconds)


def _person(ctx: Context, out: Tables, created: date) -> tuple[uuid.UUID, dict]:
    rng, fake = ctx.rng, ctx.fake
    pid = _uuid(rng)
    year = created.year
    ctx.counters[year] = ctx.counters.get(year, 0) + 1
    anonymous = rng.random() < 0.05
    site = rng.choice(ctx.sites)
    row: dict[str, Any] = {"id": pid, "reception_number": f"A-{year}-{ctx.counters[year]:06d}",
                           "anonymous": anonymous, "created_at": _moment(ctx, created),
                           "updated_at": _moment(ctx, created), "created_site_id": site.id,
                           "created_by_id": ctx.agents[site.id], "merged_into_id": None,
                           "anonymised_at": None,
                           # the first visit is on the creation day (_visits), as the
                           # database's trigger would have recorded it
                           "first_visit_on": created}
    names: list[str] = []
    if anonymous:
        pseudonym = rng.choice(fake.first)
        row.update(pseudonym_ct=ctx.enc("persons", "pseudonym", pid, pseudonym),
                   identity_index=None, identity_phonetic_index=None, birth_date_index=None)
        names = [pseudonym]
        for col in ("first_name", "last_name", "birth_name", "birth_date", "phone", "email",
                    "address"):
            row[f"{col}_ct"] = None
    else:
        first, last = rng.choice(fake.first), rng.choice(fake.last)
        if rng.random() < 0.1:
            last = variant(rng, last)
        birth = date(1930, 1, 1) + timedelta(days=rng.randint(0, 78 * 365))
        exact, sound = identity_keys(first, last, birth)
        row.update(
            first_name_ct=ctx.enc("persons", "first_name", pid, first),
            last_name_ct=ctx.enc("persons", "last_name", pid, last),
            birth_name_ct=None, birth_date_ct=ctx.enc("persons", "birth_date", pid, birth),
            phone_ct=ctx.enc("persons", "phone", pid, rng.choice(fake.phones))
            if rng.random() < 0.7 else None,
            email_ct=ctx.enc("persons", "email", pid, rng.choice(fake.emails))
            if rng.random() < 0.4 else None,
            address_ct=ctx.enc("persons", "address", pid, rng.choice(fake.streets))
            if rng.random() < 0.6 else None,
            pseudonym_ct=None, identity_index=exact, identity_phonetic_index=sound,
            birth_date_index=ctx.ring.blind_index("person-birth", birth.isoformat()))
        names = [first, last]
    keys = set()
    for name in names:
        for word in tokens(name):
            keys.add(("word", ctx.ring.blind_index("person-word", word)))
            if phonetic_key(word):
                keys.add(("sound", ctx.ring.blind_index("person-sound", phonetic_key(word))))
    for kind, value in keys:
        out.add("person_search_keys", {"id": _uuid(rng), "person_id": pid, "kind": kind,
                                       "value": value})
    out.add("persons", row)
    return pid, {"site": site}


def _visits(ctx: Context, out: Tables, pid: uuid.UUID, created: date, site, count: int
            ) -> list[tuple[uuid.UUID, date, Any, str, str]]:
    rng, made = ctx.rng, []
    for index in range(count):
        vid = _uuid(rng)
        day = created if index == 0 else min(ctx.today, created + timedelta(days=rng.randint(1, 700)))
        visit_site = site if rng.random() < 0.85 else rng.choice(ctx.sites)
        outcome = _weighted(rng, OUTCOMES)
        at = _moment(ctx, day)
        out.add("visits", {
            "id": vid, "person_id": pid, "site_id": visit_site.id,
            "agent_id": ctx.agents[visit_site.id], "channel": _weighted(rng, CHANNELS),
            "occurred_at": at, "occurred_on": day,
            "summary_ct": ctx.enc("visits", "summary", vid, ctx.rng.choice(ctx.fake.sentences))
            if rng.random() < 0.5 else None,
            "next_steps_ct": None, "outcome": outcome,
            "answered_actions": "information" if outcome == "answered" else "", "created_at": at})
        domains = rng.sample(DOMAINS, rng.choice((1, 1, 2)))
        for position, domain in enumerate(domains):
            nid = _uuid(rng)
            out.add("needs", {"id": nid, "visit_id": vid, "domain": domain,
                              "site_id": visit_site.id, "occurred_on": day,
                              "urgency": rng.choice(("urgent", "standard", "standard", "info")),
                              "note_ct": ctx.enc("needs", "note", nid, ctx.rng.choice(ctx.fake.sentences))
                              if rng.random() < 0.3 else None, "position": position,
                              # Each need takes its visit's outcome (answered, oriented or
                              # pending: a valid need outcome too; migration 0024).
                              "outcome": outcome})
        made.append((vid, day, visit_site, outcome, domains[0]))
    return made


def _orientation(ctx: Context, out: Tables, pid: uuid.UUID, visit) -> dict:
    rng = ctx.rng
    vid, day, site, _outcome, domain = visit
    oid = _uuid(rng)
    structure = rng.choice(ctx.structures)
    status = _weighted(rng, STATUSES)
    sent_at = _moment(ctx, day)
    ack_due, take_due = add_working_days(day, 2), add_working_days(day, 22)
    age = (ctx.today - day).days
    if age < 3 and status not in (Status.SENT, Status.CANCELLED):
        status = Status.SENT
    ack_on = take_on = appointment = closed_at = None
    if status in (Status.ACKNOWLEDGED, Status.IN_CHARGE, Status.CLOSED, Status.REFUSED,
                  Status.REDIRECTED) and age >= 1:
        ack_on = min(ctx.today, day + timedelta(days=rng.choice((1, 1, 2, 3, 4, 7, 12))))
    if status in (Status.IN_CHARGE, Status.CLOSED) and ack_on:
        take_on = min(ctx.today, ack_on + timedelta(days=rng.randint(1, 30)))
        appointment = take_on + timedelta(days=rng.randint(0, 10))
    if status == Status.CLOSED and take_on:
        closed_at = _moment(ctx, min(ctx.today, take_on + timedelta(days=rng.randint(10, 90))))
    partner = ctx.partners.get(structure.id)
    row = {
        "id": oid, "person_id": pid, "visit_id": vid, "structure_id": structure.id,
        "domain": domain, "motive_ct": ctx.enc("orientations", "motive", oid,
                                               ctx.rng.choice(ctx.fake.sentences)),
        "consent_given": True, "shared_fields": "first_name,last_name,phone",
        "shared_needs": "", "accepts_redirect": False,
        # the usual clock (the deadlines above): none of the generated orientations is urgent
        "urgent": False,
        "consent_purpose_ct": None, "coverage_override_ct": None, "status": status.value,
        "sender_id": ctx.agents[site.id], "sender_site_id": site.id, "territory": site.territory,
        "requested_referent_id": None, "referent_id": partner if ack_on else None,
        "referent_label": None, "sent_at": sent_at, "sent_on": day,
        "acknowledged_on": ack_on, "taken_charge_on": take_on,
        "acknowledge_due": ack_due, "take_charge_due": take_due,
        "acknowledged_at": _moment(ctx, ack_on) if ack_on else None,
        "taken_charge_at": _moment(ctx, take_on) if take_on else None,
        "first_appointment_on": appointment, "closed_at": closed_at, "outcome_ct": None,
        "refusal_code": "not_competent" if status == Status.REFUSED else None,
        "redirected_to_id": None, "redirected_from_id": None, "version": 2,
        "updated_at": sent_at}
    # When it ended, from the values drawn above (no new draw: the same data as before).
    row["ended_at"] = (closed_at if status == Status.CLOSED else
                       (row["acknowledged_at"] or sent_at) if status in TOMBSTONE_STATUSES
                       else None)
    out.add("orientations", row)
    out.add("orientation_events", {"id": _uuid(rng), "orientation_id": oid, "seq": 1,
                                   "at": sent_at, "kind": "transition",
                                   "actor_id": ctx.agents[site.id], "actor_label": None,
                                   "from_status": None, "to_status": Status.SENT.value,
                                   "reason_ct": None})
    if status != Status.SENT:
        eid = _uuid(rng)
        out.add("orientation_events", {
            "id": eid, "orientation_id": oid, "seq": 2, "at": sent_at + timedelta(days=1),
            "kind": "transition", "actor_id": partner, "actor_label": None,
            "from_status": Status.SENT.value, "to_status": status.value,
            "reason_ct": ctx.enc("orientation_events", "reason", eid, "Hors compétence")
            if status == Status.REFUSED else None})
    return row


def _parcours(ctx: Context, out: Tables, pid: uuid.UUID, created: date, site) -> None:
    rng = ctx.rng
    rid = _uuid(rng)
    opened = min(ctx.today, created + timedelta(days=rng.randint(5, 90)))
    closed = rng.random() < 0.4
    at = _moment(ctx, opened)
    referent = rng.choice(ctx.referents)
    out.add("parcours", {
        "id": rid, "person_id": pid, "referent_id": referent,
        "status": "closed" if closed else "open",
        "goals_ct": ctx.enc("parcours", "goals", rid, ctx.rng.choice(ctx.fake.sentences)),
        "consent_given_at": at, "opened_at": at, "opened_on": opened, "opened_by_id": referent,
        "territory": site.territory, "first_request_at": _moment(ctx, created),
        "first_request_on": created, "last_entry_at": at if rng.random() < 0.7 else None,
        "closed_at": at + timedelta(days=60) if closed else None,
        "closed_on": opened + timedelta(days=60) if closed else None,
        "outcome": rng.choice(("resolved", "partially_resolved", "moved")) if closed else None,
        "outcome_note_ct": None, "withdrawn_at": None})
    out.add("parcours_referent_changes", {"id": _uuid(rng), "parcours_id": rid,
                                          "from_user_id": None, "to_user_id": referent, "at": at,
                                          "by_id": referent, "reason_ct": None,
                                          "former_access_until": None})
    for seq in range(1, rng.randint(2, 5)):
        eid = _uuid(rng)
        kind = rng.choice(("meeting", "call", "note", "decision"))
        out.add("parcours_entries", {
            "id": eid, "parcours_id": rid, "seq": seq, "kind": kind,
            "visibility": rng.choice(("members", "referent")),
            "happened_on": min(ctx.today, opened + timedelta(days=seq * 7)),
            "content_ct": ctx.enc("parcours_entries", "content", eid, ctx.rng.choice(ctx.fake.sentences)),
            "person_presence": rng.choice(("present", "absent", "represented")) if kind == "meeting"
            else None, "author_id": referent, "created_at": at, "corrects_id": None})


# -- documents ----------------------------------------------------------------------------------
# (kind, weight, file names, title on the document, months it stays valid or None)
DOCUMENT_KINDS = (
    ("identity", 35, ("carte-identite", "passeport", "titre-sejour"), "Pièce d'identité", 96),
    ("income", 25, ("avis-imposition", "attestation-caf", "bulletin-salaire"),
     "Justificatif de ressources", 12),
    ("address", 25, ("facture-electricite", "quittance-loyer", "attestation-hebergement"),
     "Justificatif de domicile", 3),
    ("eviction", 5, ("commandement-de-payer", "assignation"), "Avis d'expulsion", None),
    ("other", 10, ("courrier", "scan"), "Document", None),
)
DOCUMENT_SHARE = 0.2       # one person in five has documents
PNG_SHARE = 0.3            # a photo taken with the tablet, else a scanned PDF


def _seconds_into(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(seconds=rng.randint(8 * 3600, 17 * 3600))


def _documents(ctx: Context, rng: random.Random, out: Tables, person: dict, created: date,
               site, orientation: dict) -> int:
    """One person in five: one or two documents, attached at the first visit by the site's
    agent, each sealed under its own data key; those uploaded by the time of the orientation
    are shared with it half the time (not with a tombstone). Draws from ``rng`` only."""
    if rng.random() >= DOCUMENT_SHARE:
        return 0
    kinds = [k[0] for k in DOCUMENT_KINDS]
    weights = [k[1] for k in DOCUMENT_KINDS]
    shareable = Status(orientation["status"]) not in TOMBSTONE_STATUSES
    count = rng.choice((1, 1, 2))
    for index in range(count):
        kind = rng.choices(kinds, weights)[0]
        _kind, _weight, names, title, months = DOCUMENT_KINDS[kinds.index(kind)]
        did = _uuid(rng)
        lines = [f"Dossier {person['reception_number']}",
                 f"Document {index + 1} sur {count}, reçu le {created.strftime('%d/%m/%Y')}",
                 "Données fictives générées pour la démonstration de Passerelle."]
        if rng.random() < PNG_SHARE:
            content_type, extension = "image/png", "png"
            plain = files.png(title, lines[:2] + ["Données fictives (démonstration)"],
                              shade=rng.randint(0, 10_000))
        else:
            content_type, extension = "application/pdf", "pdf"
            plain = files.pdf(title, lines + [rng.choice(ctx.fake.sentences)])
        uploaded_at = _seconds_into(rng, created)
        if orientation["sent_on"] == created and uploaded_at > orientation["sent_at"]:
            uploaded_at = orientation["sent_at"] - timedelta(minutes=rng.randint(2, 30))
        key = new_data_key()
        out.add("documents", {
            "id": did, "person_id": person["id"], "kind": kind, "content_type": content_type,
            "size": len(plain),
            "expires_on": created + timedelta(days=30 * months) if months else None,
            "storage": "database", "uploaded_at": uploaded_at,
            "uploaded_by_id": ctx.agents[site.id],
            "filename_ct": ctx.enc("documents", "filename", did,
                                   f"{rng.choice(names)}.{extension}"),
            "data_key_ct": ctx.enc("documents", "data_key", did,
                                   base64.b64encode(key).decode("ascii"))})
        out.add("document_blobs", {"id": did, "data": seal_content(did, key, plain)})
        if shareable and rng.random() < 0.5:
            out.add("orientation_documents", {"id": _uuid(rng), "orientation_id": orientation["id"],
                                              "document_id": did,
                                              "shared_at": orientation["sent_at"]})
    return count


# -- appointments -------------------------------------------------------------------------------
TIMES = tuple(time(hour, minute) for hour in (9, 10, 11, 14, 15, 16) for minute in (0, 30))
OTHER_PLACES = ("Permanence à la mairie annexe, salle 2", "Centre social du quartier, 1er étage",
                "Maison France services, bureau d'accueil")
CAME, NO_SHOW, PASSED_WITHOUT_OUTCOME = 0.75, 0.87, 0.94


def _appointments(ctx: Context, rng: random.Random, out: Tables, orientation: dict) -> int:
    """The appointments of an orientation taken in charge with a first-appointment date, as
    app/appointments records them: ``first_appointment_on`` stays the earliest appointment that
    counts (scheduled, came, did not come). In the past: the person came, or did not come and a
    second one followed, or one was moved to that date, or (a few) passed without an outcome;
    in the future: scheduled. Draws from ``rng`` only."""
    first_on = orientation["first_appointment_on"]
    if first_on is None:
        return 0
    structure = ctx.structure_by_id[orientation["structure_id"]]
    partner = orientation["referent_id"]
    label = ctx.partner_names.get(partner)
    closed_on = orientation["closed_at"].date() if orientation["closed_at"] else None
    made: list[dict] = []

    def slot(day: date, status: str, recorded: date) -> dict:
        aid = _uuid(rng)
        kind = rng.choices(("address", "phone", "other"),
                           (60, 30, 10) if structure.address else (0, 70, 30))[0]
        place = structure.address if kind == "address" else \
            rng.choice(OTHER_PLACES) if kind == "other" else None
        with_whom = f"{rng.choice(('Mme', 'M.'))} {rng.choice(ctx.fake.last)}" \
            if rng.random() < 0.5 else None
        attended = status != SCHEDULED
        row = {"id": aid, "orientation_id": orientation["id"], "scheduled_on": day,
               "scheduled_time": rng.choice(TIMES) if rng.random() < 0.85 else None,
               "place_kind": kind, "status": status,
               "created_at": _seconds_into(rng, recorded), "created_by_id": partner,
               "created_by_label": label,
               "attendance_at": _seconds_into(rng, min(ctx.today, day + timedelta(days=1)))
               if attended else None,
               "attendance_by_id": partner if attended else None,
               "attendance_by_label": label if attended else None,
               "rescheduled_to_id": None, "person_cannot_come_at": None,
               "person_token_hash": token_digest(person_token(SimpleNamespace(id=aid))),
               "version": 2 if attended else 1,
               "place_text_ct": ctx.enc("appointments", "place_text", aid, place),
               "with_whom_ct": ctx.enc("appointments", "with_whom", aid, with_whom)}
        made.append(row)
        return row

    recorded = orientation["taken_charge_on"] or orientation["sent_on"]
    if first_on > ctx.today:
        if closed_on is not None:  # closed before it came: the person cancelled it
            slot(first_on, "cancelled_by_person", recorded)
            orientation["first_appointment_on"] = None
        else:
            slot(first_on, SCHEDULED, recorded)
    else:
        draw = rng.random()
        if closed_on is not None and draw >= NO_SHOW:
            draw = 0.0  # a closed orientation's appointment had an outcome
        if draw < CAME:
            slot(first_on, "came", recorded)
        elif draw < NO_SHOW:
            slot(first_on, "no_show", recorded)
            second = first_on + timedelta(days=rng.randint(7, 21))
            if closed_on is not None:
                second = min(second, closed_on)
            slot(second, SCHEDULED if second > ctx.today else "came", first_on)
        elif draw < PASSED_WITHOUT_OUTCOME:
            slot(first_on, SCHEDULED, recorded)  # the stalled list's "passed without outcome"
        else:
            moved = max(orientation["sent_on"], first_on - timedelta(days=rng.randint(2, 7)))
            new = slot(first_on, "came", recorded)
            if moved < first_on:
                old = slot(moved, "rescheduled", recorded)
                old["rescheduled_to_id"] = new["id"]
    for row in made:
        out.add("appointments", row)
    return len(made)


ORDER = ("persons", "person_search_keys", "visits", "needs", "orientations", "orientation_events",
         "parcours", "parcours_referent_changes", "parcours_entries", "documents",
         "document_blobs", "orientation_documents", "appointments")


def _column_names(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns]


def _write(connection, out: Tables) -> None:
    """Rows hold encrypted values under ``<column>_ct`` (the model attribute), plain ones under
    the column name."""
    dialect = connection.dialect.name
    for name in ORDER:
        rows = out.rows.get(name)
        if not rows:
            continue
        table = db.metadata.tables[name]
        columns = _column_names(table)
        values = [[row[c] if c in row else row.get(f"{c}_ct") for c in columns] for row in rows]
        if dialect == "postgresql":
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor:
                with cursor.copy(f'COPY "{name}" ({", ".join(columns)}) FROM STDIN') as copy:
                    for row in values:
                        copy.write_row(row)
        else:
            connection.execute(table.insert(), [dict(zip(columns, row, strict=True))
                                                for row in values])


@dataclass
class Report:
    persons: int = 0
    visits: int = 0
    orientations: int = 0
    parcours: int = 0
    documents: int = 0
    appointments: int = 0

    def add(self, other: Report) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Setup:
    """What every batch draws from, read once from the database (plain values: batches may run
    in other processes)."""

    seed: int
    visits_per_person: int
    today: date
    sites: list[Any]
    structures: list[Any]
    agents: dict[uuid.UUID, uuid.UUID]
    partners: dict[uuid.UUID, uuid.UUID]
    referents: list[uuid.UUID]
    partner_names: dict[uuid.UUID, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """One batch of persons: its index (its random stream), its size, and for each year the
    last reception number used before it, so that numbers are unique and without gaps whatever
    order, or process, the batches run in."""

    index: int
    size: int
    numbers: dict[int, int]


def _creation_days(setup: Setup, index: int, size: int) -> list[date]:
    """The creation day of each person of a batch, from a stream of its own: the plan reads
    them to reserve reception numbers, the batch reads them again to make its persons."""
    rng = random.Random(f"{setup.seed}:{index}:created")
    return [setup.today - timedelta(days=rng.randint(0, 3 * 365)) for _i in range(size)]


def plan(setup: Setup, persons: int, counters: dict[int, int], batch: int = BATCH
         ) -> tuple[list[Batch], dict[int, int]]:
    """The batches and, per year, the last reception number once they have all run."""
    batches, last = [], dict(counters)
    for index, start in enumerate(range(0, persons, batch)):
        size = min(batch, persons - start)
        numbers: dict[int, int] = {}
        for day in _creation_days(setup, index, size):
            numbers.setdefault(day.year, last.get(day.year, 0))
            last[day.year] = last.get(day.year, 0) + 1
        batches.append(Batch(index, size, numbers))
    return batches, last


def read_setup(seed: int, visits_per_person: int) -> Setup:
    """The demo sites, structures and users (``demo seed``) the synthetic data uses."""
    from app.auth.models import User
    from app.directory.models import Site, Structure

    users = list(db.session.scalars(sa.select(User).where(User.active.is_(True))))
    agents = {u.site_id: u.id for u in users if u.role == "accueil" and u.site_id}
    partners = {u.structure_id: u.id for u in users if u.role == "partenaire"}
    referents = [u.id for u in users if u.role == "referent_parcours"] or \
        [u.id for u in users if u.role == "partenaire"]
    sites = [SimpleNamespace(id=s.id, territory=s.territory)
             for s in db.session.scalars(sa.select(Site).order_by(Site.name)) if s.id in agents]
    structures = [SimpleNamespace(id=s.id, address=s.address) for s in db.session.scalars(
        sa.select(Structure).where(Structure.active.is_(True)).order_by(Structure.name))]
    if not sites or not structures or not referents:
        raise RuntimeError("run `demo seed` first: sites with agents, structures and referents")
    return Setup(seed=seed, visits_per_person=visits_per_person, today=date.today(),
                 sites=sites, structures=structures, agents=agents, partners=partners,
                 referents=referents,
                 partner_names={u.id: u.display_name for u in users if u.role == "partenaire"})


def make_batch(setup: Setup, batch: Batch, fake: Pools) -> tuple[Tables, Report]:
    """The rows of one batch: deterministic for (seed, batch index)."""
    rng = random.Random(f"{setup.seed}:{batch.index}")
    ctx = Context(rng=rng, fake=fake, sites=setup.sites, structures=setup.structures,
                  agents=setup.agents, partners=setup.partners, referents=setup.referents,
                  counters=dict(batch.numbers), today=setup.today, ring=key_ring(),
                  structure_by_id={s.id: s for s in setup.structures},
                  partner_names=setup.partner_names)
    # Documents and appointments draw from streams of their own: the persons, visits and
    # orientations of a seed stay what they were before these were generated.
    documents = random.Random(f"{setup.seed}:{batch.index}:documents")
    appointments = random.Random(f"{setup.seed}:{batch.index}:appointments")
    out, report = Tables(), Report(persons=batch.size)
    per_person = setup.visits_per_person
    for created in _creation_days(setup, batch.index, batch.size):
        pid, extra = _person(ctx, out, created)
        count = max(1, min(per_person * 2, round(rng.expovariate(1 / per_person)) or 1))
        made = _visits(ctx, out, pid, created, extra["site"], count)
        report.visits += len(made)
        oriented = [v for v in made if v[3] == "oriented"] or made[:1]
        orientation = _orientation(ctx, out, pid, oriented[0])
        report.orientations += 1
        report.appointments += _appointments(ctx, appointments, out, orientation)
        report.documents += _documents(ctx, documents, out, out.rows["persons"][-1], created,
                                       extra["site"], orientation)
        if rng.random() < 0.03:
            _parcours(ctx, out, pid, created, extra["site"])
            report.parcours += 1
    return out, report


def _load_batch(setup: Setup, batch: Batch, fake: Pools) -> Report:
    """Make one batch and write it in one transaction."""
    out, report = make_batch(setup, batch, fake)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # The rows carry the values the triggers of migration 0015 would derive; a lost batch
        # of synthetic data is generated again, so its commit need not wait for the disk.
        connection.exec_driver_sql("SET LOCAL passerelle.bulk_load = 'on'")
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
    _write(connection, out)
    db.session.commit()
    return report


# A forked worker's state: the application and what its batches share (set before the fork).
_WORKER: dict[str, Any] = {}


def _worker_start() -> None:
    _WORKER["context"] = _WORKER["app"].app_context()
    _WORKER["context"].push()
    db.engine.dispose(close=False)  # never share the parent's connections
    _WORKER["fake"] = Pools.make(_WORKER["setup"].seed)


def _worker_batch(batch: Batch) -> Report:
    return _load_batch(_WORKER["setup"], batch, _WORKER["fake"])


def default_workers() -> int:
    """One process per core on PostgreSQL (encryption is the bottleneck), up to 4."""
    return max(1, min(os.cpu_count() or 1, 4))


def _drop_secondary_indexes() -> list[str]:
    """PostgreSQL: drop the plain indexes of the tables loaded (primary keys and unique
    constraints stay) and return their definitions, to build them once the rows are in: one
    sorted build instead of a random insertion per row and index."""
    rows = db.session.execute(sa.text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = "
        "(SELECT oid FROM pg_namespace WHERE nspname = i.schemaname) "
        "JOIN pg_index x ON x.indexrelid = c.oid "
        "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
        "AND NOT x.indisprimary AND NOT x.indisunique ORDER BY i.indexname"),
        {"tables": list(ORDER)}).all()
    for name, _definition in rows:
        db.session.execute(sa.text(f'DROP INDEX "{name}"'))
    db.session.commit()
    return [definition for _name, definition in rows]


def _build_indexes(definitions: list[str]) -> None:
    """Build each index in its own transaction, so that one failure loses no other; the error
    names what is left to build, to be run by hand."""
    db.session.rollback()
    for done, definition in enumerate(definitions):
        try:
            db.session.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
            db.session.execute(sa.text(definition))
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            left = ";\n".join(definitions[done:])
            raise RuntimeError(f"indexes not rebuilt, run them by hand:\n{left};") from error


def generate(persons: int, visits_per_person: int = 3, seed: int = 1,
             on_batch: Callable[[int], None] | None = None, workers: int | None = None,
             batch_size: int = BATCH, defer_indexes: bool = False) -> Report:
    """Generate ``persons`` persons and their history; needs the demo sites, structures and
    users (``demo seed``) and uses them all. The data depends on the seed only, not on the
    number of worker processes (each batch has its own random streams and reserved numbers).

    ``defer_indexes`` (PostgreSQL, for a database that serves nothing meanwhile): the plain
    indexes of the loaded tables are dropped and built again at the end, even on failure."""
    from app.accueil.models import ReceptionCounter

    setup = read_setup(seed, visits_per_person)
    counters = {row.year: row.last for row in db.session.scalars(sa.select(ReceptionCounter))}
    batches, last = plan(setup, persons, counters, batch_size)
    postgresql = db.engine.dialect.name == "postgresql"
    # SQLite takes one writer at a time: its batches run in this process.
    workers = (default_workers() if workers is None else workers) if postgresql else 1
    db.session.commit()
    deferred = _drop_secondary_indexes() if defer_indexes and postgresql else []
    try:
        report = _run(setup, batches, workers, on_batch)
    finally:
        if deferred:
            _build_indexes(deferred)
    _save_counters(last)
    db.session.commit()
    analyze(ORDER)
    return report


def _run(setup: Setup, batches: list[Batch], workers: int,
         on_batch: Callable[[int], None] | None) -> Report:
    from flask import current_app

    report = Report()
    if workers <= 1 or len(batches) <= 1:
        fake = Pools.make(setup.seed)
        for batch in batches:
            part = _load_batch(setup, batch, fake)
            report.add(part)
            if on_batch:
                on_batch(part.persons)
    else:
        db.session.remove()
        db.engine.dispose()  # the workers are forked without open connections
        _WORKER.update(app=current_app._get_current_object(), setup=setup)
        forked = multiprocessing.get_context("fork")
        with forked.Pool(workers, initializer=_worker_start) as pool:
            for part in pool.imap_unordered(_worker_batch, batches):
                report.add(part)
                if on_batch:
                    on_batch(part.persons)
        _WORKER.clear()
    return report


def _save_counters(counters: dict[int, int]) -> None:
    from app.accueil.models import ReceptionCounter

    for year, last in counters.items():
        row = db.session.scalars(sa.select(ReceptionCounter).where(ReceptionCounter.year == year)).first()
        if row is None:
            db.session.add(ReceptionCounter(year=year, last=last))
        else:
            row.last = max(row.last, last)

