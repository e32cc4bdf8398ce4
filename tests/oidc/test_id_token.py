"""The callback's checks of an ID token, with tokens crafted here: a provider whose discovery
document and keys are in the cache (no network), so that each claim can be made wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from app.auth import oidc

ISSUER = "https://idp.example.test"
CLIENT = "passerelle"
NONCE = "nonce-of-this-login"


@pytest.fixture
def provider(app):
    key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
    chosen = oidc.Provider(name="cd26", issuer=ISSUER, client_id=CLIENT, client_secret="s",
                           scopes="openid email", acr_values=None, label="", mfa_acr=frozenset(),
                           mfa_amr=frozenset(), trust_email=False)
    oidc._CACHE[ISSUER] = {
        "metadata": {"issuer": ISSUER, "jwks_uri": ISSUER + "/jwks",
                     "id_token_signing_alg_values_supported": ["RS256"]},
        "metadata_at": time.time(),
        "keys": KeySet.import_key_set({"keys": [key.as_dict(private=False)]}),
        "keys_at": time.time(),
    }
    with app.app_context():
        yield chosen, key
    oidc._CACHE.pop(ISSUER, None)


def _claims(**changes) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "agent-42", "exp": now + 300, "iat": now,
              "nonce": NONCE}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key, alg="RS256", kid="k1", **changes) -> str:
    return jwt.encode({"alg": alg, "kid": kid}, _claims(**changes), key)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _reason(provider, raw, nonce=NONCE) -> str:
    with pytest.raises(oidc.OidcError) as caught:
        oidc.validate_id_token(provider, raw, nonce)
    return caught.value.reason


def test_a_well_formed_token_passes(provider):
    chosen, key = provider
    assert oidc.validate_id_token(chosen, _token(key), NONCE)["sub"] == "agent-42"


def test_another_audience_is_refused(provider):
    chosen, key = provider
    assert _reason(chosen, _token(key, aud="another-client")) == "id_token_audience"
    # Several audiences need azp naming us.
    assert _reason(chosen, _token(key, aud=[CLIENT, "other"])) == "id_token_audience"
    assert oidc.validate_id_token(chosen, _token(key, aud=[CLIENT, "other"], azp=CLIENT), NONCE)


def test_an_expired_token_is_refused(provider):
    chosen, key = provider
    old = int(time.time()) - 3600
    assert _reason(chosen, _token(key, exp=old, iat=old - 300)) == "id_token_expired"
    assert _reason(chosen, _token(key, iat=int(time.time()) + 3600)) == "id_token_issued_at"


def test_a_token_signed_by_another_key_is_refused(provider):
    chosen, _key = provider
    forger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert _reason(chosen, _token(forger)) == "id_token_signature"


def test_unsigned_and_symmetric_tokens_are_refused(provider):
    chosen, key = provider
    # HS256 with the provider's public key as the secret: the classic confusion.
    _header, payload, _sig = _token(key).split(".")
    header = _b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    mac = hmac.new(key.as_pem(private=False), f"{header}.{payload}".encode(), hashlib.sha256)
    assert _reason(chosen, f"{header}.{payload}.{_b64(mac.digest())}") == "id_token_algorithm"
    none = _b64(json.dumps({"alg": "none"}).encode())
    assert _reason(chosen, f"{none}.{payload}.") == "id_token_algorithm"
    assert _reason(chosen, "not-a-token") == "id_token_malformed"


def test_wrong_issuer_nonce_or_subject_are_refused(provider):
    chosen, key = provider
    assert _reason(chosen, _token(key, iss="https://evil.test")) == "id_token_issuer"
    assert _reason(chosen, _token(key), nonce="another-login") == "id_token_nonce"
    assert _reason(chosen, _token(key, nonce=None)) == "id_token_nonce"
    assert _reason(chosen, _token(key, sub="")) == "id_token_subject"


def test_assurance_is_read_from_acr_or_amr():
    chosen = oidc.Provider(name="proconnect", issuer=ISSUER, client_id=CLIENT, client_secret="s",
                           scopes="openid", acr_values="eidas1", label="",
                           mfa_acr=frozenset({"eidas2"}), mfa_amr=frozenset({"mfa", "otp"}),
                           trust_email=False)
    assert oidc.assurance_met(chosen, {"acr": "eidas2"})
    assert not oidc.assurance_met(chosen, {"acr": "eidas1", "amr": ["pwd"]})
    assert oidc.assurance_met(chosen, {"acr": "eidas1", "amr": ["pwd", "otp"]})
    assert not oidc.assurance_met(chosen, {"amr": "pwd"})


def test_incomplete_settings_stop_the_start():
    with pytest.raises(oidc.OidcConfigError, match="PASSERELLE_OIDC_CD26_CLIENT_SECRET"):
        oidc.configured({"PASSERELLE_OIDC_PROVIDERS": "cd26",
                         "PASSERELLE_OIDC_CD26_ISSUER": ISSUER,
                         "PASSERELLE_OIDC_CD26_CLIENT_ID": CLIENT})
    assert oidc.configured({}) == {}
    assert oidc.configured({"PASSERELLE_OIDC_PROVIDERS": ""}) == {}
