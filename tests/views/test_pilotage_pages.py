"""Pilotage pages: the coordinator's stalled list and actions, indicators, CSV, who sees what."""

from __future__ import annotations

import csv
import html
import io
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
    # one orientation: a small count, masked as on the page and in the CSV (review finding 7)
    assert body["totals"]["orientations_sent"] is None and body["territory"] == "Valence"
    assert body["totals"]["masked"] is True
    assert "orientations_sent" in body["totals"]["masked_fields"]
    assert body["groups"][0]["key"] == "logement"
    assert client.get("/api/v1/indicators?territory=Diois", headers=coordinator).status_code == 403
    assert client.get("/api/v1/indicators?by=planet", headers=coordinator).status_code == 422
    assert client.get("/api/v1/indicators?from=yesterday", headers=coordinator).status_code == 422
    admin = bearer(api_token(client, build.user("admin")))
    assert client.get("/api/v1/indicators?territory=Diois", headers=admin).get_json()[
        "totals"]["orientations_sent"] == 0


# -- periods out of range ------------------------------------------------------------------------
def _last_calendar_day(app):
    from app.core.db import db
    from app.pilotage.models import CalendarDay

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(CalendarDay.day)))


def test_dates_out_of_range_are_refused_before_the_calendar_grows(app, client, build):
    before = _last_calendar_day(app)
    coordinator = build.user("coordinateur", territory="Valence")
    headers = bearer(api_token(client, coordinator))
    answer = client.get("/api/v1/indicators?from=9990-01-02&to=9999-12-31", headers=headers)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "validation_error" and set(error["fields"]) == {"from", "to"}
    early = client.get("/api/v1/indicators?from=1999-12-31", headers=headers)
    assert early.status_code == 422 and set(early.get_json()["error"]["fields"]) == {"from"}
    assert client.get("/api/v1/indicators?to=0001-01-01", headers=headers).status_code == 422
    next_year = date.today() + timedelta(days=400)
    assert client.get(f"/api/v1/indicators?to={next_year}", headers=headers).status_code == 422
    assert client.get("/api/v1/indicators?from=2000-01-01&to=2009-12-31",
                      headers=headers).status_code == 200
    login(client, coordinator)
    page = client.get("/pilotage/indicators?from=9990-01-02&to=9999-12-31")
    assert page.status_code == 200
    text = _text(page)
    assert 'id="to-error"' in text and 'aria-invalid="true"' in text
    assert "Choisissez une date entre le" in text and 'class="error-summary"' in text
    assert client.get("/pilotage/indicators.csv?to=9999-12-31").status_code == 422
    assert _last_calendar_day(app) == before


# -- the page: charts with their tables, unique ids, groups -------------------------------------
def test_every_chart_has_its_table_and_ids_are_unique(client, build, stalled):
    import re

    login(client, build.user("coordinateur", territory="Valence"))
    page = _text(client.get("/pilotage/indicators?by=domain"))
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'aria-labelledby="delays-chart-title"' in page
    assert 'aria-labelledby="months-chart-title"' in page
    delays = page.split('id="delays-title"')[1].split("</section>")[0]
    assert "<table" in delays and "Accusé de réception (jours ouvrés)" in delays
    assert "<td>30</td>" in delays                      # the referent designation target
    groups = page.split('id="groups-title"')[1].split("</section>")[0]
    assert "Logement et hébergement" in groups
    assert "<td>—</td>" in groups                      # parcours are not split by domain


# -- CSV --------------------------------------------------------------------------------------
def test_grouped_csv_is_safe_labelled_and_audited(app, client, build):
    agent = build.user("accueil")
    structure = build.structure(name="=HYPERLINK(\"http://evil.test\")")
    person = build.person(agent)
    visit = build.visit(person, channel="phone")
    build.orientation(person, structure, visit_id=str(visit.id))
    coordinator = build.user("coordinateur", territory="Valence")
    login(client, coordinator)

    def rows(by):
        answer = client.get(f"/pilotage/indicators.csv?table=groups&by={by}")
        assert answer.status_code == 200
        return list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig")),
                               delimiter=";"))

    by_structure = rows("structure")
    assert by_structure[1][0].startswith("'=HYPERLINK")
    assert by_structure[1][by_structure[0].index("Passages")] == ""   # does not apply
    assert rows("domain")[1][0] == "Logement et hébergement"
    assert rows("channel")[1][0] == "Téléphone"
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "indicators.export")).all()
    assert len(entries) == 3
    assert {e.actor_id for e in entries} == {coordinator.id}
    assert {e.object_id for e in entries} == {"groups"}
    assert '"by":"channel"' in entries[-1].details


