"""An administrator turns a structure's contact address into a partner account; the history
follows (issue 12, item 4). Since review finding 4 of issue 23 the administrator no longer
chooses a temporary password: the contact chooses theirs through a one-time link."""

from __future__ import annotations

import re
from types import SimpleNamespace

import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form
from tests.views import test_contact_links as links
from tests.views.test_contact_links import SECRET_NAME, _code, _link, _messages, _text

sent = links.sent  # the fixture: an orientation to a structure with only a contact address

CHOSEN = "une phrase que je suis seule a connaitre"


def _answer_through_the_link(app, client, token: str) -> str:
    """The contact gives the code, accepts the charter and acknowledges; returns the page."""
    client.post(f"/contact/{token}/code",
                data={"csrf_token": csrf_token(client, f"/contact/{token}")})
    client.post(f"/contact/{token}", data={"csrf_token": csrf_token(client, f"/contact/{token}"),
                                           "code": _code(app)})
    client.post(f"/contact/{token}/charter",
                data={"csrf_token": csrf_token(client, f"/contact/{token}/orientation")})
    page = _text(client.get(f"/contact/{token}/orientation"))
    client.post(f"/contact/{token}/act/acknowledge",
                data={"csrf_token": csrf_token(client, f"/contact/{token}/orientation")})
    return page


def _admin(app, build):
    client = app.test_client()
    login(client, build.user("admin"))
    return client


def _convert(admin, structure_id, **data):
    path = f"/admin/structures/{structure_id}/contact-account"
    return post_form(admin, path, {"display_name": "", **data}, token_from=path)


def _users_with(app, email: str):
    from app.auth.models import User
    from app.core.db import db

    with app.app_context():
        return db.session.scalars(sa.select(User).where(User.email == email)).all()


def test_the_contact_page_invites_to_ask_the_sender_for_an_account(app, client, sent):
    agent, _structure, _person, _orientation = sent
    page = _answer_through_the_link(app, client, _link(app))
    assert "Demandez un compte Passerelle au service qui vous a adressé celle-ci" in page
    from app.auth.models import User
    from app.core.db import db
    from app.directory.models import Site

    with app.app_context():
        site = db.session.get(Site, db.session.get(User, agent.id).site_id)
        assert site.name in page


def test_an_admin_turns_the_contact_into_a_partner_and_the_history_follows(app, client, build,
                                                                          sent):
    _agent, structure, _person, orientation = sent
    token = _link(app)
    _answer_through_the_link(app, client, token)
    admin = _admin(app, build)

    edit = _text(admin.get(f"/admin/structures/{structure.id}"))
    assert "Créer un compte pour le contact" in edit
    form = _text(admin.get(f"/admin/structures/{structure.id}/contact-account"))
    # No password to choose (review finding 4a): the contact chooses it through a link.
    assert "asso@village.test" in form and 'type="password"' not in form

    done = _convert(admin, structure.id)
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/admin/structures/{structure.id}/referents")
    referents = _text(admin.get(done.headers["Location"]))
    assert "Le compte du contact est créé" in referents and "Association du village" in referents
    # Nothing left to convert: the action is gone.
    assert "Créer un compte pour le contact" not in _text(
        admin.get(f"/admin/structures/{structure.id}"))

    [user] = _users_with(app, "asso@village.test")
    assert user.role == "partenaire" and user.structure_id == structure.id
    assert not user.must_change_password and user.display_name == "Association du village"
    from app.core.audit import AuditEntry
    from app.core.db import db
    from app.orientation.models import ContactLink, StructureReferent

    with app.app_context():
        [designated] = db.session.scalars(sa.select(StructureReferent).where(
            StructureReferent.structure_id == structure.id)).all()
        assert designated.user_id == user.id and designated.domain is None
        assert db.session.scalars(sa.select(ContactLink).where(
            ContactLink.revoked_at.is_(None))).all() == []
        [entry] = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "structure.contact_converted")).all()
        assert entry.object_type == "structure" and entry.object_id == str(structure.id)
        assert entry.details_dict() == {"user": str(user.id), "structure": str(structure.id)}
        assert entry.actor_kind == "user"
        revoked = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "orientation.contact_link_revoked")).all()
        assert [r.object_id for r in revoked] == [str(orientation.id)]
    # The link no longer opens anything: the account is used from now on.
    assert app.test_client().get(f"/contact/{token}").status_code == 404

    # The new partner chooses their password through the link sent to the contact address,
    # logs in, accepts the charter, and finds the orientation answered through the link.
    [(recipient, _subject, body)] = _messages(app, "auth.set_password")
    assert recipient == "asso@village.test"
    set_password = re.search(r"http://passerelle\.test(/account/set-password/\S+)", body).group(1)
    partner = app.test_client()
    post_form(partner, set_password, {"new_password": CHOSEN, "confirm_password": CHOSEN},
              token_from=set_password)
    assert login(partner, SimpleNamespace(email="asso@village.test", password=CHOSEN)
                 ).headers["Location"] == "/"
    post_form(partner, "/charter/accept", token_from="/charter")
    inbox = partner.get("/inbox")
    assert inbox.status_code == 200
    assert f"/orientations/{orientation.id}" in _text(inbox) and SECRET_NAME in _text(inbox)
    shown = _text(partner.get(f"/orientations/{orientation.id}"))
    assert "contact de la structure Association du village (asso@village.test)" in shown
    assert "Confidentielle" not in shown  # still only the shared fields


