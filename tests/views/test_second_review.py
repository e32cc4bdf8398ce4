"""Second security review of 2026-12-04 (SECURITY.md): each finding, pages and API, on SQLite
and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import sqlalchemy as sa

from tests.helpers import api_token, bearer, csrf_token, login, post_form
from tests.views.test_contact_links import _code, _link, sent  # noqa: F401  (fixture)


def _form_post(client, path, data):
    token = csrf_token(client, path)
    return client.post(path, data={**data, "csrf_token": token})


def _audit(app, action: str):
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return [(e.actor_id, e.person_id, e.details_dict()) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


# -- 1. the duplicate warning: paced, audited, narrowed to the agent's scope ---------------------
def test_duplicate_warning_hides_a_file_of_another_site_known_by_name_alone(app, client, build):
    elsewhere = build.user("accueil")  # another site
    build.person(elsewhere, first_name="Awa", last_name="Konaté", birth_date="1991-03-04")
    agent = build.user("accueil")
    login(client, agent)
    answer = _form_post(client, "/persons/new", {"first_name": "Awa", "last_name": "Konate"})
    text = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert "Un dossier à ce nom existe sur un autre site : utilisez la recherche." in text
    assert "KONATÉ" not in text and "1991" not in text and "connu(e) sur un autre site" not in text
    [(actor, _person, details)] = _audit(app, "person.search")
    assert actor == agent.id and details["by"] == "duplicate" and "Awa" not in str(details)
    # The agent may still create the file once warned.
    token = re.search(r'name="confirm_duplicate"[^>]*value="([^"]*)"', text).group(1)
    created = _form_post(client, "/persons/new", {"first_name": "Awa", "last_name": "Konate",
                                                  "confirm_duplicate": token})
    assert created.status_code == 302


def test_duplicate_warning_shows_another_sites_file_when_the_birth_date_matches(client, build):
    elsewhere = build.user("accueil")
    build.person(elsewhere, first_name="Awa", last_name="Konaté", birth_date="1991-03-04")
    login(client, build.user("accueil"))
    answer = _form_post(client, "/persons/new", {"first_name": "Awa", "last_name": "Konate",
                                                 "birth_date": "1991-03-04"})
    text = html.unescape(answer.get_data(as_text=True))
    assert "KONATÉ" in text and "connu(e) sur un autre site" in text
    assert "utilisez la recherche" not in text


def test_duplicate_warning_counts_as_a_search(app, client, build, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 2)
    login(client, build.user("accueil"))
    statuses = [_form_post(client, "/persons/new", {"first_name": "Awa",
                                                    "last_name": f"Nom{letter}"}).status_code
                for letter in "abc"]
    # Over the limit, the file is still created (the welcome is unconditional), unchecked.
    assert statuses == [302, 302, 302]
    assert [d["by"] for _a, _p, d in _audit(app, "person.search_refused")] == ["name"]
    assert [d["by"] for _a, _p, d in _audit(app, "person.search")] == ["duplicate"] * 2


def test_api_creation_does_not_spend_the_search_limit(app, client, build, monkeypatch):
    """An API creation always creates the file it checks (its own trail): its duplicate lookup
    is audited but does not count against the search pace, so creating files never leads to a
    429, neither on creation nor on the searches that follow."""
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 1)
    h = bearer(api_token(client, build.user("accueil")))
    answers = [client.post("/api/v1/persons", headers=h,
                           json={"first_name": "Awa", "last_name": f"Nom{letter}"})
               for letter in "abc"]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert all(a.get_json()["duplicates_checked"] for a in answers)
    assert client.get("/api/v1/persons?q=Noma", headers=h).status_code == 200
    assert [d["by"] for _a, _p, d in _audit(app, "person.search")][:3] == ["duplicate"] * 3


def test_api_possible_duplicates_hide_another_sites_file(client, build):
    elsewhere = build.user("accueil")
    other = build.person(elsewhere, first_name="Awa", last_name="Konaté",
                         birth_date="1991-03-04")
    h = bearer(api_token(client, build.user("accueil")))
    by_name = client.post("/api/v1/persons", headers=h,
                          json={"first_name": "Awa", "last_name": "Konate"}).get_json()
    assert by_name["possible_duplicates"] == [] and by_name["possible_duplicates_elsewhere"]
    same = client.post("/api/v1/persons", headers=h, json={
        "first_name": "Awa", "last_name": "Konate", "birth_date": "1991-03-04"}).get_json()
    # (the file just created at the agent's site, no birth date, is listed whole)
    assert {"id": str(other.id), "accessible": False, "reception_number": None} in \
        same["possible_duplicates"]
    assert other.reception_number not in str(same)


# -- 4. a very long query ---------------------------------------------------------------------
def test_api_search_refuses_a_query_of_3000_letters(client, build):
    h = bearer(api_token(client, build.user("accueil")))
    answer = client.get("/api/v1/persons?q=" + "a" * 3000, headers=h)
    assert answer.status_code == 422


def test_search_of_many_long_words_runs(app, client, build):
    from app.accueil import search

    agent = build.user("accueil")
    build.person(agent, first_name="Marie", last_name="Lefebvre")
    assert search.one_slip_away("a" * 31) == set() and search.one_slip_away("lefebre")
    h = bearer(api_token(client, agent))
    q = " ".join(w * 28 for w in "bcdfghjklmnp") + " lefebre"  # 12 words of 28 letters, 200
    answer = client.get("/api/v1/persons", query_string={"q": q[:200]}, headers=h)
    assert answer.status_code == 200
    with app.test_request_context():
        from app.auth.models import User
        from app.core.db import db

        user = db.session.get(User, agent.id)
        assert search.find_persons(user, "x" * 500 + " " + "lefebre " * 3).hits == []


# -- 2. a contact link acts only while the orientation shares the person -----------------------
def test_contact_link_records_no_appointment_while_the_consent_is_awaited(app, client, sent):  # noqa: F811
    from app.appointments.models import Appointment
    from app.core.db import db
    from app.orientation.models import Orientation

    _agent, _structure, _person, orientation = sent
    token = _link(app)
    client.post(f"/contact/{token}/code",
                data={"csrf_token": csrf_token(client, f"/contact/{token}")})
    client.post(f"/contact/{token}", data={"csrf_token": csrf_token(client, f"/contact/{token}"),
                                           "code": _code(app)})
    page = f"/contact/{token}/orientation"
    client.post(f"/contact/{token}/charter", data={"csrf_token": csrf_token(client, page)})
    client.post(f"/contact/{token}/act/acknowledge", data={"csrf_token": csrf_token(client, page)})
    soon = (date.today() + timedelta(days=7)).isoformat()
    form = {"csrf_token": csrf_token(client, page), "scheduled_on": soon,
            "place_choice": "phone"}
    with app.app_context():  # as a redirect waiting for the person's consent
        db.session.get(Orientation, orientation.id).consent_given = False
        db.session.commit()
    answer = client.post(f"/contact/{token}/appointments", data=form)
    assert answer.status_code == 302
    for path in (f"/contact/{token}/appointments/end",
                 f"/contact/{token}/appointments/{orientation.id}/attendance"):
        assert client.post(path, data={**form, "decision": "close",
                                       "attendance": "came"}).status_code in (302, 404)
    with app.app_context():
        assert db.session.scalars(sa.select(Appointment)).all() == []
        assert db.session.get(Orientation, orientation.id).status == "acknowledged"
    assert [d["action"] for _a, _p, d in _audit(app, "orientation.contact_link_used")] == \
        ["acknowledge"]
    with app.app_context():  # the consent given, the same form records the appointment
        db.session.get(Orientation, orientation.id).consent_given = True
        db.session.commit()
    assert client.post(f"/contact/{token}/appointments", data=form).status_code == 302
    with app.app_context():
        assert len(db.session.scalars(sa.select(Appointment)).all()) == 1


# -- 3. a download named in any script --------------------------------------------------------
def test_download_names_outside_latin1_make_a_latin1_header(app, client, build):
    from urllib.parse import unquote

    agent = build.user("accueil")
    person = build.person(agent)
    names = ["l’attestation d’œuvre.pdf", "شهادة.pdf", "Ünïcode été.pdf", "plain.pdf"]
    documents = [build.document(person, filename=name) for name in names]
    login(client, agent)
    h = bearer(api_token(client, agent))
    for document, name in zip(documents, names, strict=True):
        for path in (f"/documents/{document.id}/download",
                     f"/api/v1/documents/{document.id}/content"):
            answer = client.get(path, headers=h if path.startswith("/api") else None)
            assert answer.status_code == 200, path
            value = answer.headers["Content-Disposition"]
            value.encode("latin-1")  # what gunicorn requires of a header
            assert value.startswith("attachment; filename=")
            if name == "plain.pdf":
                assert value == "attachment; filename=plain.pdf"
            else:
                encoded = value.split("filename*=UTF-8''", 1)[1]
                assert unquote(encoded) == name and value.isascii()
    from app.documents.presenters import disposition_names

    assert disposition_names("شهادة.pdf", "document-1") == {
        "filename": "document-1.pdf", "filename*": "UTF-8''%D8%B4%D9%87%D8%A7%D8%AF%D8%A9.pdf"}
    assert disposition_names("l’œuvre.pdf", "d")["filename"] == "l'oeuvre.pdf"


# -- 5. the API's lists of documents are audited ----------------------------------------------
def test_api_document_lists_are_audited_with_the_person(app, client, build):
    agent = build.user("accueil")
    person = build.person(agent)
    build.document(person)
    orientation = build.orientation(person, build.structure())
    h = bearer(api_token(client, agent))
    assert len(client.get(f"/api/v1/persons/{person.id}/documents", headers=h).get_json()) == 1
    assert client.get(f"/api/v1/orientations/{orientation.id}/documents",
                      headers=h).status_code == 200
    assert [(actor, person_id) for actor, person_id, _d in _audit(app, "document.list")] == \
        [(agent.id, person.id)] * 2


# -- 6. only who may list the person's documents shares them ----------------------------------
def test_a_sender_without_the_whole_file_cannot_list_or_share_the_documents(app, client, build):
    from app.auth.models import User
    from app.core.db import db
    from app.orientation.models import Orientation

    agent = build.user("accueil")
    person = build.person(agent)
    document = build.document(person, filename="avis-imposition-secret.pdf")
    orientation = build.orientation(person, build.structure())
    sender = build.user("accueil")  # another site: sent it once, while breaking the glass
    with app.app_context():
        row = db.session.get(Orientation, orientation.id)
        row.sender_site_id = db.session.get(User, sender.id).site_id
        row.consent_given = False  # a redirect the person had not accepted
        db.session.commit()
    login(client, sender)
    page = html.unescape(client.get(f"/orientations/{orientation.id}").get_data(as_text=True))
    assert "Confirmer l'accord de la personne" in page
    assert "avis-imposition-secret" not in page and str(document.id) not in page
    h = bearer(api_token(client, sender))
    consent = {"given": True, "shared_fields": ["first_name"],
               "shared_documents": [str(document.id)]}
    refused = client.post(f"/api/v1/orientations/{orientation.id}/consent", headers=h,
                          json=consent)
    assert refused.status_code == 422
    assert "consent.shared_documents" in refused.get_json()["error"]["fields"]
    # Without documents, the consent is confirmed; the file's own agent shares them.
    confirmed = client.post(f"/api/v1/orientations/{orientation.id}/consent", headers=h,
                            json={**consent, "shared_documents": []})
    assert confirmed.status_code == 200, confirmed.get_json()
    shared = build.orientation(person, build.structure(),
                               consent={"given": True, "shared_fields": ["first_name"],
                                        "shared_documents": [str(document.id)]})
    assert shared.id


# -- 7. no file name in the flash (session cookie) nor in the wrong-extension message ------------
def test_the_uploaded_name_is_neither_in_the_session_cookie_nor_echoed(app, client, build):
    import io

    from tests.documents_samples import image_bytes, pdf_bytes

    agent = build.user("accueil")
    person = build.person(agent)
    login(client, agent)
    path = f"/persons/{person.id}/documents/new"
    added = client.post(path, data={"csrf_token": csrf_token(client, path), "kind": "identity",
                                    "file": (io.BytesIO(pdf_bytes()), "Zoubida-Secrète.pdf")},
                        content_type="multipart/form-data")
    assert added.status_code == 302
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert "Zoubida" not in str(session) and "ajouté au dossier" in str(session)
    h = bearer(api_token(client, agent))
    wrong = client.post(f"/api/v1/persons/{person.id}/documents", headers=h,
                        data={"kind": "identity",
                              "file": (io.BytesIO(image_bytes("PNG")), "Zoubida-Secrète.pdf")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422 and "Zoubida" not in wrong.get_data(as_text=True)
    assert "n'est pas un PDF" in str(wrong.get_json()["error"]["fields"]["file"])


# -- 8. the partner's inbox search keeps the search's pace -------------------------------------
def test_the_inbox_search_is_paced_like_the_person_search(app, client, build, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_SEARCH_MAX_PER_MINUTE", 2)
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Nathalie", last_name="Lefebvre")
    orientation = build.orientation(person, structure)
    login(client, partner)
    answers = [client.post("/inbox", data={"csrf_token": csrf_token(client, "/inbox"), "q": q})
               for q in ("lefebvre", person.reception_number, "nathalie")]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = html.unescape(answers[-1].get_data(as_text=True))
    assert "patientez une minute" in refused and f"/orientations/{orientation.id}" not in refused
    assert [d for _a, _p, d in _audit(app, "person.search_refused")] == \
        [{"by": "name", "limit": "minute"}]


# -- 9. a silent parcours' référent is reminded once a day -------------------------------------
def test_the_referent_of_a_silent_parcours_is_reminded_once_a_day(app, client, build):
    from app.core.ratelimit import RateLimitHit
    from app.notifications.models import OutboxMessage
    from tests.views.test_silent_parcours_actions import _silent

    parcours, referent = _silent(app, build)
    login(client, build.user("coordinateur", territory="Valence"))
    path = f"/pilotage/parcours/{parcours.id}/remind"
    for _click in range(3):
        assert post_form(client, path, token_from="/pilotage/stalled").status_code == 302
    page = html.unescape(client.get("/pilotage/stalled").get_data(as_text=True))
    assert "déjà été relancé dans les dernières 24 heures" in page

    def reminders():
        from app.core.db import db

        with app.app_context():
            return db.session.scalars(sa.select(OutboxMessage.id).where(
                OutboxMessage.kind == "parcours.notice",
                OutboxMessage.dedupe_key.like("parcours.remind:%"))).all()

    assert len(reminders()) == 1 and len(_audit(app, "parcours.reminder")) == 1
    with app.app_context():  # a day later, a new reminder goes
        from app.core.db import db, utcnow

        for hit in db.session.scalars(sa.select(RateLimitHit)):
            hit.at = utcnow() - timedelta(days=1, minutes=1)
        db.session.commit()
    post_form(client, path, token_from="/pilotage/stalled")
    assert len(reminders()) == 2
