"""Indicators that can be trusted at a glance (issue 24, item 12): months in words, a median
beyond its target said in words, the CSV identical to the page (same figures, same masking),
and one "Tout exporter"."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from datetime import date

import sqlalchemy as sa

from tests.helpers import login

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")


def _world(app, build, orientations: int = 6):
    agent = build.user("accueil")
    structure = build.structure(name="Bailleur sollicité")
    for _n in range(orientations):
        person = build.person(agent)
        build.visit(person)
        build.orientation(person, structure)
    coordinator = build.user("coordinateur", territory="Valence")
    return coordinator


def _page_table(page: str, title_id: str) -> list[list[str]]:
    """The body rows of the table under the section ``title_id``, as the reader sees them."""
    section = page.split(f'id="{title_id}"')[1].split("</section>")[0]
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([_plain(cell) for cell in cells])
    return rows


def _plain(text: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[\s\u00a0\u202f]+", "", text)  # "1 234" on the page, "1234" in a cell


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_csv_reads_as_the_page(app, client, build):
    login(client, _world(app, build))
    page = client.get("/pilotage/indicators").get_data(as_text=True)
    for table, title in (("months", "months-title"), ("domains", "domains-title"),
                         ("channels", "channels-title")):
        rows = _csv(client.get(f"/pilotage/indicators.csv?table={table}").get_data())[1:]
        assert [[_plain(c) for c in row] for row in rows] == _page_table(page, title), table


def test_a_small_count_is_masked_alike_on_both_faces(app, client, build):
    login(client, _world(app, build, orientations=2))
    page = client.get("/pilotage/indicators").get_data(as_text=True)
    rows = _csv(client.get("/pilotage/indicators.csv?table=domains").get_data())[1:]
    assert [[_plain(c) for c in row] for row in rows] == _page_table(page, "domains-title")
    assert any("<5" in _plain(cell) for row in rows for cell in row)


def test_a_month_reads_in_words(app, client, build):
    login(client, _world(app, build))
    page = html.unescape(client.get("/pilotage/indicators").get_data(as_text=True))
    today = date.today()
    label = f"{MONTHS_FR[today.month - 1]} {today.year}"
    assert f'<th scope="row">{label}</th>' in page
    assert f'<th scope="row">{today:%Y-%m}</th>' not in page
    assert f">{today:%Y-%m} —" not in page  # nor in the chart's bars
    rows = _csv(client.get("/pilotage/indicators.csv?table=months").get_data())
    assert rows[-1][0] == label


def test_a_median_beyond_its_target_says_so(app, client, build, monkeypatch):
    from app.pilotage import views
    from app.pilotage.presenters import over_target

    assert over_target(31, 30) and over_target(2.5, 2) and not over_target(30, 30)
    assert not over_target(None, 30) and not over_target("masqué", 30)
    login(client, _world(app, build))
    page = html.unescape(client.get("/pilotage/indicators").get_data(as_text=True))
    assert "au-delà de la cible" not in page  # nothing measured beyond a target
    monkeypatch.setattr(views, "_delays", lambda report: [("Accusé de réception", 3.5, 2),
                                                           ("Prise en charge", 10, 22)])
    page = html.unescape(client.get("/pilotage/indicators").get_data(as_text=True))
    delays = _page_table(page, "delays-title")
    assert delays == [["Accuséderéception", "3,5au-delàdelacible", "2"],
                      ["Priseencharge", "10", "22"]]


def test_everything_in_one_zip_identical_to_each_csv(app, client, build):
    from app.core.audit import AuditEntry
    from app.core.db import db

    login(client, _world(app, build))
    page = html.unescape(client.get("/pilotage/indicators").get_data(as_text=True))
    assert "Tout exporter" in page and "/pilotage/indicators.zip" in page
    answer = client.get("/pilotage/indicators.zip?by=structure")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.get_data()))
    names = archive.namelist()
    for table in ("totals", "months", "domains", "channels", "refusals", "outcomes", "groups"):
        [name] = [n for n in names if n.startswith(f"indicateurs-{table}-")]
        alone = client.get(f"/pilotage/indicators.csv?table={table}&by=structure").get_data()
        assert archive.read(name) == alone, table
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "indicators.export", AuditEntry.object_id == "all")) == 1
    assert client.get("/pilotage/indicators.zip?from=nope").status_code == 422


def test_the_period_is_typed_as_jj_mm_aaaa(app, client, build):
    """The page's From/To are text fields with a numeric keypad (no native date picker, which
    reads MM/DD/YYYY in an English browser); the API keeps ISO dates."""
    login(client, _world(app, build, orientations=1))
    page = html.unescape(client.get("/pilotage/indicators?from=01/02/2026&to=28/02/2026")
                         .get_data(as_text=True))
    assert "Du 01/02/2026 au 28/02/2026" in page
    assert 'type="date"' not in page
    assert 'inputmode="numeric"' in page and 'value="01/02/2026"' in page
    assert "/pilotage/indicators.zip?from=2026-02-01&amp;to=2026-02-28" in client.get(
        "/pilotage/indicators?from=01022026&to=2026-02-28").get_data(as_text=True)
    wrong = html.unescape(client.get("/pilotage/indicators?from=31/02/2026")
                          .get_data(as_text=True))
    assert "Date non reconnue : écrivez-la au format JJ/MM/AAAA." in wrong
    assert 'id="from-error"' in wrong
