"""Single sign-on with OpenID Connect (ProConnect, a département's identity provider).

Each provider is a block of settings (``PASSERELLE_OIDC_PROVIDERS=proconnect,cd26`` then
``PASSERELLE_OIDC_<NAME>_ISSUER`` …). The login is the authorization code flow with PKCE, a
``state`` and a ``nonce``; the ID token's signature is checked against the provider's JWKS (read
from its discovery document, read again when a token names a key it does not hold: key rotation)
and its ``iss``, ``aud``, ``azp``, ``exp``, ``iat`` and ``nonce`` are checked here. A userinfo
answered as a signed JWT (ProConnect) is checked the same way.

Accounts are provisioned by an administrator, never created by a login: an identity finds its
account by ``(issuer, subject)`` once linked, and the first time by the provider's verified
e-mail. Nothing here knows about pages; ``OidcError`` carries a reason code for the audit.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import sqlalchemy as sa
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app
from flask_babel import gettext as _
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.auth.models import OidcIdentity, OidcRevocation, User
from app.core import audit
from app.core.db import db, utcnow
from config import ConfigError

HTTP_TIMEOUT = 10
METADATA_SECONDS = 3600
JWKS_REFETCH_SECONDS = 60  # a token naming an unknown key reads the JWKS again, at most this often
LEEWAY_SECONDS = 60
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                   "ES256", "ES384", "ES512", "EdDSA"})
ASSURANCE_CLAIMS = frozenset({"acr", "amr", "auth_time"})
DEFAULT_SCOPES = "openid email profile"
PROCONNECT_SCOPES = "openid email given_name usual_name siret idp_id"


class OidcConfigError(ConfigError):
    """A provider's settings are incomplete: the application refuses to start."""


class OidcError(Exception):
    """A login that cannot go on; ``reason`` is a code for the audit, never shown as is."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Provider:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    acr_values: str | None
    label: str
    mfa_acr: frozenset[str]
    mfa_amr: frozenset[str]
    trust_email: bool

    @property
    def proconnect(self) -> bool:
        return self.name == "proconnect"


def _words(raw: Any, separator: str | None = ",") -> frozenset[str]:
    return frozenset(w.strip() for w in str(raw or "").split(separator) if w.strip())


def configured(config: Any = None) -> dict[str, Provider]:
    """The providers of ``PASSERELLE_OIDC_PROVIDERS``, in their order; none when it is empty.
    Raises ``OidcConfigError`` naming the first missing setting."""
    config = current_app.config if config is None else config
    providers: dict[str, Provider] = {}
    for name in [n.strip().lower() for n in str(config.get("PASSERELLE_OIDC_PROVIDERS") or "")
                 .split(",") if n.strip()]:
        if not name.replace("_", "").isalnum() or len(name) > 40:
            raise OidcConfigError(f"PASSERELLE_OIDC_PROVIDERS: {name!r} is not a plain name")
        prefix = f"PASSERELLE_OIDC_{name.upper()}_"

        def setting(key: str, default: str | None = None, *, prefix: str = prefix) -> str | None:
            value = config.get(prefix + key)
            return str(value).strip() if value not in (None, "") else default

        for key in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET"):
            if not setting(key):
                raise OidcConfigError(f"{prefix}{key} is missing (provider {name!r})")
        if (config.get("PASSERELLE_ENV") == "production"
                and not setting("ISSUER").lower().startswith("https://")):
            raise OidcConfigError(f"production refuses to start: {prefix}ISSUER must be an "
                                  f"https:// address (provider {name!r})")
        proconnect = name == "proconnect"
        providers[name] = Provider(
            name=name,
            issuer=setting("ISSUER").rstrip("/"),
            client_id=setting("CLIENT_ID"),
            client_secret=setting("CLIENT_SECRET"),
            scopes=setting("SCOPES", PROCONNECT_SCOPES if proconnect else DEFAULT_SCOPES),
            acr_values=setting("ACR_VALUES"),
            label=setting("LABEL") or "",
            mfa_acr=_words(setting("MFA_ACR")),
            mfa_amr=_words(setting("MFA_AMR")),
            trust_email=(setting("TRUST_EMAIL", "0") or "").lower() in {"1", "true", "yes", "on"},
        )
    return providers


def get(name: str) -> Provider | None:
    return configured().get((name or "").lower())


def display_name(provider: Provider) -> str:
    """The provider as users know it: ``_LABEL`` ("Compte agent du Département"), else its name."""
    return provider.label or ("ProConnect" if provider.proconnect else provider.name)


def button_label(provider: Provider) -> str:
    if provider.proconnect:
        return _("S'identifier avec %(provider)s", provider=display_name(provider))
    return _("Se connecter avec %(provider)s", provider=display_name(provider))


def login_buttons() -> list[dict[str, Any]]:
    """What the login page shows: one button per provider (none without settings)."""
    return [{"name": p.name, "label": button_label(p), "proconnect": p.proconnect}
            for p in configured().values()]


# -- the provider's documents ---------------------------------------------------------------
_CACHE: dict[str, dict[str, Any]] = {}


def _get_json(url: str) -> dict[str, Any]:
    try:
        answer = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        answer.raise_for_status()
        data = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError("provider_unreachable") from exc
    if not isinstance(data, dict):
        raise OidcError("provider_unreachable")
    return data


def metadata(provider: Provider) -> dict[str, Any]:
    """The discovery document, kept an hour; its ``issuer`` must be the configured one."""
    entry = _CACHE.setdefault(provider.issuer, {})
    if "metadata" not in entry or time.time() - entry["metadata_at"] > METADATA_SECONDS:
        data = _get_json(provider.issuer + "/.well-known/openid-configuration")
        if str(data.get("issuer", "")).rstrip("/") != provider.issuer:
            raise OidcError("discovery_issuer")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise OidcError("discovery_incomplete")
        entry["metadata"], entry["metadata_at"] = data, time.time()
    return entry["metadata"]


def _keys(provider: Provider, kid: str | None) -> KeySet:
    """The provider's keys; read again when ``kid`` is not among them (rotation)."""
    entry = _CACHE.setdefault(provider.issuer, {})
    keys: KeySet | None = entry.get("keys")
    known = keys is not None and (kid is None or any(k.kid == kid for k in keys.keys))
    if not known and time.time() - entry.get("keys_at", 0) > JWKS_REFETCH_SECONDS or keys is None:
        try:
            keys = KeySet.import_key_set(_get_json(metadata(provider)["jwks_uri"]))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise OidcError("jwks_invalid") from exc
        entry["keys"], entry["keys_at"] = keys, time.time()
    return keys


