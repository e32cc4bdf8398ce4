"""Single sign-on against a real OpenID Connect provider (tests/oidc/conftest.py): accounts are
linked, never created; every refusal leaves no session; the second factor, the charter, the
logout and the deactivation work as with a password."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import requests
import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form
from tests.oidc.conftest import BASE, drive_provider, local, sso_callback, sso_login


def _identities(app) -> list:
    from app.auth.models import OidcIdentity
    from app.core.db import db

    with app.app_context():
        return [(i.user_id, i.provider, i.subject, i.siret, i.idp_id)
                for i in db.session.scalars(sa.select(OidcIdentity))]


def _audit(app, action: str) -> list[dict]:
    from app.core.audit import AuditEntry
    from app.core.db import db

    with app.app_context():
        return [e.details_dict() for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))]


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def _user_count(app) -> int:
    from app.auth.models import User
    from app.core.db import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


# -- the login page -----------------------------------------------------------------------------
def test_without_settings_the_login_page_has_no_sso_button(client):
    page = client.get("/login").get_data(as_text=True)
    assert "ProConnect" not in page and "/login/oidc/" not in page
    assert client.get("/login/oidc/proconnect").status_code == 404


def test_the_login_page_shows_one_button_per_provider(client, sso):
    page = client.get("/login").get_data(as_text=True)
    button = re.search(r'<a class="proconnect-button" href="/login/oidc/proconnect">(.*?)</a>',
                       page, re.S)
    assert button, "no ProConnect button"
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", button.group(1))).split())
    assert text == "S'identifier avec ProConnect"  # its accessible name, as users know it
    assert 'href="/login/oidc/cd26">Se connecter avec Compte agent du Département</a>' in page
    assert client.get("/login/oidc/nope").status_code == 404


# -- linking ------------------------------------------------------------------------------------
def test_first_login_links_by_verified_email_then_by_subject(app, client, build, sso):
    from app.auth.models import User
    from app.core.db import db

    user = build.user("partenaire", email="agent.caf@caf.test")
    answer = sso_login(client, "proconnect", "agent.caf", next_path="/account/security")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account/security"
    assert _logged_in(client)
    # The signed userinfo was read and checked: its SIRET and idp_id are kept with the link.
    assert _identities(app) == [(user.id, "proconnect", "agent.caf", "53470985400014", "fia-caf")]
    assert _audit(app, "auth.sso_linked") == [{"provider": "proconnect"}]
    assert _audit(app, "auth.login")[-1] == {"channel": "oidc", "provider": "proconnect"}

    # From now on the subject finds the account, whatever its e-mail becomes.
    with app.app_context():
        db.session.get(User, user.id).email = "renamed@caf.test"
        db.session.commit()
    again = app.test_client()
    assert sso_login(again, "proconnect", "agent.caf").headers["Location"] == "/"
    assert len(_identities(app)) == 1


def test_unknown_identity_gets_a_page_an_audit_entry_and_nothing_else(app, client, build, sso):
    build.user("partenaire", email="someone@caf.test")
    users = _user_count(app)
    answer = sso_login(client, "proconnect", "inconnu")
    assert answer.status_code == 403
    page = html.unescape(answer.get_data(as_text=True))
    assert "Votre compte n'existe pas encore" in page and "administrateur" in page
    assert _audit(app, "auth.sso_unknown") == [{"provider": "proconnect", "reason": "unknown"}]
    assert _user_count(app) == users and _identities(app) == []
    assert not _logged_in(client)


def test_an_unverified_email_links_nothing(app, client, build, sso):
    build.user("partenaire", email="agent.caf@caf.test")
    answer = sso_login(client, "cd26", "non.verifie")
    assert answer.status_code == 403
    assert _audit(app, "auth.sso_unknown") == [{"provider": "cd26",
                                                "reason": "email_not_verified"}]
    assert _identities(app) == [] and not _logged_in(client)


def test_deactivated_account_is_refused(app, client, build, sso):
    from app.auth import services
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil", email="agent.cd26@cd26.test")
    assert sso_login(client, "cd26", "agent.cd26").status_code == 302
    with app.app_context():
        services.deactivate_user(db.session.get(User, user.id))
        db.session.commit()
    assert not _logged_in(client)  # the open session ended with the deactivation
    other = app.test_client()
    answer = sso_login(other, "cd26", "agent.cd26")
    assert answer.status_code == 403 and "Compte désactivé" in answer.get_data(as_text=True)
    assert not _logged_in(other)
    assert _audit(app, "auth.login_failed")[-1]["reason"] == "inactive"


def test_deactivated_account_is_not_linked_either(app, client, build, sso):
    from app.auth import services
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil", email="agent.cd26@cd26.test")
    with app.app_context():
        services.deactivate_user(db.session.get(User, user.id))
        db.session.commit()
    assert sso_login(client, "cd26", "agent.cd26").status_code == 403
    assert _identities(app) == [] and not _logged_in(client)


def test_sso_only_account_refuses_its_password(app, client, build, sso):
    from app.auth import oidc
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil", email="agent.cd26@cd26.test")
    with app.app_context():
        oidc.set_sso_only(db.session.get(User, user.id), True, actor=None)
        db.session.commit()
    # Security review (finding 4): the right password and a wrong one get the same answer.
    answer = login(client, user)
    wrong = login(app.test_client(), user, password="pas-le-bon-mot-de-passe")
    assert answer.status_code == wrong.status_code == 401
    assert "incorrect" in answer.get_data(as_text=True)
    assert "uniquement" not in answer.get_data(as_text=True)
    assert not _logged_in(client)
    assert _audit(app, "auth.login_failed")[-1]["reason"] == "sso_only"
    assert _audit(app, "auth.login_failed")[-2]["reason"] == "sso_only"
    assert sso_login(client, "cd26", "agent.cd26").headers["Location"] == "/"


def test_the_charter_gate_applies_after_a_single_sign_on(app, client, build, sso):
    build.user("accueil", email="agent.cd26@cd26.test", charter=False)
    assert sso_login(client, "cd26", "agent.cd26").status_code == 302
    answer = client.get("/persons/search")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/charter")


def test_the_idle_timeout_applies_after_a_single_sign_on(app, client, build, sso):
    build.user("accueil", email="agent.cd26@cd26.test")
    assert sso_login(client, "cd26", "agent.cd26").status_code == 302
    assert _logged_in(client)
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


# -- the flow's checks ----------------------------------------------------------------------------
def test_wrong_state_is_refused(app, client, build, sso):
    build.user("accueil", email="agent.cd26@cd26.test")
    callback = sso_callback(client, "cd26", "agent.cd26")
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?code={query['code'][0]}&state=forged-state"
    answer = client.get(forged)
    assert answer.status_code == 400 and "pas pu être vérifiée" in answer.get_data(as_text=True)
    assert not _logged_in(client)
    assert _audit(app, "auth.sso_failed") == [{"provider": "cd26", "reason": "state"}]
    # The pending login is spent: the genuine answer now fails too.
    assert client.get(callback).status_code == 400
    assert _identities(app) == []


def test_a_callback_without_a_login_started_here_is_refused(app, client, sso):
    answer = client.get("/login/oidc/cd26/callback?code=abc&state=xyz")
    assert answer.status_code == 400
    assert _audit(app, "auth.sso_failed") == [{"provider": "cd26", "reason": "state"}]


def test_a_replayed_code_is_refused(app, client, build, sso):
    build.user("accueil", email="agent.cd26@cd26.test")
    http = requests.Session()
    callback = sso_callback(client, "cd26", "agent.cd26", http)
    assert client.get(callback).status_code == 302
    # Replayed as is: its state was spent.
    assert client.get(callback).status_code in (302, 400)
    # Replayed in a new login of another browser (a fresh state): the provider refuses the code.
    thief = app.test_client()
    started = thief.get("/login/oidc/cd26")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    answer = thief.get(f"/login/oidc/cd26/callback?code={code}&state={state}")
    assert answer.status_code == 400 and not _logged_in(thief)
    assert _audit(app, "auth.sso_failed")[-1] == {"provider": "cd26", "reason": "token_exchange"}


def test_a_provider_error_is_refused(app, client, sso):
    started = client.get("/login/oidc/cd26")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    answer = client.get(f"/login/oidc/cd26/callback?error=access_denied&state={state}")
    assert answer.status_code == 400 and not _logged_in(client)


def test_the_authorization_request_has_pkce_nonce_and_acr_values(client, sso):
    query = parse_qs(urlsplit(client.get("/login/oidc/proconnect").headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["nonce"][0]) >= 32 and len(query["state"][0]) >= 32
    assert query["acr_values"] == ["eidas1"]
    assert query["redirect_uri"] == [f"{BASE}/login/oidc/proconnect/callback"]
    assert "acr_values" not in parse_qs(urlsplit(
        client.get("/login/oidc/cd26").headers["Location"]).query)


def test_proconnect_refuses_a_userinfo_that_is_not_signed(app, client, build, sso):
    from tests.oidc.conftest import CD26_SECRET

    # The plain client answers its userinfo in JSON: not acceptable from ProConnect.
    sso(PASSERELLE_OIDC_PROCONNECT_CLIENT_ID="passerelle-cd26",
        PASSERELLE_OIDC_PROCONNECT_CLIENT_SECRET=CD26_SECRET,
        PASSERELLE_OIDC_PROVIDERS="proconnect")
    build.user("accueil", email="agent.cd26@cd26.test")
    answer = sso_login(client, "proconnect", "agent.cd26")
    assert answer.status_code == 400 and not _logged_in(client)
    assert _audit(app, "auth.sso_failed")[-1] == {"provider": "proconnect",
                                                  "reason": "userinfo_not_signed"}


def test_keys_are_read_again_when_the_token_names_an_unknown_one(app, client, build, sso):
    """JWKS rotation: the cached keys lack the token's kid, so they are read again."""
    from joserfc.jwk import KeySet, RSAKey

    from app.auth import oidc

    build.user("accueil", email="agent.cd26@cd26.test")
    provider = oidc.configured(app.config)["cd26"]
    with app.app_context():
        oidc.metadata(provider)
    stale = KeySet([RSAKey.generate_key(2048, parameters={"kid": "retired-key"})])
    oidc._CACHE[provider.issuer].update(keys=stale, keys_at=0)
    assert sso_login(client, "cd26", "agent.cd26").headers["Location"] == "/"
    kids = {k.kid for k in oidc._CACHE[provider.issuer]["keys"].keys}
    assert kids == {"test-key-1"}


