"""Plain test-data builders and HTTP helpers, so that tests stay short.

Builders write through the services in a short application context of their own and return
plain namespaces (ids, e-mails, passwords), never live ORM objects: tests then talk to the
application through its client only, as a user would.
"""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace

from flask import Flask

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Builder:
    def __init__(self, app: Flask):
        self.app = app

    def _commit(self, fn):
        from app.core.db import db

        with self.app.app_context():
            result = fn()
            db.session.commit()
            return result

    def site(self, **kw) -> SimpleNamespace:
        from app.directory.services import create_site

        n = next(_counter)
        data = {"name": f"Site {n}", "kind": "cms", "territory": "Valence", **kw}
        return self._commit(lambda: _ns(create_site(data), "name", "territory", "kind"))

    def structure(self, **kw) -> SimpleNamespace:
        from app.directory.services import create_structure

        n = next(_counter)
        data = {"name": f"Structure {n}", "kind": "association",
                "domains": ["logement", "budget"], "territories": ["Valence"], **kw}
        return self._commit(lambda: _ns(create_structure(data), "name"))

    def user(self, role: str = "accueil", *, charter: bool = True, password: str = PASSWORD,
             **kw) -> SimpleNamespace:
        from app.auth.services import create_user
        from app.charter import services as charter_services

        n = next(_counter)
        data = {"email": f"{role}.{n}@test.passerelle", "role": role, "password": password,
                "display_name": f"{role.title()} {n}", **kw}
        if role in ("accueil", "referent_parcours") and "site" not in kw and "structure" not in kw:
            data["site"] = str(self.site().id)
        if role == "partenaire" and "structure" not in kw:
            data["structure"] = str(self.structure().id)
        if role == "coordinateur" and "territory" not in kw:
            data["territory"] = "Valence"

        def create():
            user = create_user(data)
            if charter:
                from app.core.db import db

                db.session.flush()
                charter_services.accept(user, charter_services.current_version().version)
            return SimpleNamespace(id=user.id, email=user.email, password=password, role=role,
                                   site_id=user.site_id, structure_id=user.structure_id,
                                   territory=user.territory, display_name=user.display_name)

        return self._commit(create)


    def person(self, agent=None, **kw) -> SimpleNamespace:
        """A person created by ``agent`` (an accueil user namespace) at the agent's site."""
        from app.accueil.persons import create_person
        from app.auth.models import User
        from app.core.db import db

        agent = agent or self.user("accueil")
        n = next(_counter)
        data = kw if kw.get("anonymous") else {"first_name": "Marie", "last_name": f"Test{n}", **kw}

        def create():
            actor = db.session.get(User, agent.id)
            person = create_person(data, actor, actor.site_id)
            return SimpleNamespace(id=person.id, reception_number=person.reception_number,
                                   agent=agent, **{k: v for k, v in data.items()})

        return self._commit(create)

    def visit(self, person, agent=None, **kw) -> SimpleNamespace:
        from app.accueil.models import Person
        from app.accueil.visits import record_visit
        from app.auth.models import User
        from app.core.db import db

        agent = agent or person.agent
        data = {"channel": "in_person", "outcome": "pending",
                "needs": [{"domain": "logement", "urgency": "urgent"}], **kw}

        def create():
            visit = record_visit(db.session.get(Person, person.id), data,
                                 db.session.get(User, agent.id))
            return SimpleNamespace(id=visit.id, person_id=person.id, site_id=visit.site_id)

        return self._commit(create)


    def orientation(self, person, structure, agent=None, **kw) -> SimpleNamespace:
        """An orientation of ``person`` to ``structure`` sent by ``agent`` (default: its creator)."""
        from app.accueil.models import Person
        from app.auth.models import User
        from app.core.db import db
        from app.orientation.services import send_orientation

        agent = agent or person.agent
        data = {"structure_id": str(structure.id), "domain": "logement",
                "motive": "Menace d'expulsion, besoin d'un accompagnement",
                "consent": {"given": True, "shared_fields": ["first_name", "last_name", "phone"],
                            "purpose": "Accompagnement logement"}, **kw}

        def create():
            orientation = send_orientation(db.session.get(Person, person.id), data,
                                           db.session.get(User, agent.id))
            return SimpleNamespace(id=orientation.id, person_id=person.id,
                                   structure_id=structure.id,
                                   acknowledge_due=orientation.acknowledge_due)

        return self._commit(create)


    def parcours(self, person, referent, members=(), opener=None, **kw) -> SimpleNamespace:
        from app.accueil.models import Person
        from app.auth.models import User
        from app.core.db import db
        from app.referents.services import open_parcours

        opener = opener or person.agent
        data = {"referent_id": str(referent.id), "member_ids": [str(m.id) for m in members],
                "members_reason": "Partenaire déjà présent auprès de la personne",
                "goals": "Retrouver un logement stable", "consent": {"given": True}, **kw}

        def create():
            parcours = open_parcours(db.session.get(Person, person.id), data,
                                     db.session.get(User, opener.id))
            return SimpleNamespace(id=parcours.id, person_id=person.id)

        return self._commit(create)


    def document(self, person, agent=None, *, data: bytes | None = None,
                 filename: str = "piece-identite.pdf", kind: str = "identity",
                 expires_on=None) -> SimpleNamespace:
        """A document attached to ``person`` by ``agent`` (default: its creator)."""
        from app.accueil.models import Person
        from app.auth.models import User
        from app.core.db import db
        from app.documents.services import attach
        from tests.documents_samples import pdf_bytes

        agent = agent or person.agent

        def create():
            document = attach(db.session.get(Person, person.id), filename=filename,
                              data=data if data is not None else pdf_bytes(), kind=kind,
                              expires_on=expires_on, actor=db.session.get(User, agent.id))
            return SimpleNamespace(id=document.id, person_id=person.id,
                                   filename=document.filename,
                                   content_type=document.content_type)

        return self._commit(create)


def _ns(obj, *names) -> SimpleNamespace:
    return SimpleNamespace(id=obj.id, **{name: getattr(obj, name) for name in names})


# -- pages ------------------------------------------------------------------------------------
def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, user, password: str | None = None):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": user.email, "password": password or user.password,
                                       "csrf_token": token})


def post_form(client, path: str, data: dict | None = None, token_from: str = "/"):
    """POST a form the way a browser does, with the session's CSRF token."""
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf_token(client, token_from))
    return client.post(path, data=payload)


# -- API --------------------------------------------------------------------------------------
def api_token(client, user, password: str | None = None) -> str:
    answer = client.post("/api/v1/auth/token",
                         json={"email": user.email, "password": password or user.password})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def search_persons(client, q: str, birth_date: str = "", page: int | None = None):
    """The person search page, sent by POST as the browser does (names stay out of URLs)."""
    data = {"q": q, "birth_date": birth_date}
    if page is not None:
        data["page"] = str(page)
    answer = post_form(client, "/persons/search", data, token_from="/persons/search")
    if answer.status_code == 303:  # post/redirect/get: the results page is a GET
        return client.get(answer.headers["Location"])
    return answer