def forget(provider: Provider) -> None:
    _CACHE.pop(provider.issuer, None)


def _verified_claims(provider: Provider, raw: Any, what: str) -> dict[str, Any]:
    """A signed JWT's claims once its signature is checked with one of the provider's keys."""
    if not isinstance(raw, str) or raw.count(".") != 2:
        raise OidcError(f"{what}_malformed")
    try:
        header = jws.extract_compact(raw.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise OidcError(f"{what}_malformed") from exc
    alg = header.get("alg")
    allowed = set(metadata(provider).get(f"{what}_signing_alg_values_supported")
                  or ["RS256"]) & ASYMMETRIC_ALGORITHMS
    if what == "userinfo":
        allowed = set(metadata(provider).get("id_token_signing_alg_values_supported")
                      or ["RS256"]) & ASYMMETRIC_ALGORITHMS | allowed
    if alg not in allowed:
        raise OidcError(f"{what}_algorithm")
    kid = header.get("kid")
    keys = _keys(provider, kid)
    if kid is not None and not any(k.kid == kid for k in keys.keys):
        raise OidcError(f"{what}_unknown_key")
    try:
        return dict(jwt.decode(raw, keys, algorithms=[alg]).claims)
    except JoseError as exc:
        raise OidcError(f"{what}_signature") from exc


def _check_audience(provider: Provider, claims: dict[str, Any], what: str) -> None:
    if str(claims.get("iss", "")).rstrip("/") != provider.issuer:
        raise OidcError(f"{what}_issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or provider.client_id not in audiences:
        raise OidcError(f"{what}_audience")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != provider.client_id:
        raise OidcError(f"{what}_audience")


def validate_id_token(provider: Provider, raw: Any, nonce: str,
                      now: float | None = None) -> dict[str, Any]:
    """The ID token's claims, once signature, issuer, audience, times and nonce are checked."""
    claims = _verified_claims(provider, raw, "id_token")
    _check_audience(provider, claims, "id_token")
    now = time.time() if now is None else now
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp + LEEWAY_SECONDS < now:
        raise OidcError("id_token_expired")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or iat - LEEWAY_SECONDS > now:
        raise OidcError("id_token_issued_at")
    if not nonce or claims.get("nonce") != nonce:
        raise OidcError("id_token_nonce")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise OidcError("id_token_subject")
    return claims


# -- the flow --------------------------------------------------------------------------------
def _client(provider: Provider, redirect_uri: str) -> OAuth2Session:
    methods = metadata(provider).get("token_endpoint_auth_methods_supported") or [
        "client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return OAuth2Session(provider.client_id, provider.client_secret, scope=provider.scopes,
                         redirect_uri=redirect_uri, code_challenge_method="S256",
                         token_endpoint_auth_method=method)


def authorization_request(provider: Provider, redirect_uri: str) -> tuple[str, dict[str, Any]]:
    """The provider's authorization URL and what the callback must find again (kept in the
    session): state, nonce and PKCE verifier, all random."""
    meta = metadata(provider)
    pending = {"provider": provider.name, "state": generate_token(32),
               "nonce": generate_token(32), "verifier": generate_token(64), "at": time.time()}
    extra: dict[str, Any] = {}
    if provider.acr_values:
        extra["acr_values"] = provider.acr_values
    if provider.mfa_amr and meta.get("claims_parameter_supported"):
        extra["claims"] = json.dumps({"id_token": {"amr": {"essential": True}}})
    client = _client(provider, redirect_uri)
    url, _state = client.create_authorization_url(
        meta["authorization_endpoint"], state=pending["state"], nonce=pending["nonce"],
        code_verifier=pending["verifier"], **extra)
    return url, pending


def finish(provider: Provider, redirect_uri: str, pending: dict[str, Any],
           code: str) -> dict[str, Any]:
    """Exchange the code (with the PKCE verifier), check the ID token, read userinfo; the
    identity's claims, with ``id_token`` (raw, kept for the logout) added."""
    meta = metadata(provider)
    try:
        token = _client(provider, redirect_uri).fetch_token(
            meta["token_endpoint"], grant_type="authorization_code", code=code,
            code_verifier=pending["verifier"], timeout=HTTP_TIMEOUT)
    except (OAuthError, requests.RequestException, ValueError) as exc:
        raise OidcError("token_exchange") from exc
    raw = token.get("id_token")
    claims = validate_id_token(provider, raw, pending["nonce"])
    if meta.get("userinfo_endpoint") and token.get("access_token"):
        info = userinfo(provider, meta["userinfo_endpoint"], token["access_token"])
        if info.get("sub") != claims["sub"]:
            raise OidcError("userinfo_subject")
        # Userinfo adds profile claims; the assurance (acr, amr) is the ID token's alone.
        claims = {**{k: v for k, v in info.items() if k not in ASSURANCE_CLAIMS}, **claims}
    claims["id_token"] = raw
    return claims


def userinfo(provider: Provider, url: str, access_token: str) -> dict[str, Any]:
    """The userinfo answer: plain JSON, or a signed JWT (ProConnect) checked like an ID token."""
    try:
        answer = requests.get(url, timeout=HTTP_TIMEOUT,
                              headers={"Authorization": f"Bearer {access_token}"})
        answer.raise_for_status()
    except requests.RequestException as exc:
        raise OidcError("userinfo_unreachable") from exc
    if answer.headers.get("Content-Type", "").split(";")[0].strip() == "application/jwt":
        claims = _verified_claims(provider, answer.text.strip(), "userinfo")
        _check_audience(provider, claims, "userinfo")
        return claims
    if provider.proconnect:
        raise OidcError("userinfo_not_signed")
    try:
        data = answer.json()
    except ValueError as exc:
        raise OidcError("userinfo_malformed") from exc
    if not isinstance(data, dict):
        raise OidcError("userinfo_malformed")
    return data


def end_session_url(name: str, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout at the provider, when it offers it."""
    provider = get(name)
    if provider is None:
        return None
    try:
        endpoint = metadata(provider).get("end_session_endpoint")
    except OidcError:
        return None
    if not isinstance(endpoint, str):
        return None
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri":
                       post_logout_redirect_uri, "client_id": provider.client_id})
    return endpoint + ("&" if "?" in endpoint else "?") + query


# -- accounts --------------------------------------------------------------------------------
class UnknownIdentity(Exception):
    """No account for this identity (or not linkable): the page says who to ask."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AccountDisabled(Exception):
    pass


def _clean(value: Any, length: int) -> str | None:
    return value[:length] if isinstance(value, str) and value.strip() else None


def _siret(value: Any) -> str | None:
    value = str(value or "").replace(" ", "")
    return value if len(value) == 14 and value.isdigit() else None


def _identity(issuer: str, subject: str) -> OidcIdentity | None:
    return db.session.scalars(sa.select(OidcIdentity).where(
        OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)).first()


def _revoked(issuer: str, subject: str) -> bool:
    return db.session.scalars(sa.select(OidcRevocation.id).where(
        OidcRevocation.issuer == issuer, OidcRevocation.subject == subject)).first() is not None


def _refuse(provider: Provider, reason: str, user: User | None = None) -> UnknownIdentity:
    audit.record("auth.sso_unknown", actor_kind="anonymous",
                 object_type="user" if user is not None else None,
                 object_id=user.id if user is not None else None,
                 details={"provider": provider.name, "reason": reason})
    return UnknownIdentity(reason)


def _linkable_user(provider: Provider, claims: dict[str, Any]) -> User:
    """The account that the verified e-mail of an identity not yet linked designates, when it
    may be linked to it: not an identity an administrator detached, not an account already
    linked to another identity at this provider. Raises ``UnknownIdentity`` (audited)."""
    from app.auth.services import find_user_by_email

    if _revoked(provider.issuer, claims["sub"]):
        raise _refuse(provider, "revoked")
    email = claims.get("email")
    verified = claims.get("email_verified") is True or provider.trust_email
    user = find_user_by_email(email) if isinstance(email, str) and verified else None
    if user is None:
        raise _refuse(provider, "unknown" if verified else "email_not_verified")
    other = db.session.scalars(sa.select(OidcIdentity).where(
        OidcIdentity.user_id == user.id, OidcIdentity.issuer == provider.issuer)).first()
    if other is not None:
        # The account is linked to another identity at this provider: never two.
        raise _refuse(provider, "linked_to_another", user)
    return user


def account_for(provider: Provider, claims: dict[str, Any]) -> tuple[User, OidcIdentity | None]:
    """The account of these (checked) claims: by its link ``(issuer, sub)``, else by the verified
    e-mail; the identity is then None: ``link`` makes the link once the login has completed
    (after Passerelle's second factor, when one is asked). Never creates an account. Raises
    ``UnknownIdentity`` (audited, the caller commits the entry) or ``AccountDisabled``."""
    identity = _identity(provider.issuer, claims["sub"])
    user = identity.user if identity is not None else _linkable_user(provider, claims)
    if not user.active:
        audit.record("auth.login_failed", actor_kind="anonymous", object_type="user",
                     object_id=user.id, details={"channel": "oidc", "reason": "inactive",
                                                 "provider": provider.name})
        raise AccountDisabled()
    if identity is not None:
        identity.idp_id = _clean(claims.get("idp_id"), 200)
        identity.siret = _siret(claims.get("siret"))
    return user, identity


def pending_link(claims: dict[str, Any]) -> dict[str, Any]:
    """What ``link`` needs of the claims, kept in the session during the second factor."""
    return {"sub": claims["sub"], "email": claims.get("email"),
            "email_verified": claims.get("email_verified") is True,
            "idp_id": claims.get("idp_id"), "siret": claims.get("siret")}


def check_link(provider: Provider, user: User, claims: dict[str, Any]) -> OidcIdentity | None:
    """What ``account_for`` checked, checked again on the server before a pending link is made
    (the e-mail still designates this account, the identity was neither detached nor linked
    elsewhere meanwhile): the identity if it is already this account's, else None. Raises
    ``UnknownIdentity`` (audited)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise _refuse(provider, "unknown")
    existing = _identity(provider.issuer, subject)
    if existing is not None:
        if existing.user_id != user.id:
            raise _refuse(provider, "linked_to_another", user)
        return existing
    if _linkable_user(provider, claims).id != user.id:
        raise _refuse(provider, "unknown", user)
    return None


def link(provider: Provider, user: User, claims: dict[str, Any]) -> OidcIdentity:
    """Link the identity of ``claims`` to ``user`` at the end of a login (``check_link``
    first). Raises ``UnknownIdentity`` (audited)."""
    existing = check_link(provider, user, claims)
    if existing is not None:
        return existing
    subject = claims["sub"]
    identity = OidcIdentity(user_id=user.id, user=user, provider=provider.name,
                            issuer=provider.issuer, subject=subject,
                            idp_id=_clean(claims.get("idp_id"), 200),
                            siret=_siret(claims.get("siret")))
    db.session.add(identity)
    audit.record("auth.sso_linked", actor=user, object_type="user", object_id=user.id,
                 details={"provider": provider.name})
    return identity


def assurance_met(provider: Provider, claims: dict[str, Any]) -> bool:
    """The provider vouches for a second factor: its ``acr`` is one of ``_MFA_ACR``, or its
    ``amr`` holds one of ``_MFA_AMR``."""
    acr = claims.get("acr")
    amr = claims.get("amr")
    amr = [amr] if isinstance(amr, str) else amr if isinstance(amr, list) else []
    return ((isinstance(acr, str) and acr in provider.mfa_acr)
            or bool(provider.mfa_amr & {a for a in amr if isinstance(a, str)}))


def siret_structures(user: User, siret: str | None) -> tuple[bool, list[Any]] | None:
    """A partner's SIRET announced by the provider, when the directory knows it: whether one of
    the structures of that SIRET is the account's, and those structures. None otherwise. Only
    information (audit, administrator's page): the account's structure is never changed."""
    from app.core.enums import Role
    from app.directory.services import structures_with_siret

    if not siret or user.role != Role.PARTENAIRE.value:
        return None
    structures = structures_with_siret(siret)
    if not structures:
        return None
    return any(s.id == user.structure_id for s in structures), structures


def siret_mismatch(user: User, identity: OidcIdentity) -> list[Any]:
    """The structures of the identity's last SIRET when none of them is the account's (the
    administrator's page says so); empty otherwise."""
    found = siret_structures(user, identity.siret)
    return found[1] if found is not None and not found[0] else []


def siret_details(user: User, sso: dict[str, Any] | None) -> dict[str, Any]:
    """``siret_match`` for the login entry written after Passerelle's second factor (``sso``:
    the session's pending single sign-on): from the identity still to link, else the linked
    identity's last SIRET at that provider."""
    provider = get((sso or {}).get("provider") or "")
    if provider is None:
        return {}
    if (sso or {}).get("link"):
        siret = _siret(sso["link"].get("siret"))
    else:
        siret = next((i.siret for i in identities(user) if i.issuer == provider.issuer), None)
    found = siret_structures(user, siret)
    return {"siret_match": found[0]} if found is not None else {}


def record_login(user: User, identity: OidcIdentity, provider: Provider,
                 second_factor: str | None) -> None:
    """The success of a single sign-on: last login times and the ``auth.login`` entry (with
    ``siret_match`` when a partner's announced SIRET is known to the directory)."""
    now = utcnow()
    user.last_login_at = now
    identity.last_login_at = now
    details: dict[str, Any] = {"channel": "oidc", "provider": provider.name}
    if second_factor:
        details["second_factor"] = second_factor
    found = siret_structures(user, identity.siret)
    if found is not None:
        details["siret_match"] = found[0]
    audit.record("auth.login", actor=user, object_type="user", object_id=user.id, details=details)


def identities(user: User) -> list[OidcIdentity]:
    return list(db.session.scalars(sa.select(OidcIdentity).where(
        OidcIdentity.user_id == user.id).order_by(OidcIdentity.linked_at)))


def unlink(user: User, identity_id: Any, actor: Any) -> None:
    from app.core.errors import NotFound

    identity = db.session.get(OidcIdentity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise NotFound()
    if not _revoked(identity.issuer, identity.subject):
        # Not linked again by e-mail at the next login: an administrator allows it again.
        db.session.add(OidcRevocation(
            user_id=user.id, provider=identity.provider, issuer=identity.issuer,
            subject=identity.subject, revoked_by_id=getattr(actor, "id", None)))
    db.session.delete(identity)
    audit.record("auth.sso_unlinked", actor=actor, object_type="user", object_id=user.id,
                 details={"provider": identity.provider})


def revocations(user: User) -> list[OidcRevocation]:
    return list(db.session.scalars(sa.select(OidcRevocation).where(
        OidcRevocation.user_id == user.id).order_by(OidcRevocation.revoked_at)))


def allow_again(user: User, revocation_id: Any, actor: Any) -> None:
    """An administrator lifts a detachment: the identity may be linked again by e-mail."""
    from app.core.errors import NotFound

    revocation = db.session.get(OidcRevocation, revocation_id)
    if revocation is None or revocation.user_id != user.id:
        raise NotFound()
    db.session.delete(revocation)
    audit.record("auth.sso_allowed", actor=actor, object_type="user", object_id=user.id,
                 details={"provider": revocation.provider})


def set_sso_only(user: User, value: bool, actor: Any) -> None:
    """Turning an account "SSO only" ends everything its password opened: its sessions and API
    tokens (``_revoke_everything``; the account logs in again by its provider)."""
    from app.auth.services import _revoke_everything

    if value and not user.sso_only:
        _revoke_everything(user)
    user.sso_only = bool(value)
    audit.record("user.sso_only", actor=actor, object_type="user", object_id=user.id,
                 details={"sso_only": bool(value)})