def test_an_unknown_key_just_read_is_not_fetched_again(app, client, build, sso):
    from joserfc.jwk import KeySet, RSAKey

    from app.auth import oidc

    build.user("accueil", email="agent.cd26@cd26.test")
    provider = oidc.configured(app.config)["cd26"]
    with app.app_context():
        oidc.metadata(provider)
    stale = KeySet([RSAKey.generate_key(2048, parameters={"kid": "retired-key"})])
    oidc._CACHE[provider.issuer].update(keys=stale, keys_at=time.time())
    assert sso_login(client, "cd26", "agent.cd26").status_code == 400
    assert _audit(app, "auth.sso_failed")[-1]["reason"] == "id_token_unknown_key"


# -- second factor --------------------------------------------------------------------------------
def _enable_totp(app, user_id) -> str:
    from app.auth.models import User
    from app.core.db import db, utcnow

    secret = pyotp.random_base32()
    with app.app_context():
        row = db.session.get(User, user_id)
        row.totp_secret = secret
        row.totp_enabled_at = utcnow()
        db.session.commit()
    return secret


def test_acr_too_weak_asks_for_passerelle_s_own_code(app, client, build, sso, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_MFA_REQUIRED_ROLES", "partenaire")
    user = build.user("partenaire", email="agent.caf@caf.test")
    secret = _enable_totp(app, user.id)
    answer = sso_login(client, "proconnect", "agent.caf")  # acr eidas1
    assert answer.headers["Location"] == "/login/code"
    assert not _logged_in(client)
    assert client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                            "code": "000000"}).status_code == 401
    answer = client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                              "code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert _logged_in(client)
    with client.session_transaction() as session:
        assert session["sso"]["provider"] == "proconnect" and not session["sso"]["mfa"]
    assert _audit(app, "auth.login")[-1] == {"channel": "oidc", "second_factor": True}


