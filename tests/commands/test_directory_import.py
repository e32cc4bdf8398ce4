"""``directory import``: first load, re-import, an updated record, malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "data-inclusion-sample.json"


def _structures(app):
    from app.core.db import db
    from app.directory.models import Structure

    with app.app_context():
        return {s.external_id: (s.name, sorted(s.domains), list(s.territories), s.kind,
                                s.contact_email, s.source_updated_on)
                for s in db.session.scalars(sa.select(Structure))}


def test_first_load(app):
    result = app.test_cli_runner().invoke(args=["directory", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output.splitlines()[-1]
    assert "skipped dora--bad" in result.output and "skipped dora--svc-orphan" in result.output
    found = _structures(app)
    assert set(found) == {"dora--42", "france-travail--valence-sud", "dora--77"}
    name, domains, territories, kind, email, _date = found["dora--42"]
    assert domains == ["acces_droits", "alimentation", "juridique", "numerique"]
    assert territories == ["Valence"] and kind == "association"
    assert email == "contact@tournesol.example.org"
    assert found["france-travail--valence-sud"][1] == ["emploi_insertion", "mobilite"]
    assert found["france-travail--valence-sud"][3] == "france_travail"
    assert found["dora--77"][1] == ["budget"]


def test_reimport_changes_only_what_changed(app, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["directory", "import", str(SAMPLE)])
    before = _structures(app)
    again = runner.invoke(args=["directory", "import", str(SAMPLE)])
    assert "0 created, 0 updated, 3 unchanged" in again.output
    assert _structures(app) == before
    data = json.loads(SAMPLE.read_text())
    data["structures"][2].update(date_maj="2026-11-01", nom="Point conseil budget Drôme Nord")
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    third = runner.invoke(args=["directory", "import", str(changed)])
    assert "0 created, 1 updated, 2 unchanged" in third.output
    after = _structures(app)
    assert after["dora--77"][0] == "Point conseil budget Drôme Nord"
    assert after["dora--42"] == before["dora--42"]


@pytest.mark.parametrize("content", ["not json at all", "[]", '{"services": []}',
                                     '{"structures": {}}', '{"structures": [], "services": 3}'])
def test_malformed_file_imports_nothing(app, tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = app.test_cli_runner().invoke(args=["directory", "import", str(path)])
    assert result.exit_code != 0 and "Error" in result.output
    assert _structures(app) == {}


def test_missing_file(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["directory", "import", str(tmp_path / "x.json")])
    assert result.exit_code != 0 and "no such file" in result.output


def _sirets(app) -> dict:
    from app.core.db import db
    from app.directory.models import Structure

    with app.app_context():
        return {s.external_id: s.siret for s in db.session.scalars(sa.select(Structure))}


def test_the_records_siret_is_stored_and_kept(app, tmp_path):
    """A structure's ``siret`` (data·inclusion schema v1) is stored; a later record without one
    keeps it, a record with another one replaces it; one that is not 14 digits is refused."""
    data = json.loads(SAMPLE.read_text())
    data["structures"][0]["siret"] = "53470985400014"
    data["structures"][1]["siret"] = "1234"
    path = tmp_path / "sirets.json"
    path.write_text(json.dumps(data))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["directory", "import", str(path)])
    assert "skipped france-travail--valence-sud" in result.output
    assert _sirets(app) == {"dora--42": "53470985400014", "dora--77": None}

    data["structures"][0].update(date_maj="2026-11-01")
    del data["structures"][0]["siret"]
    path.write_text(json.dumps(data))
    runner.invoke(args=["directory", "import", str(path)])
    assert _sirets(app)["dora--42"] == "53470985400014"

    data["structures"][0].update(date_maj="2026-11-02", siret="13003013300016")
    path.write_text(json.dumps(data))
    assert "1 updated" in runner.invoke(args=["directory", "import", str(path)]).output
    assert _sirets(app)["dora--42"] == "13003013300016"
