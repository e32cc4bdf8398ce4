"""A small smoke test of ``demo generate``: the data is encrypted, indexed and usable; its
documents decrypt and download through the app, its appointments are what app/appointments
records; ``demo seed`` shows a document and an appointment."""

from __future__ import annotations

import sqlalchemy as sa


def test_generate_a_few_persons(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "60", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "60"
    from app.accueil.models import Person, PersonSearchKey, Visit
    from app.core.audit import verify_chain
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        persons = db.session.scalars(sa.select(Person)).all()
        assert len(persons) == 60
        named = [p for p in persons if not p.anonymous]
        assert named and all(p.last_name for p in named)  # decrypts with the app's keys
        raw = db.session.execute(sa.text("SELECT last_name FROM persons WHERE last_name IS NOT NULL"
                                         " LIMIT 1")).scalar()
        assert raw.startswith("v1:") and named[0].last_name not in raw
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) >= 60
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Orientation)) == 60
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonSearchKey)) > 100
        statuses = set(db.session.scalars(sa.select(Orientation.status)))
        assert len(statuses) >= 4
        verify_chain(db.session)
        target = named[0]
    # The app finds a generated person by name, through the blind indexes.
    from tests.helpers import api_token, bearer

    with app.app_context():
        from app.auth.models import User

        agent = db.session.scalars(sa.select(User).where(
            User.role == "accueil", User.site_id == target.created_site_id)).first()
        last_name = target.last_name
    from types import SimpleNamespace

    token = bearer(api_token(client, SimpleNamespace(email=agent.email,
                                                     password="passerelle-demo-2026")))
    client.post("/api/v1/charter/accept", headers=token, json={"version": 1})
    hits = client.get(f"/api/v1/persons?q={last_name}", headers=token).get_json()
    assert str(target.id) in {h["id"] for h in hits}


def _derived_mismatches() -> tuple[int, int]:
    """Rows whose derived values differ from what the triggers of migration 0015 keep."""
    from app.core.db import db

    persons = db.session.execute(sa.text(
        "SELECT count(*) FROM persons p WHERE p.first_visit_on IS NULL OR p.first_visit_on <> "
        "(SELECT min(v.occurred_on) FROM visits v WHERE v.person_id = p.id)")).scalar()
    needs = db.session.execute(sa.text(
        "SELECT count(*) FROM needs n JOIN visits v ON v.id = n.visit_id "
        "WHERE n.site_id IS NULL OR n.site_id <> v.site_id OR n.occurred_on <> v.occurred_on"
    )).scalar()
    return persons, needs


def _plaintexts() -> list[tuple]:
    from app.accueil.models import Person
    from app.core.db import db

    return sorted((p.reception_number, p.first_name, p.last_name, p.pseudonym, p.first_visit_on,
                   len(p.visits)) for p in db.session.scalars(sa.select(Person)))


def test_generated_rows_carry_what_the_database_derives(app, ctx):
    from app.demo import generate, seed

    seed.seed(with_persons=False)
    report = generate.generate(90, seed=3, workers=1, batch_size=40)
    assert report.persons == 90
    assert _derived_mismatches() == (0, 0)
    numbers = [n for n, *_rest in _plaintexts()]
    assert len(set(numbers)) == 90  # reserved per batch and year: unique, without gaps
    from app.accueil.models import ReceptionCounter
    from app.core.db import db

    counters = {c.year: c.last for c in db.session.scalars(sa.select(ReceptionCounter))}
    assert sum(counters.values()) == 90
    assert max(int(n.rsplit("-", 1)[1]) for n in numbers) == max(counters.values())


def _documents_and_appointments() -> tuple[list[tuple], list[tuple]]:
    """The generated documents (plaintext included) and appointments, decrypted, by person."""
    import hashlib

    from app.accueil.models import Person
    from app.appointments.models import Appointment
    from app.core.db import db
    from app.documents import services
    from app.documents.models import Document, OrientationDocument
    from app.orientation.models import Orientation

    numbers = dict(db.session.execute(sa.select(Person.id, Person.reception_number)).all())
    shared = {d for d, in db.session.execute(sa.select(OrientationDocument.document_id))}
    documents = sorted((numbers[d.person_id], d.kind, d.filename, d.content_type, d.size,
                        d.expires_on, d.id in shared,
                        hashlib.sha256(services.content(d)).hexdigest())
                       for d in db.session.scalars(sa.select(Document)))
    persons = dict(db.session.execute(sa.select(Orientation.id, Orientation.person_id)).all())
    appointments = sorted((numbers[persons[a.orientation_id]], a.scheduled_on,
                           str(a.scheduled_time), a.status, a.place_kind, a.place_text,
                           a.with_whom, a.rescheduled_to_id is not None)
                          for a in db.session.scalars(sa.select(Appointment)))
    return documents, appointments