# -- stalled list: age, silent parcours paged ---------------------------------------------------
def test_stalled_orientations_show_their_age(app, client, build, stalled):
    orientation, _person = stalled
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.get(Orientation, orientation.id).sent_on = date.today() - timedelta(days=12)
        db.session.commit()
    coordinator = build.user("coordinateur", territory="Valence")
    [row] = client.get("/api/v1/orientations/stalled",
                       headers=bearer(api_token(client, coordinator))).get_json()
    assert row["age_days"] == 12
    login(client, coordinator)
    page = _text(client.get("/pilotage/stalled"))
    assert "Âge (jours depuis l'envoi)" in page and "<td>12</td>" in page


def test_silent_parcours_are_paged_with_their_total(app, client, build, monkeypatch):
    from app.core.db import db, utcnow
    from app.pilotage import views
    from app.referents.models import Parcours

    monkeypatch.setattr(views, "PER_PAGE", 2)
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    people = [build.person(agent) for _ in range(4)]
    opened = [build.parcours(p, referent) for p in people]
    with app.app_context():
        for days, parcours in zip((100, 90, 80), opened[:3], strict=True):  # not the fourth
            db.session.get(Parcours, parcours.id).opened_at = utcnow() - timedelta(days=days)
        db.session.commit()
    login(client, build.user("coordinateur", territory="Valence"))
    first = _text(client.get("/pilotage/stalled"))
    silent = first.split('id="silent-title"')[1]
    assert "3 parcours silencieux" in silent and "Page 1 sur 2" in silent
    assert "silent_page=2#silent-title" in silent  # its own parameter, back to its heading
    shown = [p.reception_number for p in people if p.reception_number in silent]
    assert shown == [people[0].reception_number, people[1].reception_number]
    second = _text(client.get("/pilotage/stalled?silent_page=2")).split('id="silent-title"')[1]
    assert people[2].reception_number in second and people[0].reception_number not in second
    assert people[3].reception_number not in first + second


# -- the coordinator's actions do not exist for other roles --------------------------------------
@pytest.mark.parametrize("role", ["accueil", "partenaire", "referent_parcours", "admin"])
def test_escalate_and_comment_are_404_for_other_roles(client, build, stalled, role):
    orientation, _person = stalled
    login(client, build.user(role))
    token = csrf_token(client, "/charter")
    for action in ("escalate", "comment"):
        answer = client.post(f"/pilotage/orientations/{orientation.id}/{action}",
                             data={"csrf_token": token, "reason": "x"})
        assert answer.status_code == 404, action


# -- small counts masked on every face; no grouped figures over a day (review finding 7) ----------
def test_small_counts_are_masked_on_the_page_and_in_the_api(client, build, stalled):
    coordinator = build.user("coordinateur", territory="Valence")
    login(client, coordinator)
    page = _text(client.get("/pilotage/indicators?by=structure"))
    kpis = page.split('id="totals-title"')[1].split("</section>")[0]
    assert "<strong>< 5</strong> orientations envoyées" in kpis
    assert "<strong>1</strong> orientations envoyées" not in kpis
    groups = page.split('id="groups-title"')[1].split("</section>")[0]
    row = groups.split("Bailleur lent")[1].split("</tr>")[0]
    assert "<td>< 5</td>" in row and "<td>1</td>" not in row
    assert "<td>0.0</td>" not in row          # its refusal rate (0 of 1) is withheld too
    assert "masqué" in row

    answer = client.get("/api/v1/indicators?by=structure",
                        headers=bearer(api_token(client, coordinator)))
    assert answer.status_code == 200
    body = answer.get_json()
    [group] = body["groups"]
    assert group["label"] == "Bailleur lent" and group["orientations_sent"] is None
    assert group["refusal_rate"] is None and group["masked"] is True
    assert {"orientations_sent", "refusal_rate"} <= set(group["masked_fields"])
    assert group["visits"] is None and "visits" not in group["masked_fields"]  # does not apply
    from app.pilotage.indicators import METRICS

    assert set(METRICS) <= set(body["totals"]) and set(METRICS) <= set(group)  # nothing renamed
    assert body["small_count_threshold"] == 5 and body["min_window_days"] == 7
    assert all(not month["masked"] or month["orientations"] is None for month in body["months"])


