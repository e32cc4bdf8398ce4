"""An account's single sign-on on its administration page: linked identities, unlink, SSO only."""

from __future__ import annotations

import html

import sqlalchemy as sa

from tests.helpers import login, post_form


def _link(app, user_id, subject="agent-42") -> str:
    from app.auth.models import OidcIdentity
    from app.core.db import db

    with app.app_context():
        row = OidcIdentity(user_id=user_id, provider="cd26", issuer="https://idp.example.test",
                           subject=subject, siret="22260001700017")
        db.session.add(row)
        db.session.commit()
        return str(row.id)


def _rows(app) -> list:
    from app.auth.models import OidcIdentity
    from app.core.db import db

    with app.app_context():
        return list(db.session.scalars(sa.select(OidcIdentity.subject)))


def test_admin_sees_and_unlinks_an_identity(app, client, build):
    from app.core.audit import AuditEntry
    from app.core.db import db

    agent = build.user("accueil")
    other = build.user("accueil")
    identity = _link(app, agent.id)
    _link(app, other.id, subject="agent-43")
    login(client, build.user("admin"))
    page = html.unescape(client.get(f"/admin/users/{agent.id}").get_data(as_text=True))
    assert "Identités rattachées à ce compte" in page and "agent-42" in page
    assert "22260001700017" in page and "agent-43" not in page
    # Another account's identity cannot be unlinked through this one.
    answer = post_form(client, f"/admin/users/{other.id}/sso/{identity}/unlink",
                       token_from=f"/admin/users/{agent.id}")
    assert answer.status_code == 404 and sorted(_rows(app)) == ["agent-42", "agent-43"]
    answer = post_form(client, f"/admin/users/{agent.id}/sso/{identity}/unlink",
                       token_from=f"/admin/users/{agent.id}")
    assert answer.status_code == 302 and _rows(app) == ["agent-43"]
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "auth.sso_unlinked")).one()
        assert entry.object_id == str(agent.id) and entry.details_dict() == {"provider": "cd26"}


def test_admin_sets_and_lifts_sso_only(app, client, build):
    from app.auth.models import User
    from app.core.db import db

    agent = build.user("accueil")
    _link(app, agent.id)
    login(client, build.user("admin"))
    page = f"/admin/users/{agent.id}"
    post_form(client, f"{page}/sso-only", {"sso_only": "1"}, token_from=page)
    with app.app_context():
        assert db.session.get(User, agent.id).sso_only
    assert login(app.test_client(), agent).status_code == 401
    post_form(client, f"{page}/sso-only", {"sso_only": "0"}, token_from=page)
    with app.app_context():
        assert not db.session.get(User, agent.id).sso_only
    assert login(app.test_client(), agent).status_code == 302


def test_other_roles_cannot_unlink(app, client, build):
    agent = build.user("accueil")
    identity = _link(app, agent.id)
    login(client, build.user("coordinateur"))
    answer = post_form(client, f"/admin/users/{agent.id}/sso/{identity}/unlink")
    assert answer.status_code == 403 and _rows(app) == ["agent-42"]


def test_without_providers_nor_identities_the_page_has_no_sso_section(app, client, build):
    agent = build.user("accueil")
    login(client, build.user("admin"))
    assert "Authentification unique" not in client.get(f"/admin/users/{agent.id}").get_data(
        as_text=True)
