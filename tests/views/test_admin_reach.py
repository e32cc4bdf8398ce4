"""Review finding 4 of issue 23: the administrator does not reach person data.

(a) Accounts that reach person data: the administrator never knows their password
(tests/views/test_temporary_password.py), and creating, moving or reactivating one is told to
the coordinators of its territories and audited; a role never changes.
(b) A structure's contact address: a new address set by an administrator is confirmed from that
address and announced to the old one; until then, no contact link goes to the new address.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form

NEW = "boite.de.ladmin@example.test"


def _admin(app, build):
    client = app.test_client()
    login(client, build.user("admin", display_name="Admin Fonctionnel"))
    return client


def _messages(app, kind: str):
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        return [(m.recipient, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.created_at))]


def _audit(app, action: str):
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return [(e.object_id, e.actor_kind, e.details_dict()) for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


def _user(app, email: str):
    from app.auth.models import User
    from app.core.db import db

    with app.app_context():
        return db.session.scalars(sa.select(User).where(User.email == email)).one()


# -- (a) accounts that reach person data ---------------------------------------------------------
def _create(admin, **data):
    return post_form(admin, "/admin/users/new", {
        "display_name": "Nouvel Agent", "site": "", "structure": "", "territory": "", **data},
        token_from="/admin/users/new")


def test_creating_an_accueil_account_is_told_to_the_territorys_coordinators(app, build):
    admin = _admin(app, build)
    site = build.site(territory="Valence", name="CMS Nord")
    valence = build.user("coordinateur", territory="Valence")
    diois = build.user("coordinateur", territory="Diois")
    answer = _create(admin, email="agent.neuf@test.passerelle", role="accueil", site=str(site.id))
    assert answer.status_code == 302

    told = _messages(app, "user.person_data_access")
    assert [recipient for recipient, _body in told] == [valence.email]
    body = told[0][1]
    assert "agent.neuf@test.passerelle" in body and "Agent d'accueil" in body
    assert "CMS Nord" in body and "Admin Fonctionnel" in body and "a été créé" in body
    assert diois.email not in [r for r, _b in told]
    user = _user(app, "agent.neuf@test.passerelle")
    assert _audit(app, "user.person_data_access") == [
        (str(user.id), "user", {"reason": "create", "role": "accueil", "coordinators_told": 1})]


def test_a_partner_account_is_told_to_every_territory_of_its_structure(app, build):
    admin = _admin(app, build)
    structure = build.structure(territories=["Valence", "Diois"])
    valence = build.user("coordinateur", territory="Valence")
    diois = build.user("coordinateur", territory="Diois")
    build.user("coordinateur", territory="Royans")
    _create(admin, email="partenaire.neuf@test.passerelle", role="partenaire",
            structure=str(structure.id))
    assert sorted(r for r, _b in _messages(app, "user.person_data_access")) == \
        sorted([valence.email, diois.email])


def test_an_account_without_person_data_is_not_told(app, build):
    admin = _admin(app, build)
    build.user("coordinateur", territory="Valence")
    assert _create(admin, email="admin.deux@test.passerelle", role="admin").status_code == 302
    assert _messages(app, "user.person_data_access") == []
    assert len(_messages(app, "auth.set_password")) == 1  # the link all the same


def test_moving_an_account_to_another_territory_is_told_to_both(app, build):
    admin = _admin(app, build)
    here, there = build.site(territory="Valence"), build.site(territory="Diois")
    agent = build.user("accueil", site=str(here.id))
    valence = build.user("coordinateur", territory="Valence")
    diois = build.user("coordinateur", territory="Diois")
    path = f"/admin/users/{agent.id}"
    # Renaming alone is not told.
    post_form(admin, path, {"display_name": "Nouveau nom", "site": str(here.id), "structure": "",
                            "territory": ""}, token_from=path)
    assert _messages(app, "user.person_data_access") == []
    # The role is not a field of the edit form: a posted one is ignored.
    answer = post_form(admin, path, {"display_name": "Nouveau nom", "site": str(there.id),
                                     "structure": "", "territory": "", "role": "coordinateur"},
                       token_from=path)
    assert answer.status_code == 302
    assert _user(app, agent.email).role == "accueil"
    told = _messages(app, "user.person_data_access")
    assert sorted(r for r, _b in told) == sorted([valence.email, diois.email])
    assert "rattaché à un autre site" in told[0][1]
    assert [d["reason"] for _o, _k, d in _audit(app, "user.person_data_access")] == ["reattach"]


def test_reactivating_an_account_is_told(app, build):
    admin = _admin(app, build)
    agent = build.user("accueil")
    coordinator = build.user("coordinateur", territory="Valence")
    post_form(admin, f"/admin/users/{agent.id}/deactivate", {"confirmed": "1"},
              token_from="/admin/users")
    assert _messages(app, "user.person_data_access") == []
    post_form(admin, f"/admin/users/{agent.id}/reactivate", token_from="/admin/users")
    [(recipient, body)] = _messages(app, "user.person_data_access")
    assert recipient == coordinator.email and "a été réactivé" in body


# -- (b) a structure's contact address -----------------------------------------------------------
def _structure_form(structure, **changes):
    return {"name": structure.name, "kind": "association", "domains": ["logement"],
            "territories": "Valence", "address": "", "phone": "", "contact_email": "",
            "head_contact_email": "", "opening_hours": "", "ack_delay": "",
            "take_charge_delay": "", **changes}


def _confirm_link(app, email: str) -> str:
    bodies = [b for r, b in _messages(app, "structure.contact_confirm") if r == email]
    return re.search(r"http://passerelle\.test(/structures/contact-address/\S+)",
                     bodies[-1]).group(1)


def _contact_email(app, structure_id):
    from app.core.db import db
    from app.directory.models import Structure

    with app.app_context():
        return db.session.get(Structure, structure_id).contact_email


def test_a_new_contact_address_gets_no_link_until_it_confirms_itself(app, build):
    agent = build.user("accueil")
    structure = build.structure(name="Association du village", contact_email="asso@village.test",
                                domains=["logement"])
    person = build.person(agent)
    admin = _admin(app, build)
    path = f"/admin/structures/{structure.id}"
    answer = post_form(admin, path, _structure_form(structure, contact_email=NEW),
                       token_from=path)
    assert answer.status_code == 302
    assert "recevra un lien pour se confirmer" in admin.get(answer.headers["Location"]).get_data(
        as_text=True)
    assert _contact_email(app, structure.id) == "asso@village.test"
    page = admin.get(path).get_data(as_text=True)
    assert "attend sa confirmation" in page and NEW in page

    # The old address is told, the new one asked to confirm; nothing else reaches the new one.
    [(old, notice)] = _messages(app, "structure.contact_change_notice")
    assert old == "asso@village.test" and NEW in notice
    # The next orientation's contact link goes to the confirmed address.
    build.orientation(person, structure, agent)
    links = _messages(app, "orientation.contact_link")
    assert [r for r, _b in links] == ["asso@village.test"]
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        to_new = [m.kind for m in db.session.scalars(sa.select(OutboxMessage))
                  if m.recipient == NEW]
    assert to_new == ["structure.contact_confirm"]

    # Opening the link changes nothing (mail scanners open links); the button confirms.
    link = _confirm_link(app, NEW)
    holder = app.test_client()
    shown = holder.get(link)
    assert shown.status_code == 200 and "Association du village" in shown.get_data(as_text=True)
    assert _contact_email(app, structure.id) == "asso@village.test"
    done = holder.post(link, data={"csrf_token": csrf_token(holder, link)})
    assert done.status_code == 200 and "désormais l'adresse de contact" in done.get_data(
        as_text=True)
    assert _contact_email(app, structure.id) == NEW
    assert holder.get(link).status_code == 404  # used once
    [(object_id, kind, _details)] = _audit(app, "structure.contact_confirmed")
    assert object_id == str(structure.id) and kind == "contact"
    assert len(_audit(app, "structure.contact_change_requested")) == 1

    build.orientation(person, structure, agent)
    assert [r for r, _b in _messages(app, "orientation.contact_link")][-1] == NEW


def test_saving_the_form_again_keeps_the_pending_change_and_the_old_address_cancels_it(
        app, build):
    structure = build.structure(name="Association du bourg", contact_email="asso@bourg.test")
    admin = _admin(app, build)
    path = f"/admin/structures/{structure.id}"
    post_form(admin, path, _structure_form(structure, contact_email=NEW), token_from=path)
    link = _confirm_link(app, NEW)
    # The form shows the pending address: saved as is (another field changed), nothing new.
    form = admin.get(path).get_data(as_text=True)
    assert f'value="{NEW}"' in form
    post_form(admin, path, _structure_form(structure, contact_email=NEW, phone="04 75 00 00 00"),
              token_from=path)
    assert len(_messages(app, "structure.contact_confirm")) == 1
    assert app.test_client().get(link).status_code == 200
    # Typing the confirmed address back cancels the change: its link opens nothing.
    post_form(admin, path, _structure_form(structure, contact_email="asso@bourg.test"),
              token_from=path)
    assert app.test_client().get(link).status_code == 404
    assert _contact_email(app, structure.id) == "asso@bourg.test"


def test_an_expired_confirmation_opens_nothing(app, build):
    from datetime import timedelta

    from app.core.db import db, utcnow
    from app.directory.models import ContactChange

    structure = build.structure(contact_email="asso@hameau.test")
    admin = _admin(app, build)
    path = f"/admin/structures/{structure.id}"
    post_form(admin, path, _structure_form(structure, contact_email=NEW), token_from=path)
    link = _confirm_link(app, NEW)
    with app.app_context():
        db.session.execute(sa.update(ContactChange).values(
            expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    client = app.test_client()
    assert client.get(link).status_code == 404
    assert _contact_email(app, structure.id) == "asso@hameau.test"
    assert app.test_client().get("/structures/contact-address/not-a-token").status_code == 404


def test_a_structure_created_with_a_contact_address_waits_for_it(app, build):
    agent = build.user("accueil")
    person = build.person(agent)
    admin = _admin(app, build)
    answer = post_form(admin, "/admin/structures/new", {
        "name": "Nouvelle association", "kind": "association", "domains": ["logement"],
        "territories": "Valence", "contact_email": NEW}, token_from="/admin/structures/new")
    assert answer.status_code == 302
    from app.core.db import db
    from app.directory.models import Structure

    with app.app_context():
        structure = db.session.scalars(sa.select(Structure).where(
            Structure.name == "Nouvelle association")).one()
        structure_id = structure.id
    assert _contact_email(app, structure_id) is None
    assert _messages(app, "structure.contact_change_notice") == []  # no old address to tell
    from types import SimpleNamespace

    build.orientation(person, SimpleNamespace(id=structure_id), agent)
    assert _messages(app, "orientation.contact_link") == []  # waits for the confirmation


def test_removing_then_replacing_the_address_is_told_to_the_old_one_and_the_coordinators(
        app, build):
    """Security review (finding 1): an administrator saving an empty contact address, then their
    own, is told to the last confirmed address both times and to the territory's coordinators."""
    structure = build.structure(name="Association du col", contact_email="asso@col.test")
    coordinator = build.user("coordinateur", territory="Valence")
    admin = _admin(app, build)
    path = f"/admin/structures/{structure.id}"
    post_form(admin, path, _structure_form(structure, contact_email=""), token_from=path)
    assert _contact_email(app, structure.id) is None
    [(old, removed)] = _messages(app, "structure.contact_change_notice")
    assert old == "asso@col.test" and "retiré" in removed
    post_form(admin, path, _structure_form(structure, contact_email=NEW), token_from=path)
    notices = _messages(app, "structure.contact_change_notice")
    assert [r for r, _b in notices] == ["asso@col.test", "asso@col.test"]
    assert NEW in notices[-1][1]
    told = _messages(app, "structure.contact_change_coordinator")
    assert [r for r, _b in told] == [coordinator.email, coordinator.email]
    assert NEW in told[-1][1] and "asso@col.test" in told[-1][1]
    # Once confirmed, the new address is the confirmed one: the next change is told to it.
    link, holder = _confirm_link(app, NEW), app.test_client()
    holder.post(link, data={"csrf_token": csrf_token(holder, link)})
    assert _contact_email(app, structure.id) == NEW
    post_form(admin, path, _structure_form(structure, contact_email="autre@col.test"),
              token_from=path)
    assert _messages(app, "structure.contact_change_notice")[-1][0] == NEW