def test_acr_strong_enough_is_the_second_factor(app, client, build, sso, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_MFA_REQUIRED_ROLES", "coordinateur")
    user = build.user("coordinateur", email="agent.fort@cd26.test")
    _enable_totp(app, user.id)
    answer = sso_login(client, "proconnect", "agent.fort")  # acr eidas2
    assert answer.headers["Location"] == "/"
    assert _logged_in(client)
    assert _audit(app, "auth.login")[-1]["second_factor"] == "provider"


def test_amr_with_mfa_spares_the_enrolment(app, client, build, sso, monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_MFA_REQUIRED_ROLES", "coordinateur")
    build.user("coordinateur", email="chef.cd26@cd26.test")  # no TOTP of its own
    assert sso_login(client, "cd26", "chef.cd26").headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_without_the_provider_s_assurance_the_enrolment_is_required(app, client, build, sso,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "PASSERELLE_MFA_REQUIRED_ROLES", "accueil")
    build.user("accueil", email="agent.cd26@cd26.test")  # amr pwd only, no TOTP
    assert sso_login(client, "cd26", "agent.cd26").headers["Location"] == "/account/mfa"
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/account/mfa")


# -- logout ---------------------------------------------------------------------------------------
def test_logout_ends_the_provider_s_session_too(app, client, build, sso, oidc_issuer):
    build.user("accueil", email="agent.cd26@cd26.test")
    http = requests.Session()
    assert sso_login(client, "cd26", "agent.cd26", http).headers["Location"] == "/"
    answer = post_form(client, "/logout")
    # A page moving on to the provider (a redirect would break the form's CSP in browsers).
    assert answer.status_code == 200 and "Déconnexion" in answer.get_data(as_text=True)
    delay, _sep, target = answer.headers["Refresh"].partition("; url=")
    assert delay == "0"
    assert f'href="{html.escape(target)}"' in answer.get_data(as_text=True)
    query = parse_qs(urlsplit(target).query)
    assert target.startswith(f"{oidc_issuer}/session/end?")
    assert query["post_logout_redirect_uri"] == [f"{BASE}/login"]
    assert query["id_token_hint"][0].count(".") == 2
    assert not _logged_in(client)
    # The provider asks to confirm, ends its session and sends the browser back to /login.
    back = drive_provider(http, target, None)
    assert local(back).startswith("/login")
    assert "Vous êtes déconnecté(e)." in client.get(local(back)).get_data(as_text=True)
    # Its session is over: the next single sign-on asks for the login again.
    assert sso_login(client, "cd26", "agent.cd26", http).headers["Location"] == "/"


def test_a_password_session_logs_out_locally(app, client, build, sso):
    user = build.user("accueil")
    login(client, user)
    answer = post_form(client, "/logout")
    assert answer.headers["Location"] == "/login"


# -- API tokens of an SSO-only account ------------------------------------------------------------
def test_sso_only_account_makes_its_api_token_on_its_account_page(app, client, build, sso):
    import re as _re

    from app.auth import oidc
    from app.auth.models import User
    from app.core.db import db

    user = build.user("accueil", email="agent.cd26@cd26.test")
    with app.app_context():
        oidc.set_sso_only(db.session.get(User, user.id), True, actor=None)
        db.session.commit()
    # No password to give the API.
    assert client.post("/api/v1/auth/token", json={"email": user.email,
                                                   "password": user.password}).status_code == 401
    assert sso_login(client, "cd26", "agent.cd26").headers["Location"] == "/"
    answer = post_form(client, "/account/tokens/new", token_from="/account/security")
    assert answer.status_code == 200
    token = _re.search(r"<code>([^<]+)</code>", answer.get_data(as_text=True)).group(1)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["email"] == user.email
    assert token not in client.get("/account/security").get_data(as_text=True)  # shown once


def test_an_account_with_a_password_gets_its_token_from_the_api(app, client, build):
    user = build.user("accueil")
    login(client, user)
    assert "Créer un jeton" not in client.get("/account/security").get_data(as_text=True)
    answer = post_form(client, "/account/tokens/new", token_from="/account/security")
    assert answer.status_code == 403


# -- security review (finding 2): linking only once the login completes; unlink sticks ----------
def test_a_login_stopped_at_the_code_links_nothing(app, client, build, sso):
    user = build.user("partenaire", email="agent.caf@caf.test")
    secret = _enable_totp(app, user.id)
    answer = sso_login(client, "proconnect", "agent.caf")  # acr eidas1: Passerelle's own code
    assert answer.headers["Location"] == "/login/code"
    assert _identities(app) == [] and _audit(app, "auth.sso_linked") == []
    assert client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                            "code": "000000"}).status_code == 401
    assert _identities(app) == []
    answer = client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                              "code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 302 and _logged_in(client)
    assert _identities(app) == [(user.id, "proconnect", "agent.caf", "53470985400014", "fia-caf")]
    assert _audit(app, "auth.sso_linked") == [{"provider": "proconnect"}]
    with client.session_transaction() as session:
        assert "link" not in session["sso"]