def test_new_orientations_then_reach_the_account_not_a_link(app, build, sent):
    agent, structure, person, _orientation = sent
    _convert(_admin(app, build), structure.id)
    assert len(_messages(app, "orientation.contact_link")) == 1
    build.orientation(person, structure, agent)
    assert len(_messages(app, "orientation.contact_link")) == 1


def test_nothing_to_convert_is_said_clearly(app, build):
    admin = _admin(app, build)
    bare = build.structure(name="Sans adresse")
    path = f"/admin/structures/{bare.id}/contact-account"
    page = _text(admin.get(path))
    assert "n'a pas d'adresse électronique de contact" in page and 'name="password"' not in page
    assert "Créer un compte pour le contact" not in _text(admin.get(f"/admin/structures/{bare.id}"))
    refused = post_form(admin, path, {"display_name": ""}, token_from="/admin/structures")
    assert refused.status_code == 409
    assert "n'a pas d'adresse électronique de contact" in _text(refused)

    with_account = build.structure(name="Déjà équipée", contact_email="accueil@equipee.test")
    build.user("partenaire", structure=str(with_account.id), email="accueil@equipee.test")
    answer = _convert(admin, with_account.id)
    assert answer.status_code == 409 and "déjà un compte" in _text(answer)

    taken = build.structure(name="Adresse prise", contact_email="agent@cms.test")
    build.user("accueil", email="agent@cms.test")
    answer = _convert(admin, taken.id)
    assert answer.status_code == 409 and "Un compte existe déjà" in _text(answer)
    assert len(_users_with(app, "agent@cms.test")) == 1


def test_a_refused_conversion_changes_nothing(app, build, sent):
    """The temporary password (and its refusal when too short) is gone; a refusal of the form
    (a display name too long) still leaves the structure, its links and the outbox as they
    were."""
    _agent, structure, _person, _orientation = sent
    token = _link(app)
    answer = _convert(_admin(app, build), structure.id, display_name="x" * 121)
    assert answer.status_code == 200 and "120" in _text(answer)
    assert _users_with(app, "asso@village.test") == []
    assert _messages(app, "auth.set_password") == []
    assert app.test_client().get(f"/contact/{token}").status_code == 200


def test_only_an_admin_with_a_csrf_token_converts(app, build, sent):
    _agent, structure, _person, _orientation = sent
    path = f"/admin/structures/{structure.id}/contact-account"
    for role in ("accueil", "partenaire", "coordinateur", "referent_parcours"):
        client = app.test_client()
        login(client, build.user(role))
        assert client.get(path).status_code == 403
        assert post_form(client, path, {"display_name": ""}).status_code == 403
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    admin = _admin(app, build)
    no_token = admin.post(path, data={"display_name": ""})
    assert no_token.status_code in (200, 400)
    assert _users_with(app, "asso@village.test") == []
    unknown = "/admin/structures/00000000-0000-4000-8000-000000000000/contact-account"
    assert admin.get(unknown).status_code == 404