def test_counts_from_the_threshold_up_are_shown(client, build):
    agent = build.user("accueil")
    structure = build.structure(name="Bailleur sollicité")
    for _ in range(5):
        build.orientation(build.person(agent), structure)
    coordinator = build.user("coordinateur", territory="Valence")
    body = client.get("/api/v1/indicators?by=structure",
                      headers=bearer(api_token(client, coordinator))).get_json()
    [group] = [g for g in body["groups"] if g["label"] == "Bailleur sollicité"]
    assert group["orientations_sent"] == 5 and group["refusal_rate"] == 0.0
    assert group["masked"] is False and group["masked_fields"] == []
    login(client, coordinator)
    assert "<strong>5</strong> orientations envoyées" in _text(
        client.get("/pilotage/indicators"))


def test_indicators_read_in_french_number_formats(app, client, build):
    """"0 %" (a non-breaking space, no ".0") in French, "0%" in English; the filters give
    "12,5 %" and "1 234" in French."""
    agent = build.user("accueil")
    structure = build.structure(name="Bailleur sollicité")
    for _ in range(5):
        build.orientation(build.person(agent), structure)
    login(client, build.user("coordinateur", territory="Valence"))
    kpis = _text(client.get("/pilotage/indicators")).split('id="totals-title"')[1]
    assert "<strong>0\u00a0%</strong> de refus" in kpis
    assert "0.0" not in kpis.split("</section>")[0]
    client.post("/language", data={"csrf_token": csrf_token(client, "/pilotage/indicators"),
                                   "lang": "en", "next": "/pilotage/indicators"})
    english = _text(client.get("/pilotage/indicators")).split('id="totals-title"')[1]
    assert "<strong>0%</strong>" in english and "0.0" not in english.split("</section>")[0]
    from flask_babel import force_locale

    from app.core.i18n import fnumber, fpercent

    with app.test_request_context(), force_locale("fr"):
        assert fpercent(12.5) == "12,5\u00a0%" and fpercent(0.0) == "0\u00a0%"
        assert fnumber(1234) == "1\u202f234" or fnumber(1234) == "1\u00a0234"
        assert fnumber(2.0) == "2" and fpercent("masqué") == "masqué" and fnumber(None) is None
    with app.test_request_context(), force_locale("en"):
        assert fpercent(12.5) == "12.5%" and fnumber(1234) == "1,234"


def test_grouped_figures_over_a_short_window_are_refused(app, client, build, stalled,
                                                         monkeypatch):
    coordinator = build.user("coordinateur", territory="Valence")
    headers = bearer(api_token(client, coordinator))
    today = date.today()
    one_day = f"from={today}&to={today}"
    six_days = f"from={today - timedelta(days=5)}&to={today}"
    seven_days = f"from={today - timedelta(days=6)}&to={today}"
    for by in ("site", "structure", "domain", "channel", "territory"):
        refused = client.get(f"/api/v1/indicators?{one_day}&by={by}", headers=headers)
        assert refused.status_code == 422, by
        error = refused.get_json()["error"]
        assert error["code"] == "validation_error" and "7 jours" in error["fields"]["from"][0]
    assert client.get(f"/api/v1/indicators?{six_days}&by=site", headers=headers).status_code == 422
    assert client.get(f"/api/v1/indicators?{seven_days}&by=site",
                      headers=headers).status_code == 200
    assert client.get(f"/api/v1/indicators?{one_day}", headers=headers).status_code == 200

    login(client, coordinator)
    page = client.get(f"/pilotage/indicators?{one_day}&by=structure")
    text = _text(page)
    assert page.status_code == 200 and 'id="from-error"' in text and "7 jours" in text
    assert 'class="error-summary"' in text and "Bailleur lent" not in text  # no detail shown
    assert client.get(f"/pilotage/indicators.csv?table=groups&by=structure&{one_day}"
                      ).status_code == 422

    monkeypatch.setitem(app.config, "PASSERELLE_INDICATORS_MIN_WINDOW_DAYS", 1)
    assert client.get(f"/api/v1/indicators?{one_day}&by=site", headers=headers).status_code == 200