def test_a_detached_identity_is_not_linked_again_until_an_administrator_allows_it(
        app, client, build, sso):
    from app.auth.models import OidcRevocation
    from app.core.db import db

    user = build.user("partenaire", email="agent.caf@caf.test")
    assert sso_login(client, "proconnect", "agent.caf").status_code == 302
    [(_u, _p, subject, _s, _i)] = _identities(app)
    admin = app.test_client()
    login(admin, build.user("admin"))
    path = f"/admin/users/{user.id}"
    from app.auth.models import OidcIdentity

    with app.app_context():
        identity_id = db.session.scalars(sa.select(OidcIdentity.id)).one()
    post_form(admin, f"{path}/sso/{identity_id}/unlink", token_from=path)
    assert _identities(app) == []
    # The next login by the same identity is refused, not linked again by e-mail.
    again = app.test_client()
    answer = sso_login(again, "proconnect", "agent.caf")
    assert answer.status_code == 403 and not _logged_in(again)
    assert _identities(app) == []
    assert _audit(app, "auth.sso_unknown")[-1] == {"provider": "proconnect", "reason": "revoked"}
    page = html.unescape(admin.get(path).get_data(as_text=True))
    assert "Identités détachées" in page and subject in page
    with app.app_context():
        revocation_id = db.session.scalars(sa.select(OidcRevocation.id)).one()
    post_form(admin, f"{path}/sso/revoked/{revocation_id}/allow", token_from=path)
    assert _audit(app, "auth.sso_allowed") == [{"provider": "proconnect"}]
    third = app.test_client()
    assert sso_login(third, "proconnect", "agent.caf").status_code == 302 and _logged_in(third)
    assert len(_identities(app)) == 1


