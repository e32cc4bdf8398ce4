"""A real OpenID Connect provider for the single sign-on tests: oidc-provider (npm, pinned by
tests/oidc/package-lock.json; `make oidc-deps`) run by tests/oidc/provider.mjs on a loopback
port for the whole session, with two clients (a ProConnect-like one that signs its userinfo and
gives an ``acr``, a plain département provider) and a few accounts.

Passerelle is the Flask test client; its callbacks are at ``PASSERELLE_BASE_URL``
(``http://passerelle.test``): ``sso_login`` drives the provider's login and consent pages with
real HTTP requests and hands the final redirect back to the test client.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node") or "/usr/bin/node"
BASE = "http://passerelle.test"
PROCONNECT_SECRET = "proconnect-client-secret-for-the-tests-only"
CD26_SECRET = "cd26-client-secret-for-the-tests-only-0000"


def client_metadata(base: str) -> list[dict]:
    return [
        {"client_id": "passerelle-proconnect", "client_secret": PROCONNECT_SECRET,
         "redirect_uris": [f"{base}/login/oidc/proconnect/callback"],
         "post_logout_redirect_uris": [f"{base}/login"],
         "id_token_signed_response_alg": "RS256", "userinfo_signed_response_alg": "RS256"},
        {"client_id": "passerelle-cd26", "client_secret": CD26_SECRET,
         # Also ProConnect's callback: a test points ProConnect at this client, whose userinfo
         # is plain JSON.
         "redirect_uris": [f"{base}/login/oidc/cd26/callback",
                           f"{base}/login/oidc/proconnect/callback"],
         "post_logout_redirect_uris": [f"{base}/login"]},
    ]


def _account(email, *, verified=True, acr=None, amr=("pwd",), **claims) -> dict:
    return {"password": "mot-de-passe-du-fournisseur", "acr": acr, "amr": list(amr),
            "claims": {"email": email, "email_verified": verified, **claims}}


ACCOUNTS = {
    # ProConnect-like: an agent of a CAF (eidas1), one with a second factor (eidas2).
    "agent.caf": _account("agent.caf@caf.test", acr="eidas1", given_name="Alice",
                          usual_name="Martin", siret="53470985400014", idp_id="fia-caf"),
    "agent.fort": _account("agent.fort@cd26.test", acr="eidas2", amr=("pwd", "otp"),
                           siret="22260001700017", idp_id="fia-cd26"),
    # The département's staff: one with an amr saying "mfa".
    "agent.cd26": _account("agent.cd26@cd26.test"),
    "chef.cd26": _account("chef.cd26@cd26.test", amr=("pwd", "mfa")),
    "inconnu": _account("personne@ailleurs.test"),
    "non.verifie": _account("agent.caf@caf.test", verified=False),
}
PROVIDER_PASSWORD = "mot-de-passe-du-fournisseur"


def start_provider(base: str) -> tuple[subprocess.Popen, str]:
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run `make oidc-deps` (npm ci in tests/oidc)")
    env = {**os.environ, "OIDC_TEST_CONFIG": json.dumps(
        {"clients": client_metadata(base), "accounts": ACCOUNTS})}
    process = subprocess.Popen([NODE, str(HERE / "provider.mjs")], cwd=HERE, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 20
    line = ""
    while time.time() < deadline:
        line = process.stdout.readline()
        if line.startswith("listening ") or process.poll() is not None:
            break
    if not line.startswith("listening "):
        process.kill()
        pytest.fail(f"the test OpenID provider did not start ({line!r})")
    return process, line.split()[1]


def stop_provider(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def oidc_issuer():
    process, issuer = start_provider(BASE)
    yield issuer
    stop_provider(process)


def provider_settings(issuer: str, **overrides) -> dict:
    settings = {
        "PASSERELLE_OIDC_PROVIDERS": "proconnect,cd26",
        "PASSERELLE_OIDC_PROCONNECT_ISSUER": issuer,
        "PASSERELLE_OIDC_PROCONNECT_CLIENT_ID": "passerelle-proconnect",
        "PASSERELLE_OIDC_PROCONNECT_CLIENT_SECRET": PROCONNECT_SECRET,
        "PASSERELLE_OIDC_PROCONNECT_SCOPES": "openid email profile siret idp_id",
        "PASSERELLE_OIDC_PROCONNECT_ACR_VALUES": "eidas1",
        "PASSERELLE_OIDC_PROCONNECT_MFA_ACR": "eidas2,eidas3",
        "PASSERELLE_OIDC_CD26_ISSUER": issuer,
        "PASSERELLE_OIDC_CD26_CLIENT_ID": "passerelle-cd26",
        "PASSERELLE_OIDC_CD26_CLIENT_SECRET": CD26_SECRET,
        "PASSERELLE_OIDC_CD26_LABEL": "Compte agent du Département",
        "PASSERELLE_OIDC_CD26_MFA_AMR": "mfa,otp",
    }
    settings.update(overrides)
    return settings


@pytest.fixture
def sso(app, oidc_issuer, monkeypatch):
    """Both providers configured on the test app for one test (and their caches emptied)."""
    from app.auth import oidc

    def configure(**overrides):
        for key in [k for k in app.config if k.startswith("PASSERELLE_OIDC_")]:
            monkeypatch.delitem(app.config, key)
        for key, value in provider_settings(oidc_issuer, **overrides).items():
            monkeypatch.setitem(app.config, key, value)
        oidc._CACHE.clear()

    configure()
    yield configure
    oidc._CACHE.clear()


_FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]+)"', re.I)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.I)


def drive_provider(http: requests.Session, url: str, login: str | None,
                   password: str = PROVIDER_PASSWORD, until: str = BASE) -> str:
    """Follow the provider's redirects and fill its pages (login, consent, logout) until it
    sends the browser back to ``until``; that address is returned."""
    for _step in range(12):
        answer = http.get(url, allow_redirects=False, timeout=10)
        while answer.is_redirect:
            url = urljoin(url, answer.headers["Location"])
            if url.startswith(until):
                return url
            answer = http.get(url, allow_redirects=False, timeout=10)
        form = _FORM.search(answer.text)
        assert form, f"no form on the provider's page {url}: {answer.status_code} {answer.text[:300]}"
        data = dict(_HIDDEN.findall(answer.text))
        if 'name="login"' in answer.text:
            assert login is not None, "the provider asks for a login"
            data.update(login=login, password=password)
        if 'name="logout"' in answer.text:
            data["logout"] = "yes"
        action = urljoin(url, form.group(1).replace("&amp;", "&"))
        answer = http.post(action, data=data, allow_redirects=False, timeout=10)
        assert answer.is_redirect, f"{action}: {answer.status_code} {answer.text[:300]}"
        url = urljoin(action, answer.headers["Location"])
        if url.startswith(until):
            return url
    raise AssertionError("the provider never sent the browser back")


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def sso_callback(client, provider: str, login: str | None, http: requests.Session | None = None,
                 next_path: str | None = None) -> str:
    """From the button to the provider's redirect back: the callback path (not yet called)."""
    query = f"?next={next_path}" if next_path else ""
    answer = client.get(f"/login/oidc/{provider}{query}")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return local(drive_provider(http or requests.Session(), answer.headers["Location"], login))


def sso_login(client, provider: str, login: str | None, http: requests.Session | None = None,
              next_path: str | None = None):
    """The whole single sign-on; the answer of Passerelle's callback."""
    return client.get(sso_callback(client, provider, login, http, next_path))