def test_parallel_generation_gives_the_same_data(app, ctx):
    """Two worker processes (PostgreSQL) write what one process writes for the same seed."""
    import pytest

    from app.core.db import db
    from app.demo import generate, seed
    from tests.conftest import empty_database

    if db.engine.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite: batches run in-process there")
    seed.seed(with_persons=False)
    generate.generate(120, seed=5, workers=1, batch_size=25)
    alone = _plaintexts()
    papers_alone = _documents_and_appointments()
    assert papers_alone[0] and papers_alone[1]
    db.session.remove()
    empty_database(app)
    seed.seed(with_persons=False)
    report = generate.generate(120, seed=5, workers=2, batch_size=25)
    db.session.remove()
    assert report.persons == 120 and report.orientations == 120
    assert _plaintexts() == alone
    assert _documents_and_appointments() == papers_alone
    assert _derived_mismatches() == (0, 0)


def test_deferred_indexes_are_built_again(app, ctx):
    """PostgreSQL: with --defer-indexes, the indexes dropped for the load are all back."""
    import pytest

    from app.core.db import db
    from app.demo import seed

    if db.engine.dialect.name != "postgresql":
        pytest.skip("index deferral is for PostgreSQL loads")

    from app.core.db import EXPRESSION_INDEXES

    def definitions() -> set[str]:
        """Every index (PostgreSQL rewrites the text of an expression index: its name only)."""
        rows = db.session.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"))
        return {name if name in EXPRESSION_INDEXES else definition for name, definition in rows}

    before = definitions()
    seed.seed(with_persons=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "50", "--defer-indexes",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert definitions() == before
    assert any("ix_visits_site_occurred_on" in d and "INCLUDE" in d for d in before)
    assert _derived_mismatches() == (0, 0)


def test_generation_leaves_planner_statistics(app, ctx):
    """PostgreSQL: a search right after ``demo generate`` must not be planned blind (issue 21):
    the generator analyses the tables it loaded."""
    import pytest

    from app.core.db import db
    from app.demo import seed

    if db.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics: PostgreSQL")
    seed.seed(with_persons=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "40", "--workers", "1"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    # VACUUM (ANALYZE) sets the row estimates to what is there (autovacuum would wait for its
    # next round) and the visibility map (index-only scans that skip the table);
    # pg_class is transactional, unlike the statistics views.
    for table in ("persons", "person_search_keys", "visits", "orientations"):
        estimate, count = db.session.execute(sa.text(
            f"SELECT c.reltuples, (SELECT count(*) FROM {table}) FROM pg_class c "
            f"WHERE c.relname = '{table}'")).one()
        assert count > 0 and estimate == count, (table, estimate, count)
    visible, pages = db.session.execute(sa.text(
        "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'person_search_keys'")).one()
    assert pages > 0 and visible == pages, (visible, pages)


# -- documents and appointments (issue 20) ---------------------------------------------------
def _demo_login(client, email: str):
    from types import SimpleNamespace

    from tests.helpers import api_token, bearer

    token = bearer(api_token(client, SimpleNamespace(email=email, password="passerelle-demo-2026")))
    assert client.post("/api/v1/charter/accept", headers=token, json={"version": 1}).status_code \
        in (200, 409)
    return token


def test_generated_documents_decrypt_and_download_through_the_app(app, client):
    """One person in five has one or two documents: PDF or PNG, sealed under a key of their
    own, typed as the app types them, no plaintext in the stored bytes; the site's agent
    downloads them, the partner only those shared with its structure."""
    import io

    from PIL import Image

    from app.accueil.models import Person
    from app.auth.models import User
    from app.core.db import db
    from app.documents import services
    from app.documents.models import Document, DocumentBlob, OrientationDocument
    from app.orientation.models import Orientation

    result = app.test_cli_runner().invoke(args=["demo", "generate", "--persons", "200",
                                                "--seed", "7", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "documents" in result.output and "appointments" in result.output
    with app.app_context():
        documents = db.session.scalars(sa.select(Document)).all()
        owners = {d.person_id for d in documents}
        assert 20 <= len(owners) <= 60 and len(documents) <= 2 * len(owners)
        assert {d.content_type for d in documents} == {"application/pdf", "image/png"}
        keys = set()
        for document in documents:
            person = db.session.get(Person, document.person_id)
            data = services.content(document)
            assert services.sniff(data) == document.content_type and len(data) == document.size
            assert 500 < document.size < 8000
            if document.content_type == "application/pdf":
                assert f"Dossier {person.reception_number}".encode() in data
            else:
                with Image.open(io.BytesIO(data)) as image:
                    assert image.format == "PNG" and "exif" not in image.info
            sealed = db.session.get(DocumentBlob, document.id).data
            assert b"Dossier" not in bytes(sealed) and b"%PDF" not in bytes(sealed)
            keys.add(document.data_key)
        assert len(keys) == len(documents)  # a data key per document
        shares = db.session.execute(
            sa.select(OrientationDocument.document_id, Orientation.structure_id,
                      Orientation.status, Orientation.person_id)
            .join(Orientation, Orientation.id == OrientationDocument.orientation_id)).all()
        assert shares and all(status not in ("redirected", "cancelled")
                              for _d, _s, status, _p in shares)
        partner = db.session.scalars(sa.select(User).where(
            User.email == "partenaire@demo.passerelle.local")).one()
        caf_shared = [d for d, structure, _st, _p in shares if structure == partner.structure_id]
        shared_ids = {d for d, *_rest in shares}
        caf_persons = set(db.session.scalars(sa.select(Orientation.person_id).where(
            Orientation.structure_id == partner.structure_id)))
        not_shared = [d.id for d in documents
                      if d.id not in shared_ids and d.person_id in caf_persons]
        sample = documents[0]
        agent = db.session.scalars(sa.select(User).join(
            Person, Person.created_site_id == User.site_id).where(
            Person.id == sample.person_id, User.role == "accueil")).first()
        expected = services.content(sample)
        caf_expected = {d: services.content(db.session.get(Document, d)) for d in caf_shared}
    agent_token = _demo_login(client, agent.email)
    answer = client.get(f"/api/v1/documents/{sample.id}/content", headers=agent_token)
    assert answer.status_code == 200 and answer.data == expected
    partner_token = _demo_login(client, "partenaire@demo.passerelle.local")
    assert caf_shared, "the seed shares no document with the CAF"
    for document_id, data in caf_expected.items():
        answer = client.get(f"/api/v1/documents/{document_id}/content", headers=partner_token)
        assert answer.status_code == 200 and answer.data == data
    for document_id in not_shared[:3]:
        answer = client.get(f"/api/v1/documents/{document_id}/content", headers=partner_token)
        assert answer.status_code == 404


def test_generated_appointments_are_what_the_app_records(app, ctx):
    """Appointments for the orientations taken in charge: ``first_appointment_on`` is the
    earliest that counts, none before the orientation was sent, moved ones point to their new
    date, the person's link works, and the stalled list has appointments passed without an
    outcome."""
    from app.appointments import services
    from app.appointments.models import Appointment
    from app.core.db import db
    from app.demo import generate, seed
    from app.orientation.models import Orientation

    seed.seed(with_persons=False)
    report = generate.generate(200, seed=7, workers=1, batch_size=80)
    rows = db.session.scalars(sa.select(Appointment)).all()
    assert report.appointments == len(rows) > 50
    by_orientation: dict = {}
    for row in rows:
        by_orientation.setdefault(row.orientation_id, []).append(row)
    assert {row.status for row in rows} >= {"scheduled", "came", "no_show", "rescheduled"}
    for orientation in db.session.scalars(sa.select(Orientation)):
        mine = by_orientation.get(orientation.id, [])
        counted = [a.scheduled_on for a in mine if a.status in services.COUNTED]
        assert orientation.first_appointment_on == (min(counted) if counted else None)
        if mine:
            assert orientation.status in ("in_charge", "closed")
        for appointment in mine:
            assert appointment.scheduled_on >= orientation.sent_on
            if appointment.place_kind == "address":
                assert appointment.place_text and "Valence" in appointment.place_text
            if appointment.rescheduled_to_id:
                target = db.session.get(Appointment, appointment.rescheduled_to_id)
                assert target.orientation_id == orientation.id
                assert appointment.status == "rescheduled"
            if orientation.status == "closed":
                assert appointment.status != "scheduled"
    assert {row.place_kind for row in rows} == {"address", "phone", "other"}
    recent = [a for a in rows if services.by_person_token(services.person_token(a)) is not None]
    assert recent and all(services.by_person_token(services.person_token(a)).id == a.id
                          for a in recent)
    _page, passed = services.without_outcome_page(sa.select(Orientation))
    assert passed > 0


def test_demo_seed_shows_documents_and_an_appointment(app, client):
    """``demo seed``: the first person has two documents, the CCAS's orientation shares one
    and holds her appointment at the CCAS's address; the partner reads both on its page."""
    from app.accueil.models import Person
    from app.appointments.models import Appointment
    from app.core.db import db
    from app.documents.models import Document, OrientationDocument
    from app.orientation.models import Orientation
    from tests.helpers import login

    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    with app.app_context():
        documents = db.session.scalars(sa.select(Document)).all()
        assert sorted(d.kind for d in documents) == ["identity", "income"]
        person = db.session.get(Person, documents[0].person_id)
        assert person.last_name == "Lefèvre"
        [(shared, orientation_id)] = db.session.execute(sa.select(
            OrientationDocument.document_id, OrientationDocument.orientation_id)).all()
        [appointment] = db.session.scalars(sa.select(Appointment)).all()
        assert appointment.orientation_id == orientation_id
        orientation = db.session.get(Orientation, orientation_id)
        assert orientation.first_appointment_on == appointment.scheduled_on
        assert appointment.place_text == "1 place de la Liberté, 26000 Valence"
        income = db.session.get(Document, shared)
        assert income.kind == "income"
    from types import SimpleNamespace

    partner = SimpleNamespace(email="partenaire.ccas@demo.passerelle.local",
                              password="passerelle-demo-2026")
    login(client, partner)
    from tests.helpers import post_form

    post_form(client, "/charter/accept", token_from="/charter")
    page = client.get(f"/orientations/{orientation_id}").get_data(as_text=True)
    assert "avis-imposition-2025.pdf" in page and "carte-identite.png" not in page
    assert "1 place de la Liberté" in page and "Mme Roux" in page
