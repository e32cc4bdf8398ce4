"""The appointment journey in a real browser (issue 20): the partner records an appointment on
the orientation's page, the person's reminder arrives through a local SMTP server and through
the SMS adapter's test server, and the partner records that the person did not come."""

from __future__ import annotations

import json
import re
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import check_page, login, serve_axe

ADDRESS = "3 place de la Liberté, 26000 Valence"


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive a message: each DATA is kept in ``received``."""

    received: list[str] = []

    def _say(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self._say("220 test")
        while True:
            line = self.rfile.readline().decode(errors="replace").strip()
            if not line:
                return
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 test")
            elif verb == "DATA":
                self._say("354 go on")
                data = []
                while (chunk := self.rfile.readline().decode(errors="replace")) != ".\r\n":
                    data.append(chunk)
                _Smtp.received.append("".join(data))
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


class _Sms(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        _Sms.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def messengers(app):
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    sms = HTTPServer(("127.0.0.1", 0), _Sms)
    for server in (smtp, sms):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    _Smtp.received, _Sms.received = [], []
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.server_address[1],
                      MAIL_USE_TLS=False,
                      PASSERELLE_SMS_URL=f"http://127.0.0.1:{sms.server_address[1]}/send")
    yield _Smtp, _Sms
    app.config.update(MAIL_SERVER=None, PASSERELLE_SMS_URL=None)
    smtp.shutdown()
    sms.shutdown()


def _orientation_with_two_followers(app, build):
    """A partner's acknowledged orientation; the person asked for news by e-mail, and another
    person, oriented the same way, by SMS."""
    from app.core.db import db
    from app.followup import services as followup
    from app.orientation import services
    from app.orientation.models import Orientation

    agent = build.user("accueil")
    structure = build.structure(name="Mission locale Rendez-vous", address=ADDRESS)
    partner = build.user("partenaire", structure=str(structure.id))
    first = build.orientation(build.person(agent, first_name="Ada"), structure)
    second = build.orientation(build.person(agent, first_name="Grace"), structure)
    with app.app_context():
        for row, channel, contact in ((first, "email", "ada@example.org"),
                                      (second, "sms", "06 11 22 33 44")):
            orientation = db.session.get(Orientation, row.id)
            services.acknowledge(orientation, None, "Accueil de la structure")
            followup.record_consent(orientation, channel, contact, None)
        db.session.commit()
        db.session.remove()
    return partner, first, second


def _today():
    from app.core.db import utcnow
    from app.orientation.deadlines import local_date

    return local_date(utcnow())


def partner_records_an_appointment(page, orientation) -> None:
    page.goto(f"/orientations/{orientation.id}")
    page.locator("#appointment-date").fill(_today().isoformat())
    page.locator("#appointment-time").fill("23:59")
    page.get_by_label(ADDRESS).check()
    page.get_by_label("Avec qui (facultatif)").fill("M. Turing")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer le rendez-vous").click()
    expect(page.get_by_role("status")).to_contain_text("Rendez-vous enregistré")
    expect(page.locator("#appointments-title ~ table")).to_contain_text("M. Turing")
    check_page(page)


def reminders_are_sent(app) -> None:
    from app.appointments import services
    from app.core.db import db
    from app.notifications.services import deliver

    with app.app_context():
        assert services.remind().queued == 2
        report = deliver()
        assert report.sent >= 2 and report.failed == 0
        db.session.remove()


def partner_records_a_missed_appointment(page, orientation) -> None:
    page.goto(f"/orientations/{orientation.id}")
    page.get_by_text("Enregistrer la suite").click()
    page.get_by_label("La personne n'est pas venue").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Présence au rendez-vous enregistrée")
    expect(page.locator("#appointments-title ~ table")).to_contain_text("Pas venue")
    check_page(page)


def test_appointment_reminder_and_missed_appointment(app, build, page, live_server, messengers):
    smtp, sms = messengers
    serve_axe(page, live_server)
    partner, first, second = _orientation_with_two_followers(app, build)
    login(page, partner)
    partner_records_an_appointment(page, first)
    partner_records_an_appointment(page, second)
    reminders_are_sent(app)
    # each person was told of the appointment when it was recorded, then reminded of it
    notice, mail = [m for m in smtp.received if "ada@example.org" in m]
    assert "vous donne rendez-vous" in notice and "23 h 59" in notice
    assert "Mission locale Rendez-vous" in mail and "23 h 59" in mail and "Rappel" in mail
    assert "Ada" not in (notice + mail).replace("ada@example.org", "")
    told, text = sms.received
    assert told["to"] == "06 11 22 33 44" and "Rendez-vous avec" in told["text"]
    assert text["to"] == "06 11 22 33 44" and "/suivi/rendez-vous/" in text["text"]
    # the person opens the link of their reminder
    link = re.search(r"/suivi/rendez-vous/[A-Za-z0-9_-]+", text["text"]).group(0)
    page.goto(link)
    expect(page.get_by_role("button", name="Je ne peux pas venir")).to_be_visible()
    check_page(page)
    partner_records_a_missed_appointment(page, first)
    from app.appointments.models import Appointment
    from app.core.db import db

    with app.app_context():
        statuses = db.session.scalars(sa.select(Appointment.status).where(
            Appointment.orientation_id == first.id)).all()
        db.session.remove()
    assert statuses == ["no_show"]