def test_the_assurance_is_read_from_the_id_token_only(app, client, build, sso, monkeypatch):
    """Security review (finding 3): a userinfo answer (unsigned here) cannot add an acr or amr
    that the ID token lacks."""
    from app.auth import oidc

    sso(PASSERELLE_OIDC_CD26_MFA_ACR="eidas2")
    real = oidc.userinfo

    def with_assurance(provider, url, access_token):
        return {**real(provider, url, access_token), "acr": "eidas2", "amr": ["mfa"]}

    monkeypatch.setattr(oidc, "userinfo", with_assurance)
    user = build.user("accueil", email="agent.cd26@cd26.test")  # ID token: no acr, amr pwd
    _enable_totp(app, user.id)
    answer = sso_login(client, "cd26", "agent.cd26")
    assert answer.headers["Location"] == "/login/code"
    assert not _logged_in(client)


def test_turning_an_account_sso_only_ends_its_password_sessions_and_tokens(app, client, build,
                                                                           sso):
    """Security review (finding 4): what the password opened does not outlive "SSO only"."""
    user = build.user("accueil", email="agent.cd26@cd26.test")
    login(client, user)
    assert _logged_in(client)
    token = client.post("/api/v1/auth/token", json={"email": user.email,
                                                    "password": user.password}).get_json()
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    admin = app.test_client()
    login(admin, build.user("admin"))
    page = f"/admin/users/{user.id}"
    post_form(admin, f"{page}/sso-only", {"sso_only": "1"}, token_from=page)
    assert not _logged_in(client)
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    # The provider's login still works.
    assert sso_login(app.test_client(), "cd26", "agent.cd26").headers["Location"] == "/"
