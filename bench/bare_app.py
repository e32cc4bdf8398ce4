"""The bare stack: Flask + psycopg, no ORM, no encryption, no audit, no access checks.

It answers the benchmark's routes with the same SQL workload as Passerelle (the same tables,
the same blind-index lookups, the same orders and limits), so that the ratio between the two
measures what the ORM, the encryption, the audit trail and the access checks cost.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
from flask import Flask, jsonify, request

from app.core.crypto import KeyRing
from app.core.names import phonetic_key, tokens

app = Flask(__name__)
DSN = os.environ["BARE_DSN"]
_keys = json.load(open(os.environ["BARE_KEY_FILE"], encoding="utf-8"))
RING = KeyRing.from_settings(_keys["encryption_keys"], _keys["index_key"])
SITE, STRUCTURE, TERRITORY = (os.environ["BARE_SITE"], os.environ["BARE_STRUCTURE"],
                              os.environ["BARE_TERRITORY"])
_local = threading.local()


def conn() -> psycopg.Connection:
    if getattr(_local, "conn", None) is None or _local.conn.closed:
        _local.conn = psycopg.connect(DSN)
    return _local.conn


def rows(sql: str, *params) -> list[tuple]:
    with conn().cursor() as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall() if cursor.description else []
    conn().commit()
    return result


def as_json(data):
    return jsonify(json.loads(json.dumps(data, default=str)))


@app.get("/api/v1/persons")
def search():
    words = tokens(request.args.get("q"))
    sql = "SELECT id, reception_number, first_name, last_name FROM persons WHERE merged_into_id IS NULL"
    params: list = []
    for word in words:
        keys = [RING.blind_index("person-word", word)]
        if phonetic_key(word):
            keys.append(RING.blind_index("person-sound", phonetic_key(word)))
        # One parameter per key, as Passerelle's query binds them. With the keys as one array
        # (``value = ANY(%s)``), psycopg prepares the statement at its sixth run and PostgreSQL
        # then keeps a generic plan that guesses ten keys' worth of rows and scans all of
        # ``persons`` (40 ms at 100 k instead of 3): that was the bare stack's slow search.
        placeholders = ", ".join(["%s"] * len(keys))  # only placeholders, never input
        sql += f" AND id IN (SELECT person_id FROM person_search_keys WHERE value IN ({placeholders}))"  # noqa: S608
        params.extend(keys)
    found = rows(sql + " LIMIT 200", *params)
    ids = [r[0] for r in found]
    rows("SELECT person_id, value FROM person_search_keys WHERE person_id = ANY(%s)", ids)
    rows("SELECT DISTINCT person_id FROM visits WHERE person_id = ANY(%s) AND site_id = %s",
         ids[:20], SITE)
    return as_json(found[:20])


@app.get("/api/v1/persons/<uuid:person_id>")
def person(person_id):
    found = rows("SELECT * FROM persons WHERE id = %s", person_id)
    visits = rows("SELECT * FROM visits WHERE person_id = %s ORDER BY occurred_at DESC", person_id)
    rows("SELECT * FROM needs WHERE visit_id = ANY(%s)", [v[0] for v in visits])
    return as_json({"person": found, "visits": visits})


@app.post("/api/v1/persons/<uuid:person_id>/visits")
def visit(person_id):
    body = request.get_json()
    vid, now = uuid.uuid4(), datetime.now(UTC)
    with conn().cursor() as cursor:
        cursor.execute("INSERT INTO visits (id, person_id, site_id, agent_id, channel, occurred_at,"
                       " occurred_on, summary, outcome, answered_actions, created_at) VALUES "
                       "(%s, %s, %s, NULL, %s, %s, %s, %s, %s, '', %s)",
                       (vid, person_id, SITE, body["channel"], now, now.date(), body["summary"],
                        body["outcome"], now))
        for position, need in enumerate(body["needs"]):
            cursor.execute("INSERT INTO needs (id, visit_id, domain, urgency, position) VALUES "
                           "(%s, %s, %s, %s, %s)", (uuid.uuid4(), vid, need["domain"],
                                                    need["urgency"], position))
    conn().commit()
    return as_json({"id": vid}), 201


@app.post("/api/v1/orientations")
def send():
    body = request.get_json()
    oid, now = uuid.uuid4(), datetime.now(UTC)
    today = now.date()
    with conn().cursor() as cursor:
        cursor.execute("INSERT INTO orientations (id, person_id, structure_id, domain, motive, "
                       "consent_given, shared_fields, status, sender_site_id, territory, sent_at, "
                       "sent_on, acknowledge_due, take_charge_due, version, updated_at) VALUES "
                       "(%s, %s, %s, %s, %s, true, %s, 'sent', %s, %s, %s, %s, %s, %s, 1, %s)",
                       (oid, body["person_id"], body["structure_id"], body["domain"],
                        body["motive"], "first_name,last_name", SITE, TERRITORY, now, today,
                        today + timedelta(days=2), today + timedelta(days=30), now))
        cursor.execute("INSERT INTO orientation_events (id, orientation_id, seq, at, kind, "
                       "to_status) VALUES (%s, %s, 1, %s, 'transition', 'sent')",
                       (uuid.uuid4(), oid, now))
    conn().commit()
    return as_json({"id": oid}), 201


@app.get("/api/v1/orientations")
def inbox():
    found = rows("SELECT * FROM orientations WHERE structure_id = %s AND status = %s ORDER BY "
                 "sent_at DESC LIMIT 20", STRUCTURE, request.args.get("status", "sent"))
    rows("SELECT count(*) FROM orientations WHERE structure_id = %s AND status = %s", STRUCTURE,
         request.args.get("status", "sent"))
    rows("SELECT * FROM persons WHERE id = ANY(%s)", [r[1] for r in found])
    return as_json(found)


@app.get("/api/v1/orientations/<uuid:orientation_id>")
def detail(orientation_id):
    found = rows("SELECT * FROM orientations WHERE id = %s", orientation_id)
    events = rows("SELECT * FROM orientation_events WHERE orientation_id = %s ORDER BY seq",
                  orientation_id)
    return as_json({"orientation": found, "events": events})


@app.post("/api/v1/orientations/<uuid:orientation_id>/acknowledge")
def acknowledge(orientation_id):
    now = datetime.now(UTC)
    with conn().cursor() as cursor:
        cursor.execute("UPDATE orientations SET status = 'acknowledged', version = version + 1, "
                       "acknowledged_at = %s, acknowledged_on = %s WHERE id = %s AND status = 'sent'",
                       (now, now.date(), orientation_id))
        won = cursor.rowcount == 1
        if won:
            cursor.execute("INSERT INTO orientation_events (id, orientation_id, seq, at, kind, "
                           "from_status, to_status) SELECT %s, %s, max(seq) + 1, %s, 'transition',"
                           " 'sent', 'acknowledged' FROM orientation_events WHERE orientation_id = %s",
                           (uuid.uuid4(), orientation_id, now, orientation_id))
    conn().commit()
    return as_json({"ok": won}), 200 if won else 409


STALLED_COUNT = ("SELECT count(*) FROM orientations WHERE territory = %s AND status IN ('sent', "
                 "'acknowledged') AND (CASE WHEN status = 'sent' THEN acknowledge_due ELSE "
                 "take_charge_due END) < %s")
STALLED_PAGE = ("SELECT id, status, (CASE WHEN status = 'sent' THEN acknowledge_due ELSE "
                "take_charge_due END) AS due FROM orientations WHERE territory = %s AND status IN "
                "('sent', 'acknowledged') AND (CASE WHEN status = 'sent' THEN acknowledge_due ELSE "
                "take_charge_due END) < %s ORDER BY due, id LIMIT 50")


@app.get("/api/v1/orientations/stalled")
def stalled():
    today = date.today()
    rows(STALLED_COUNT, TERRITORY, today)
    found = rows(STALLED_PAGE, TERRITORY, today)
    days = dict(rows("SELECT day, working_index FROM calendar_days WHERE day = ANY(%s)",
                     [r[2] for r in found] + [today]))
    ids = [r[0] for r in found]
    rows("SELECT * FROM persons WHERE id IN (SELECT person_id FROM orientations WHERE "
         "id = ANY(%s))", ids)
    rows("SELECT orientation_id, count(*) FROM orientation_events WHERE orientation_id = ANY(%s) "
         "AND kind = 'reminder' GROUP BY orientation_id", ids)
    return as_json([(r[0], r[1], days.get(today, 0) - days.get(r[2], 0)) for r in found])


@app.get("/api/v1/indicators")
def indicators():
    start, end = request.args["from"], request.args["to"]
    result = rows("SELECT count(*), count(DISTINCT v.person_id) FROM visits v JOIN sites s ON "
                  "s.id = v.site_id WHERE v.occurred_on BETWEEN %s AND %s AND s.territory = %s",
                  start, end, TERRITORY)
    result += rows("SELECT count(*), sum(CASE WHEN status = 'refused' THEN 1 ELSE 0 END) FROM "
                   "orientations WHERE sent_on BETWEEN %s AND %s AND territory = %s",
                   start, end, TERRITORY)
    result += rows(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a.working_index - s.working_index) "
        "FROM orientations o JOIN calendar_days s ON s.day = o.sent_on JOIN calendar_days a ON "
        "a.day = o.acknowledged_on WHERE o.sent_on BETWEEN %s AND %s AND o.territory = %s",
        start, end, TERRITORY)
    return as_json(result)


@app.post("/api/v1/auth/token")
def token():
    return as_json({"token": "bare"})
