"""The person's documents (issue 20, item 5): attached by the reception agent, checked by content,
re-encoded, encrypted; shared at an orientation's consent and downloaded by that partner only;
audited, exported, rotated, purged."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.documents_samples import CAMERA, MARKER, image_bytes, pdf_bytes
from tests.helpers import api_token, bearer, csrf_token, login


@pytest.fixture
def world(build):
    agent = build.user("accueil")
    person = build.person(agent)
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    return agent, person, structure, partner


def _upload(client, person, data: bytes, filename: str, kind: str = "identity", **extra):
    path = f"/persons/{person.id}/documents/new"
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "kind": kind,
                                   "file": (io.BytesIO(data), filename), **extra},
                       content_type="multipart/form-data")


def _documents(app):
    from app.core.db import db
    from app.documents.models import Document

    with app.app_context():
        return [(d.id, d.filename, d.content_type, d.size)
                for d in db.session.scalars(sa.select(Document))]


def test_agent_attaches_a_pdf_and_downloads_it(app, client, world):
    agent, person, _structure, _partner = world
    login(client, agent)
    page = client.get(f"/persons/{person.id}/documents/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'accept="application/pdf,image/jpeg,image/png"' in html and "capture" in html
    answer = _upload(client, person, pdf_bytes(), "cni.pdf", expires_on="2030-05-01")
    assert answer.status_code == 302
    [(document_id, name, content_type, _size)] = _documents(app)
    assert (name, content_type) == ("cni.pdf", "application/pdf")
    file_page = client.get(f"/persons/{person.id}").get_data(as_text=True)
    assert "cni.pdf" in file_page and "Pièce d&#39;identité" in file_page
    download = client.get(f"/documents/{document_id}/download")
    assert download.status_code == 200
    assert download.data == pdf_bytes()
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]


def test_a_png_renamed_pdf_is_refused_cleanly(app, client, world):
    agent, person, _structure, _partner = world
    login(client, agent)
    answer = _upload(client, person, image_bytes("PNG"), "x.pdf")
    assert answer.status_code == 200  # the form again, with its message
    html = answer.get_data(as_text=True)
    assert "n&#39;est pas un PDF" in html and "PNG" in html
    assert _documents(app) == []


def test_a_file_that_is_not_pdf_jpeg_or_png_is_refused(app, client, world):
    agent, person, _structure, _partner = world
    login(client, agent)
    answer = _upload(client, person, b"GIF89a" + b"\x00" * 64, "photo.gif")
    assert answer.status_code == 200
    assert "seuls les PDF, JPEG et PNG" in answer.get_data(as_text=True)
    assert _documents(app) == []
    token = api_token(client, agent)
    api = client.post(f"/api/v1/persons/{person.id}/documents", headers=bearer(token),
                      data={"kind": "identity",
                            "file": (io.BytesIO(b"<html><script>x</script></html>"), "a.html")},
                      content_type="multipart/form-data")
    assert api.status_code == 422
    assert api.get_json()["error"]["code"] == "validation_error"
    assert "file" in api.get_json()["error"]["fields"]


def test_a_png_without_a_lying_name_is_stored_as_png(app, client, world):
    agent, person, _structure, _partner = world
    login(client, agent)
    assert _upload(client, person, image_bytes("PNG"), "image", kind="address").status_code == 302
    [(_id, name, content_type, _size)] = _documents(app)
    assert (name, content_type) == ("image.png", "image/png")


def test_a_50_mb_upload_is_refused_with_a_clear_message(app, client, world):
    agent, person, _structure, _partner = world
    login(client, agent)
    big = pdf_bytes(padding=50 * 1024 * 1024)
    answer = _upload(client, person, big, "gros.pdf")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/persons/{person.id}/documents/new")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "dépasse la taille maximale de 10,0 Mo" in page
    assert _documents(app) == []
    token = api_token(client, agent)
    api = client.post(f"/api/v1/persons/{person.id}/documents", headers=bearer(token),
                      data={"kind": "identity", "file": (io.BytesIO(big), "gros.pdf")},
                      content_type="multipart/form-data")
    assert api.status_code == 413
    assert api.get_json()["error"]["code"] == "payload_too_large"
    assert "taille maximale" in api.get_json()["error"]["message"]


def test_a_file_just_over_the_setting_is_refused_by_the_form(app, client, world):
    agent, person, _structure, _partner = world
    login(client, agent)
    old = app.config["PASSERELLE_DOCUMENT_MAX_BYTES"]
    app.config["PASSERELLE_DOCUMENT_MAX_BYTES"] = 2000
    try:
        answer = _upload(client, person, pdf_bytes(padding=3000), "moyen.pdf")
    finally:
        app.config["PASSERELLE_DOCUMENT_MAX_BYTES"] = old
    assert answer.status_code == 200
    assert "dépasse la taille maximale" in answer.get_data(as_text=True)
    assert _documents(app) == []


@pytest.mark.parametrize("fmt, filename", [("JPEG", "photo.jpg"), ("PNG", "photo.png")])
def test_image_metadata_is_dropped(app, client, world, fmt, filename):
    from PIL import Image

    agent, person, _structure, _partner = world
    original = image_bytes(fmt)
    assert CAMERA.encode() in original and Image.open(io.BytesIO(original)).getexif()
    login(client, agent)
    assert _upload(client, person, original, filename).status_code == 302
    [(document_id, _name, _type, _size)] = _documents(app)
    stored = client.get(f"/documents/{document_id}/download").data
    assert CAMERA.encode() not in stored and b"ModeleTest" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == fmt and len(image.getexif()) == 0
    assert image.size == (64, 48)


def _share(client, agent, person, structure, document_ids):
    login(client, agent)
    path = f"/persons/{person.id}/orientations/new"
    page = client.get(path).get_data(as_text=True)
    for document_id in document_ids:
        assert f'value="{document_id}"' in page  # the consent step lists the documents
    answer = client.post(path, data={
        "csrf_token": csrf_token(client, path), "domain": "logement",
        "structure_id": str(structure.id), "motive": "Logement", "consent_given": "y",
        "shared_fields": ["first_name"], "shared_documents": [str(i) for i in document_ids]})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_partner_downloads_only_the_documents_shared_with_them(app, client, build, world):
    agent, person, structure, partner = world
    shared = build.document(person, filename="avis-expulsion.pdf", kind="eviction")
    kept = build.document(person, filename="cni.pdf")
    _share(client, agent, person, structure, [shared.id])
    partner_client = app.test_client()
    login(partner_client, partner)
    assert partner_client.get(f"/documents/{shared.id}/download").status_code == 200
    assert partner_client.get(f"/documents/{kept.id}/download").status_code == 404
    # another structure's partner sees neither
    stranger = app.test_client()
    login(stranger, build.user("partenaire"))
    assert stranger.get(f"/documents/{shared.id}/download").status_code == 404
    # the API says the same
    token = api_token(partner_client, partner)
    assert partner_client.get(f"/api/v1/documents/{kept.id}/content",
                              headers=bearer(token)).status_code == 404
    assert partner_client.get(f"/api/v1/documents/{kept.id}",
                              headers=bearer(token)).status_code == 404
    content = partner_client.get(f"/api/v1/documents/{shared.id}/content", headers=bearer(token))
    assert content.status_code == 200 and content.data == pdf_bytes()
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    # the orientation's page and its API list only the shared document
    from app.core.db import db
    from app.documents.models import OrientationDocument

    with app.app_context():
        orientation_id = db.session.scalar(sa.select(OrientationDocument.orientation_id))
    page = partner_client.get(f"/orientations/{orientation_id}").get_data(as_text=True)
    assert "avis-expulsion.pdf" in page and "cni.pdf" not in page
    listed = partner_client.get(f"/api/v1/orientations/{orientation_id}/documents",
                                headers=bearer(token)).get_json()
    assert [d["id"] for d in listed] == [str(shared.id)]
    # the downloads are in the person's access log
    log = client.get(f"/api/v1/persons/{person.id}/access-log",
                     headers=bearer(api_token(client, agent))).get_json()
    downloads = [row for row in log if row["action"] == "document.download"]
    assert len(downloads) == 2 and {row["user"] for row in downloads} == {partner.display_name}
    file_page = client.get(f"/persons/{person.id}").get_data(as_text=True)
    assert "Téléchargement d'un document" in file_page


def test_a_refused_orientation_stops_the_download(app, client, build, world):
    agent, person, structure, partner = world
    document = build.document(person)
    orientation = build.orientation(person, structure,
                                    consent={"given": True, "shared_fields": [],
                                             "shared_documents": [str(document.id)]})
    partner_client = app.test_client()
    login(partner_client, partner)
    assert partner_client.get(f"/documents/{document.id}/download").status_code == 200
    token = api_token(partner_client, partner)
    answer = partner_client.post(f"/api/v1/orientations/{orientation.id}/refuse",
                                 headers=bearer(token), json={"reason": "Hors compétence"})
    assert answer.status_code == 200
    assert partner_client.get(f"/documents/{document.id}/download").status_code == 404


def test_another_persons_document_cannot_be_shared(app, client, build, world):
    agent, person, structure, _partner = world
    other = build.document(build.person(agent))
    token = api_token(client, agent)
    answer = client.post("/api/v1/orientations", headers=bearer(token), json={
        "person_id": str(person.id), "structure_id": str(structure.id), "domain": "logement",
        "motive": "x", "consent": {"given": True, "shared_fields": [],
                                   "shared_documents": [str(other.id)]}})
    assert answer.status_code == 422
    assert "consent.shared_documents" in answer.get_json()["error"]["fields"]


def test_api_attach_list_read_delete(app, client, world):
    agent, person, _structure, partner = world
    token = bearer(api_token(client, agent))
    created = client.post(f"/api/v1/persons/{person.id}/documents", headers=token,
                          data={"kind": "income", "expires_on": "2031-01-31",
                                "file": (io.BytesIO(pdf_bytes()), "avis-imposition.pdf")},
                          content_type="multipart/form-data")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["content_type"] == "application/pdf" and body["expires_on"] == "2031-01-31"
    assert "data_key" not in body
    listed = client.get(f"/api/v1/persons/{person.id}/documents", headers=token).get_json()
    assert [d["id"] for d in listed] == [body["id"]]
    assert client.get(f"/api/v1/documents/{body['id']}", headers=token).get_json()["kind"] \
        == "income"
    bad = client.post(f"/api/v1/persons/{person.id}/documents", headers=token,
                      data={"kind": "secret", "expires_on": "demain",
                            "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) >= {"kind", "expires_on"}
    partner_client = app.test_client()
    assert partner_client.delete(f"/api/v1/documents/{body['id']}",
                                 headers=bearer(api_token(partner_client, partner))
                                 ).status_code == 403
    assert client.delete(f"/api/v1/documents/{body['id']}", headers=token).status_code == 204
    assert client.get(f"/api/v1/documents/{body['id']}", headers=token).status_code == 404
    assert _documents(app) == []


def test_page_delete(app, client, build, world):
    agent, person, _structure, _partner = world
    document = build.document(person)
    login(client, agent)
    answer = client.post(f"/documents/{document.id}/delete",
                         data={"csrf_token": csrf_token(client, f"/persons/{person.id}")})
    assert answer.status_code == 302
    assert _documents(app) == []
    from app.core.db import db
    from app.documents.models import DocumentBlob

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentBlob)) == 0


def test_the_database_holds_no_plaintext_of_a_document(app, build, world):
    """Every text and binary column of every table, read back: the marker placed in the PDF is
    nowhere, nor its file name."""
    agent, person, structure, _partner = world
    document = build.document(person, filename="marqueur-nom-de-fichier.pdf")
    build.orientation(person, structure, consent={"given": True, "shared_fields": [],
                                                  "shared_documents": [str(document.id)]})
    from app.core.db import db

    needles = [MARKER.encode(), b"marqueur-nom-de-fichier"]
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns
                       if isinstance(c.type, (sa.LargeBinary, sa.Text, sa.String))]
            if not columns:
                continue
            for row in db.session.execute(sa.select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    raw = bytes(value) if isinstance(value, (bytes, memoryview)) \
                        else str(value or "").encode()
                    if any(needle in raw for needle in needles):
                        found.append(f"{table.name}.{column.name}")
        blobs = db.session.scalar(sa.text("SELECT count(*) FROM document_blobs"))
    assert blobs == 1
    assert found == []


def test_keys_rotate_keeps_documents_readable(app, build, world):
    import base64
    import os

    from app.core import keys
    from app.core.crypto import KeyRing
    from app.core.db import db
    from app.documents import services
    from app.documents.models import Document

    _agent, person, _structure, _partner = world
    document = build.document(person)
    old_ring = app.extensions["passerelle_keyring"]
    new_key = base64.b64encode(os.urandom(32)).decode()
    spec = ",".join([f"rot:{new_key}"] + [f"{k}:{base64.b64encode(v).decode()}"
                                           for k, v in old_ring.keys.items()])
    app.extensions["passerelle_keyring"] = KeyRing.from_settings(
        spec, base64.b64encode(old_ring.index_key).decode())
    try:
        with app.app_context():
            before = db.session.scalar(sa.select(Document.data_key_ct))
            assert not before.startswith("v1:rot:")
            assert keys.count_stale()["documents"] == 1
            keys.rotate()
            after = db.session.scalar(sa.select(Document.data_key_ct))
            assert after.startswith("v1:rot:")
            assert keys.count_stale()["documents"] == 0
            row = db.session.get(Document, document.id)
            assert services.content(row) == pdf_bytes()
    finally:
        app.extensions["passerelle_keyring"] = old_ring


def test_retention_purges_documents_with_the_file(app, build, world):
    from datetime import timedelta

    from app.core.db import db, utcnow
    from app.documents.models import Document, DocumentBlob, OrientationDocument
    from app.retention import services as retention

    agent, person, structure, _partner = world
    document = build.document(person)
    orientation = build.orientation(person, structure, consent={
        "given": True, "shared_fields": [], "shared_documents": [str(document.id)]})
    with app.app_context():
        from app.orientation.models import Orientation

        db.session.execute(sa.update(Orientation).where(Orientation.id == orientation.id)
                           .values(status="cancelled"))
        db.session.commit()
        later = utcnow() + timedelta(days=365 * 4)
        plan = retention.plan(later)
        assert person.id in {row.id for row in plan.persons}
        retention.apply(later)
        db.session.commit()
        for model in (Document, DocumentBlob, OrientationDocument):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_the_rgpd_export_holds_the_documents(app, client, build, world):
    import base64

    agent, person, _structure, _partner = world
    document = build.document(person, filename="cni.pdf")
    record = client.get(f"/api/v1/persons/{person.id}/export",
                        headers=bearer(api_token(client, agent))).get_json()
    [exported] = record["documents"]
    assert exported["id"] == str(document.id) and exported["filename"] == "cni.pdf"
    assert base64.b64decode(exported["content_base64"]) == pdf_bytes()
    login(client, agent)
    page = client.get(f"/persons/{person.id}/export").get_data(as_text=True)
    assert "cni.pdf" in page


def test_a_redirect_the_person_accepted_carries_the_documents(app, build, world):
    agent, person, structure, partner = world
    document = build.document(person)
    orientation = build.orientation(person, structure, consent={
        "given": True, "shared_fields": ["first_name"], "accepts_redirect": True,
        "shared_documents": [str(document.id)]})
    other = build.structure(name="Autre structure")
    other_partner = build.user("partenaire", structure=str(other.id))
    first, second = app.test_client(), app.test_client()
    token = bearer(api_token(first, partner))
    answer = first.post(f"/api/v1/orientations/{orientation.id}/redirect", headers=token,
                        json={"structure_id": str(other.id), "reason": "Mieux placée"})
    assert answer.status_code == 201
    new_id = answer.get_json()["id"]
    # the old structure keeps a tombstone: no more document
    assert first.get(f"/api/v1/documents/{document.id}/content", headers=token).status_code == 404
    other_token = bearer(api_token(second, other_partner))
    assert second.get(f"/api/v1/documents/{document.id}/content",
                      headers=other_token).status_code == 200
    assert [d["id"] for d in second.get(f"/api/v1/orientations/{new_id}/documents",
                                        headers=other_token).get_json()] == [str(document.id)]


def test_a_redirect_the_person_did_not_accept_shares_no_document_until_confirmed(
        app, client, build, world):
    agent, person, structure, partner = world
    document = build.document(person)
    orientation = build.orientation(person, structure, consent={
        "given": True, "shared_fields": ["first_name"], "shared_documents": [str(document.id)]})
    other = build.structure(name="Autre structure")
    other_partner = build.user("partenaire", structure=str(other.id))
    first, second = app.test_client(), app.test_client()
    new_id = first.post(f"/api/v1/orientations/{orientation.id}/redirect",
                        headers=bearer(api_token(first, partner)),
                        json={"structure_id": str(other.id), "reason": "x"}).get_json()["id"]
    other_token = bearer(api_token(second, other_partner))
    assert second.get(f"/api/v1/documents/{document.id}/content",
                      headers=other_token).status_code == 404
    # the sender asks the person again, who now shares the document
    answer = client.post(f"/api/v1/orientations/{new_id}/consent",
                         headers=bearer(api_token(client, agent)),
                         json={"given": True, "shared_fields": [],
                               "shared_documents": [str(document.id)]})
    assert answer.status_code == 200, answer.get_json()
    assert second.get(f"/api/v1/documents/{document.id}/content",
                      headers=other_token).status_code == 200
