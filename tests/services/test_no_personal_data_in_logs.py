"""No personal data where it does not belong: logs, error bodies, e-mails, URLs."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import api_token, bearer, csrf_token, login, search_persons

MARK = "QZXMARK"
ROOT = Path(__file__).resolve().parents[2]


class Collector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture
def logs():
    collector = Collector()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    for name in ("sqlalchemy.engine", "werkzeug", "app", "flask"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield collector
    root.removeHandler(collector)
    root.setLevel(previous)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def test_a_full_journey_leaves_no_marker_in_any_log_line(app, client, build, logs):
    agent = build.user("accueil")
    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    h = bearer(api_token(client, agent))
    person = client.post("/api/v1/persons", headers=h, json={
        "first_name": f"{MARK}Prenom", "last_name": f"{MARK}Nom", "phone": "0600000000",
        "email": f"{MARK.lower()}@mail.test", "address": f"1 rue {MARK}"}).get_json()
    client.get(f"/api/v1/persons?q={MARK}Nom", headers=h)
    client.post(f"/api/v1/persons/{person['id']}/visits", headers=h, json={
        "channel": "phone", "outcome": "oriented", "summary": f"{MARK} summary",
        "needs": [{"domain": "logement", "urgency": "urgent", "note": f"{MARK} note"}]})
    client.post("/api/v1/orientations", headers=h, json={
        "person_id": person["id"], "structure_id": str(structure.id), "domain": "logement",
        "motive": f"{MARK} motive", "consent": {"given": True, "shared_fields": ["first_name"]}})
    # Bad input carrying the marker, and an error.
    client.post("/api/v1/persons", headers=h, json={"first_name": f"{MARK}\x00", "last_name": 1})
    client.patch(f"/api/v1/persons/{person['id']}", headers=h, json={"birth_date": f"{MARK}"})
    # (a staff login e-mail is an account identifier: SQL echo may show it; a password never)
    client.post("/api/v1/auth/token", json={"email": "agent@x.test", "password": MARK})
    login(client, agent)
    search_persons(client, f"{MARK}Nom")
    token = csrf_token(client, "/persons/new")
    client.post("/persons/new", data={"csrf_token": token, "first_name": f"{MARK}P",
                                      "last_name": f"{MARK}N"})
    with app.app_context():
        from app.notifications.services import deliver

        deliver()
    assert logs.lines, "the journey should have logged something (SQL at least)"
    leaks = [line for line in logs.lines if MARK in line or MARK.lower() in line]
    assert leaks == []


def test_error_bodies_and_emails_do_not_echo_personal_data(app, client, build):
    agent = build.user("accueil")
    h = bearer(api_token(client, agent))
    answer = client.post("/api/v1/persons", headers=h, json={"first_name": MARK,
                                                             "birth_date": "2999-01-01"})
    assert answer.status_code == 422 and MARK not in answer.get_data(as_text=True)
    import sqlalchemy as sa

    from app.core.db import db
    from app.notifications.models import OutboxMessage

    structure = build.structure()
    build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name=MARK, last_name=MARK)
    build.orientation(person, structure, motive=MARK)
    with app.app_context():
        for message in db.session.scalars(sa.select(OutboxMessage)):
            assert MARK not in message.subject and MARK not in message.body
            assert person.reception_number not in message.body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_access_log_holds_no_query_string(tmp_path, database_url):
    port = _free_port()
    env = {**os.environ, "PASSERELLE_ENV": "development", "PASSERELLE_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'access.db'}", "PORT": str(port),
           "HOST": "127.0.0.1"}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login?q={MARK}&next=/{MARK}",
                                       timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert '"GET /login"' in output
    assert MARK not in output
