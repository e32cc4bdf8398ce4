"""Passwords of accounts an administrator creates or resets (review finding 4a of issue 23).

The administrator used to type a temporary password and hand it over, and so could log in as a
new agent and read files. Now the administrator never chooses nor sees a password: a one-time
link (stored hashed, expiring, used once, ended by a newer one) goes to the account's own
address, and its owner chooses the password there under the usual rules. A temporary password
set before this change still opens nothing but the password change (and logout)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.helpers import api_token, bearer, login, post_form

TEMPORARY = "un mot de passe provisoire long"
CHOSEN = "une phrase que je suis seule a connaitre"


def _admin_client(app, build):
    client = app.test_client()
    login(client, build.user("admin"))
    return client


def _user_id(app, email: str):
    from app.auth.models import User
    from app.core.db import db

    with app.app_context():
        return db.session.scalars(sa.select(User.id).where(User.email == email)).one()


def _only_the_password_change(app, email: str) -> None:
    from types import SimpleNamespace

    user = SimpleNamespace(email=email, password=TEMPORARY)
    client = app.test_client()
    answer = login(client, user)
    assert answer.headers["Location"] == "/account/password"
    for path in ("/", "/persons/search", "/directory"):
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert blocked.headers["Location"].startswith("/account/password"), path
    assert client.get("/account/password").status_code == 200
    token = bearer(api_token(client, user))
    refused = client.get("/api/v1/persons?q=Martin", headers=token)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "password_change_required"
    assert client.get("/api/v1/me", headers=token).status_code == 200
    changed = post_form(client, "/account/password", {
        "current_password": TEMPORARY, "new_password": CHOSEN, "confirm_password": CHOSEN},
        token_from="/account/password")
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    token = bearer(api_token(client, SimpleNamespace(email=email, password=CHOSEN)))
    assert client.get("/api/v1/persons?q=Martin", headers=token).status_code == 200


def _set_password_links(app, email: str) -> list[str]:
    """The set-password links e-mailed to ``email``, oldest first."""
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        bodies = [m.body for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "auth.set_password")
            .order_by(OutboxMessage.created_at)) if m.recipient == email]
    return [re.search(r"http://passerelle\.test(/account/set-password/\S+)", b).group(1)
            for b in bodies]


def _choose(client, link: str, password: str, confirm: str | None = None):
    return post_form(client, link, {"new_password": password,
                                    "confirm_password": confirm or password}, token_from=link)


def _cannot_log_in(app, email: str, password: str) -> None:
    from types import SimpleNamespace

    answer = login(app.test_client(), SimpleNamespace(email=email, password=password))
    assert answer.status_code == 401


def _logs_in(app, email: str, password: str):
    from types import SimpleNamespace

    client = app.test_client()
    answer = login(client, SimpleNamespace(email=email, password=password))
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    return client


def _actions(app, user_id) -> list[str]:
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.object_id == str(user_id)).order_by(AuditEntry.seq)))


def test_the_administration_pages_ask_for_no_password(app, build):
    """Review finding 4a: the administrator never chooses nor sees a password."""
    admin = _admin_client(app, build)
    user = build.user("accueil")
    for path in ("/admin/users/new", f"/admin/users/{user.id}/password"):
        page = admin.get(path).get_data(as_text=True)
        assert 'type="password"' not in page, path
        assert "lien à usage unique" in page, path


def test_an_account_created_by_an_administrator_chooses_its_password_through_a_link(app, build):
    admin = _admin_client(app, build)
    site = build.site()
    email = "nouvelle.agente@test.passerelle"
    # A password slipped into the form (the old page had the field) is not read.
    created = post_form(admin, "/admin/users/new", {
        "email": email, "role": "accueil", "display_name": "Nouvelle Agente",
        "site": str(site.id), "structure": "", "territory": "", "password": TEMPORARY},
        token_from="/admin/users/new")
    assert created.status_code == 302, created.get_data(as_text=True)
    listing = admin.get(created.headers["Location"]).get_data(as_text=True)
    assert "Un lien pour choisir son mot de passe est envoyé" in listing
    _cannot_log_in(app, email, TEMPORARY)

    [link] = _set_password_links(app, email)
    token = link.rsplit("/", 1)[1]
    from app.auth.models import PasswordSetToken
    from app.core.db import db

    with app.app_context():  # stored hashed: the token is in the message only
        [row] = db.session.scalars(sa.select(PasswordSetToken)).all()
        assert row.token_hash != token and token not in row.token_hash and row.reason == "create"

    person = app.test_client()
    page = person.get(link)
    assert page.status_code == 200 and "Choisir votre mot de passe" in page.get_data(as_text=True)
    # The same rules as any password change.
    weak = _choose(person, link, "court")
    assert weak.status_code == 422 and "au moins 12 caractères" in weak.get_data(as_text=True)
    mismatch = _choose(person, link, CHOSEN, CHOSEN + " bis")
    assert mismatch.status_code == 422 and "ne correspondent pas" in mismatch.get_data(as_text=True)
    done = _choose(person, link, CHOSEN)
    assert done.status_code == 302 and done.headers["Location"] == "/login"

    user_id = _user_id(app, email)
    client = _logs_in(app, email, CHOSEN)  # straight in: nothing temporary about it
    post_form(client, "/charter/accept", token_from="/charter")
    assert client.get("/persons/search").status_code == 200
    # Used once.
    assert app.test_client().get(link).status_code == 404
    assert _choose(app.test_client(), link, "une autre phrase encore plus longue").status_code \
        in (400, 404)
    assert _actions(app, user_id) == ["user.create", "user.set_password_link_sent",
                                      "user.person_data_access", "auth.login_failed",
                                      "auth.password_set", "auth.login"]


def test_a_password_reset_sends_a_link_and_ends_the_old_password(app, build):
    user = build.user("accueil")
    session = app.test_client()
    login(session, user)
    token = api_token(app.test_client(), user)
    admin = _admin_client(app, build)
    path = f"/admin/users/{user.id}/password"
    answer = post_form(admin, path, {"password": TEMPORARY}, token_from=path)
    assert answer.status_code == 302
    assert TEMPORARY not in admin.get(answer.headers["Location"]).get_data(as_text=True)
    _cannot_log_in(app, user.email, user.password)
    _cannot_log_in(app, user.email, TEMPORARY)
    assert session.get("/persons/search").status_code == 302  # its sessions ended
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401

    post_form(admin, path, token_from=path)  # a second reset: the first link ends
    first, second = _set_password_links(app, user.email)
    assert app.test_client().get(first).status_code == 404
    assert _choose(app.test_client(), second, CHOSEN).status_code == 302
    _logs_in(app, user.email, CHOSEN)


def test_an_expired_link_opens_nothing(app, build):
    from datetime import timedelta

    from app.auth.models import PasswordSetToken
    from app.core.db import db, utcnow

    user = build.user("accueil")
    admin = _admin_client(app, build)
    path = f"/admin/users/{user.id}/password"
    post_form(admin, path, token_from=path)
    [link] = _set_password_links(app, user.email)
    with app.app_context():
        db.session.execute(sa.update(PasswordSetToken).values(
            expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    page = app.test_client().get(link)
    assert page.status_code == 404 and "n'est plus valable" in page.get_data(as_text=True)
    assert app.test_client().get("/account/set-password/not-a-token").status_code == 404


def test_a_temporary_password_from_before_the_change_still_opens_only_the_password_change(
        app, build):
    """Accounts that still hold a temporary password set by an administrator before the
    upgrade keep the old gate until their owner changes it (or an administrator resets it, which
    now sends a link and ends that password)."""
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil", password=TEMPORARY)
    with app.app_context():
        db.session.get(User, user.id).must_change_password = True
        db.session.commit()
    _only_the_password_change(app, user.email)


def test_an_account_created_by_the_operator_command_is_not_temporary(app, build):
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil")
    with app.app_context():
        assert not db.session.get(User, user.id).must_change_password
    client = app.test_client()
    assert login(client, user).headers["Location"] == "/"
