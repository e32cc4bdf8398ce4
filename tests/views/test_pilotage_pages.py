"""Pilotage pages: the coordinator's stalled list and actions, indicators, CSV, who sees what."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


@pytest.fixture
def stalled(app, build):
    agent = build.user("accueil")
    structure = build.structure(name="Bailleur lent", head_contact_email="direction@bailleur.test")
    build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Hortense", last_name="Discrète")
    orientation = build.orientation(person, structure)
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        row = db.session.get(Orientation, orientation.id)
        row.acknowledge_due = date.today() - timedelta(days=8)
        db.session.commit()
    return orientation, person


def test_coordinator_sees_and_acts_on_the_stalled_list(app, client, build, stalled):
    orientation, person = stalled
    login(client, build.user("coordinateur", territory="Valence"))
    page = _text(client.get("/pilotage/stalled"))
    assert "Bailleur lent" in page and person.reception_number in page
    assert "Hortense" not in page and "Discrète" not in page  # initials only
    token = csrf_token(client, "/pilotage/stalled")
    for path in (f"/orientations/{orientation.id}/remind",
                 f"/pilotage/orientations/{orientation.id}/escalate"):
        assert client.post(path, data={"csrf_token": token}).status_code == 302
    client.post(f"/pilotage/orientations/{orientation.id}/comment",
                data={"csrf_token": token, "reason": "Appeler la directrice lundi"})
    from app.core.audit import AuditEntry
    from app.core.db import db
    from app.notifications.models import OutboxMessage
    from app.orientation.models import OrientationEvent

    with app.app_context():
        kinds = db.session.scalars(sa.select(OrientationEvent.kind).where(
            OrientationEvent.orientation_id == orientation.id)).all()
        assert {"reminder", "escalation", "comment"} <= set(kinds)
        actions = set(db.session.scalars(sa.select(AuditEntry.action)))
        assert {"orientation.reminder", "orientation.escalation", "orientation.comment"} <= actions
        heads = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "orientation.escalation")).all()
        assert [m.recipient for m in heads] == ["direction@bailleur.test"]


def test_other_territories_see_nothing(client, build, stalled):
    login(client, build.user("coordinateur", territory="Diois"))
    assert "Bailleur lent" not in _text(client.get("/pilotage/stalled"))


@pytest.mark.parametrize("role", ["accueil", "partenaire", "referent_parcours"])
def test_other_roles_get_404(client, build, role):
    login(client, build.user(role))
    for path in ("/pilotage/stalled", "/pilotage/indicators", "/pilotage/indicators.csv"):
        assert client.get(path).status_code == 404, path
    token = bearer(api_token(client, build.user(role)))
    assert client.get("/api/v1/indicators", headers=token).status_code == 404


def test_admin_sees_aggregate_indicators_only(client, build, stalled):
    login(client, build.user("admin"))
    page = client.get("/pilotage/indicators")
    assert page.status_code == 200 and "orientations envoyées" in _text(page)
    assert client.get("/pilotage/stalled").status_code == 404
    orientation, person = stalled
    assert client.get(f"/orientations/{orientation.id}").status_code == 403
    assert "Hortense" not in _text(page)


def test_indicators_page_charts_and_csv(client, build, stalled):
    login(client, build.user("coordinateur", territory="Valence"))
    page = _text(client.get("/pilotage/indicators?by=structure"))
    assert "<svg" in page and "Évolution par mois" in page and "Bailleur lent" in page
    assert "objectif : un mois" in page
    csv_answer = client.get("/pilotage/indicators.csv?table=totals")
    raw = csv_answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "indicateur;valeur"
    row = next(line for line in lines if line.startswith("Orientations envoyées"))
    assert row == "Orientations envoyées;< 5"      # a small count is masked
    bad = client.get("/pilotage/indicators?from=2026-12-01&to=2026-01-01")
    assert bad.status_code == 200 and "précéder" in _text(bad)


def test_indicators_api(client, build, stalled):
    coordinator = bearer(api_token(client, build.user("coordinateur", territory="Valence")))
    answer = client.get("/api/v1/indicators?by=domain", headers=coordinator)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["totals"]["orientations_sent"] == 1 and body["territory"] == "Valence"
    assert body["groups"][0]["key"] == "logement"
    assert client.get("/api/v1/indicators?territory=Diois", headers=coordinator).status_code == 403
    assert client.get("/api/v1/indicators?by=planet", headers=coordinator).status_code == 422
    assert client.get("/api/v1/indicators?from=yesterday", headers=coordinator).status_code == 422
    admin = bearer(api_token(client, build.user("admin")))
    assert client.get("/api/v1/indicators?territory=Diois", headers=admin).get_json()[
        "totals"]["orientations_sent"] == 0
