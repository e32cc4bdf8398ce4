"""A password set by an administrator is temporary: until its owner has chosen their own, it
opens nothing but the password change (and logout), on pages and in the API."""

from __future__ import annotations

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


def test_an_account_created_by_an_administrator_must_change_its_password(app, build):
    admin = _admin_client(app, build)
    site = build.site()
    created = post_form(admin, "/admin/users/new", {
        "email": "nouvelle.agente@test.passerelle", "role": "accueil",
        "display_name": "Nouvelle Agente", "site": str(site.id), "structure": "",
        "territory": "", "password": TEMPORARY}, token_from="/admin/users/new")
    assert created.status_code == 302, created.get_data(as_text=True)
    from app.charter import services as charter
    from app.core.db import db

    with app.app_context():
        from app.auth.models import User

        user = db.session.get(User, _user_id(app, "nouvelle.agente@test.passerelle"))
        assert user.must_change_password
        charter.accept(user, charter.current_version().version)
        db.session.commit()
    _only_the_password_change(app, "nouvelle.agente@test.passerelle")


def test_a_password_reset_by_an_administrator_must_be_changed(app, build):
    user = build.user("accueil")
    admin = _admin_client(app, build)
    path = f"/admin/users/{user.id}/password"
    answer = post_form(admin, path, {"password": TEMPORARY}, token_from=path)
    assert answer.status_code == 302
    _only_the_password_change(app, user.email)


def test_an_account_created_by_the_operator_command_is_not_temporary(app, build):
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil")
    with app.app_context():
        assert not db.session.get(User, user.id).must_change_password
    client = app.test_client()
    assert login(client, user).headers["Location"] == "/"
