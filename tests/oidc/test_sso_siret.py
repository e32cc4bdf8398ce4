"""ProConnect's ``siret`` claim against the directory (issue 19, item 4), through the real
provider (tests/oidc/conftest.py: ``agent.caf`` announces SIRET 53470985400014). A partner's
login records whether the structure of that SIRET is the account's; a different one is told
on the administrator's page of the account; the account's structure never changes."""

from __future__ import annotations

import html

import pyotp
import sqlalchemy as sa

from tests.helpers import csrf_token, login
from tests.oidc.conftest import sso_login
from tests.oidc.test_sso import _enable_totp

ANNOUNCED = "53470985400014"  # agent.caf's siret claim


def _logins(app) -> list[dict]:
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return [e.details_dict() for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "auth.login").order_by(
                AuditEntry.seq))]


def _structure_of(app, user_id):
    from app.auth.models import User
    from app.core.db import db

    with app.app_context():
        return db.session.get(User, user_id).structure_id


def _admin_page(app, build, user_id) -> str:
    admin = app.test_client()
    login(admin, build.user("admin"))
    answer = admin.get(f"/admin/users/{user_id}")
    assert answer.status_code == 200
    return " ".join(html.unescape(answer.get_data(as_text=True)).split())


def test_a_partner_whose_siret_is_its_structures(app, client, build, sso):
    caf = build.structure(name="CAF de la Drôme", siret=ANNOUNCED)
    user = build.user("partenaire", email="agent.caf@caf.test", structure=str(caf.id))
    assert sso_login(client, "proconnect", "agent.caf").status_code == 302
    assert _logins(app)[-1] == {"channel": "oidc", "provider": "proconnect",
                                "siret_match": True}
    page = _admin_page(app, build, user.id)
    assert ANNOUNCED in page and "différente de la structure du compte" not in page


def test_a_partner_whose_siret_is_another_structures(app, client, build, sso):
    build.structure(name="CAF de la Drôme", siret=ANNOUNCED)
    ccas = build.structure(name="CCAS de Crest")
    user = build.user("partenaire", email="agent.caf@caf.test", structure=str(ccas.id))
    structures = _count_structures(app)
    assert sso_login(client, "proconnect", "agent.caf").status_code == 302
    assert _logins(app)[-1] == {"channel": "oidc", "provider": "proconnect",
                                "siret_match": False}
    page = _admin_page(app, build, user.id)
    assert (f"SIRET annoncé par le fournisseur : {ANNOUNCED} (structure CAF de la Drôme) — "
            "différente de la structure du compte") in page
    # Information only: the account keeps its structure, nothing is created.
    assert _structure_of(app, user.id) == ccas.id
    assert _count_structures(app) == structures


def test_no_flag_when_the_directory_does_not_know_the_siret(app, client, build, sso):
    user = build.user("partenaire", email="agent.caf@caf.test")
    assert sso_login(client, "proconnect", "agent.caf").status_code == 302
    assert "siret_match" not in _logins(app)[-1]
    assert "différente de la structure du compte" not in _admin_page(app, build, user.id)


def _with_passerelle_s_code(app, client, monkeypatch, user) -> None:
    """The partner's login asks for Passerelle's own code (eidas1 is not a second factor)."""
    monkeypatch.setitem(app.config, "PASSERELLE_MFA_REQUIRED_ROLES", "partenaire")
    secret = _enable_totp(app, user.id)
    assert sso_login(client, "proconnect", "agent.caf").headers["Location"] == "/login/code"
    answer = client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                              "code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 302


def test_after_passerelle_s_code_a_first_login_says_the_mismatch(app, client, build, sso,
                                                                 monkeypatch):
    build.structure(name="CAF de la Drôme", siret=ANNOUNCED)
    user = build.user("partenaire", email="agent.caf@caf.test")
    _with_passerelle_s_code(app, client, monkeypatch, user)
    assert _logins(app)[-1] == {"channel": "oidc", "second_factor": True, "siret_match": False}
    assert "différente de la structure du compte" in _admin_page(app, build, user.id)


def test_after_passerelle_s_code_a_linked_identity_says_the_match(app, client, build, sso,
                                                                  monkeypatch, oidc_issuer):
    from app.auth.models import OidcIdentity
    from app.core.db import db

    caf = build.structure(name="CAF de la Drôme", siret=ANNOUNCED)
    user = build.user("partenaire", email="agent.caf@caf.test", structure=str(caf.id))
    with app.app_context():  # linked before ProConnect told its SIRET
        db.session.add(OidcIdentity(user_id=user.id, provider="proconnect", issuer=oidc_issuer,
                                    subject="agent.caf"))
        db.session.commit()
    _with_passerelle_s_code(app, client, monkeypatch, user)
    assert _logins(app)[-1] == {"channel": "oidc", "second_factor": True, "siret_match": True}


def _count_structures(app) -> int:
    from app.core.db import db
    from app.directory.models import Structure

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Structure))
