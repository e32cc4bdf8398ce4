"""Accounts: creation, authentication, passwords, deactivation, API tokens.

Plain arguments in, rows and audit entries out; pages, API and commands call the same functions.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.auth import throttle
from app.auth.models import ApiToken, PasswordSetToken, User
from app.core import audit
from app.core.access import gate_columns, remember_gates, sql_gates
from app.core.crypto import new_secret_token, token_digest
from app.core.db import db, utcnow
from app.core.enums import Role
from app.core.errors import NotFound, TooManyRequests, Unauthenticated
from app.core.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, needs_rehash, verify_password
from app.core.validation import FieldErrors, clean_code, clean_email, clean_name, clean_text
from app.directory.services import find_site, find_structure

TOKEN_USE_PRECISION = timedelta(minutes=1)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).resolve().parent / "common_passwords.txt"
    return frozenset(line.strip() for line in path.read_text("utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """In the shipped list, as is or once the digits and symbols added at its end are removed."""
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!?.*#@$%&-_+= ")
    common = _common_passwords()
    return lowered in common or (len(stem) >= 4 and stem in common)


def password_problems(password: Any) -> list[str]:
    if not isinstance(password, str) or not password:
        return [_("Le mot de passe est obligatoire.")]
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Le mot de passe doit compter au moins %(n)d caractères.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("Le mot de passe dépasse %(n)d caractères.", n=MAX_LENGTH))
    if not problems and (is_common(password) or password.isdigit() or len(set(password)) < 5):
        problems.append(_("Ce mot de passe fait partie des plus courants : choisissez-en un autre."))
    return problems


def find_user_by_email(email: str) -> User | None:
    return db.session.scalars(
        sa.select(User).where(User.email == (email or "").strip().lower())
    ).first()


def _attachment(errors: FieldErrors, role: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The site, structure and territory a role needs, checked."""
    site_ref, structure_ref = data.get("site"), data.get("structure")
    territory = clean_text(errors, "territory", data.get("territory"), max_length=100)
    site = find_site(site_ref) if site_ref else None
    structure = find_structure(structure_ref) if structure_ref else None
    if site_ref and site is None:
        errors.add("site", _("Site inconnu ou inactif."))
    if structure_ref and structure is None:
        errors.add("structure", _("Structure inconnue ou inactive."))
    if role == Role.ACCUEIL and site is None and "site" not in errors.fields:
        errors.add("site", _("Un agent d'accueil doit être rattaché à un site."))
    if role == Role.PARTENAIRE and structure is None and "structure" not in errors.fields:
        errors.add("structure", _("Un référent partenaire doit être rattaché à une structure."))
    if (role == Role.REFERENT_PARCOURS and site is None and structure is None
            and not {"site", "structure"} & errors.fields.keys()):
        errors.add("site", _("Un référent de parcours doit être rattaché à un site ou à une structure."))
    if role == Role.COORDINATEUR and not territory and "territory" not in errors.fields:
        errors.add("territory", _("Un coordinateur doit être rattaché à un territoire."))
    return {
        "site_id": site.id if site and role in (Role.ACCUEIL, Role.REFERENT_PARCOURS) else None,
        "structure_id": (structure.id if structure
                         and role in (Role.PARTENAIRE, Role.REFERENT_PARCOURS) else None),
        "territory": territory if role == Role.COORDINATEUR else (territory or None),
    }


def create_user(data: dict[str, Any], actor: Any = None) -> User:
    """Create an account from ``email, role, password, display_name?, site?, structure?,
    territory?``; ``site`` and ``structure`` are ids or exact names.

    An account created by an administrator (``actor`` given: the administration page) gets no
    password anyone knows: a one-time link to choose it goes to the account's own address
    (``send_set_password_link``), and ``password`` is not read. The operator's command creates
    accounts with no actor and the password it reads on standard input, the first
    administrator's among them.
    """
    invited = actor is not None
    errors = FieldErrors()
    email = clean_email(errors, "email", data.get("email"))
    role = clean_code(errors, "role", data.get("role"), [r.value for r in Role])
    display_name = clean_name(errors, "display_name", data.get("display_name"), max_length=120)
    if not invited:
        for problem in password_problems(data.get("password")):
            errors.add("password", problem)
    attachment = _attachment(errors, role, data)
    if email and find_user_by_email(email):
        errors.add("email", _("Un compte existe déjà avec cette adresse."))
    errors.raise_if_any()
    user = User(
        email=email,
        role=role,
        display_name=display_name or email.split("@")[0],
        # Invited: a password nobody knows, until the owner chooses theirs through the link.
        password_hash=hash_password(new_secret_token() if invited else data["password"]),
        must_change_password=False,
        **attachment,
    )
    db.session.add(user)
    audit.record("user.create", actor=actor, object_type="user", object_id=user.id,
                 details={"role": role})
    if invited:
        db.session.flush()
        send_set_password_link(user, actor, "create")
    return user


def update_user(user: User, data: dict[str, Any], actor: Any = None) -> User:
    errors = FieldErrors()
    display_name = clean_name(errors, "display_name", data.get("display_name"), required=True,
                              max_length=120)
    attachment = _attachment(errors, user.role, data)
    errors.raise_if_any()
    user.display_name = display_name
    for key, value in attachment.items():
        setattr(user, key, value)
    audit.record("user.update", actor=actor, object_type="user", object_id=user.id)
    return user


def _revoke_everything(user: User) -> None:
    """Sessions carry ``auth_version``; bumping it ends them. Tokens are revoked explicitly."""
    from app.auth import sessions

    user.auth_version += 1
    sessions.end_all(user)
    now = utcnow()
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def deactivate_user(user: User, actor: Any = None) -> User:
    user.active = False
    user.deactivated_at = utcnow()
    _revoke_everything(user)
    audit.record("user.deactivate", actor=actor, object_type="user", object_id=user.id)
    return user


def reactivate_user(user: User, actor: Any = None) -> User:
    user.active = True
    user.deactivated_at = None
    audit.record("user.reactivate", actor=actor, object_type="user", object_id=user.id)
    return user


def reset_password(user: User, actor: Any = None) -> User:
    """An administrator resets a password: the old one stops working (sessions and tokens end)
    and a one-time link to choose a new one goes to the account's own address. The
    administrator never sees nor chooses a password."""
    user.password_hash = hash_password(new_secret_token())
    user.must_change_password = False
    _revoke_everything(user)
    audit.record("user.password_reset", actor=actor, object_type="user", object_id=user.id)
    send_set_password_link(user, actor, "reset")
    return user


# -- one-time links to choose a password ---------------------------------------------------------
SET_PASSWORD_PATH = "/account/set-password/"


def send_set_password_link(user: User, actor: Any, reason: str) -> PasswordSetToken:
    """E-mail the account's own address a link to choose its password, valid
    ``PASSERELLE_EMAIL_LINK_HOURS``, used once; the account's earlier links end. The token is
    in the message only (stored hashed), never shown to the administrator."""
    from app.notifications.services import queue

    now = utcnow()
    db.session.execute(sa.update(PasswordSetToken).where(
        PasswordSetToken.user_id == user.id, PasswordSetToken.used_at.is_(None))
        .values(used_at=now))
    raw = new_secret_token()
    link = PasswordSetToken(
        user_id=user.id, token_hash=token_digest(raw), reason=reason, created_at=now,
        created_by_id=getattr(actor, "id", None),
        expires_at=now + timedelta(hours=current_app.config["PASSERELLE_EMAIL_LINK_HOURS"]))
    db.session.add(link)
    base = current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
    opening = ("Un compte Passerelle vient d'être créé à votre nom." if reason == "create" else
               "Le mot de passe de votre compte Passerelle a été réinitialisé par un "
               "administrateur : l'ancien ne fonctionne plus.")
    queue(user.email, "Passerelle : choisissez votre mot de passe",
          f"{opening}\n\nChoisissez votre mot de passe en ouvrant ce lien, valable une seule "
          f"fois, jusqu'au {link.expires_at:%d/%m/%Y à %H:%M} UTC :\n"
          f"{base}{SET_PASSWORD_PATH}{raw}\n\n"
          "Personne d'autre ne connaît ce lien, pas même l'administrateur : ne le transmettez "
          "pas. Si vous n'attendiez pas ce message, prévenez votre coordinateur.\n",
          kind="auth.set_password", related_type="user", related_id=user.id)
    audit.record("user.set_password_link_sent", actor=actor, object_type="user",
                 object_id=user.id, details={"reason": reason, "link": link.id})
    return link


def set_password_link(raw: str | None) -> PasswordSetToken | None:
    """The unused, unexpired link of an active account that ``raw`` opens, or None."""
    if not raw or len(raw) > 200:
        return None
    link = db.session.scalars(sa.select(PasswordSetToken).where(
        PasswordSetToken.token_hash == token_digest(raw))).first()
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    user = db.session.get(User, link.user_id)
    return link if user is not None and user.active else None


def set_password_with_link(raw: str | None, new: str, confirm: str | None) -> User:
    """Choose a password through a one-time link: same rules as a change; the link is used up
    (by one request only, even when two race), every session and token of the account ends."""
    link = set_password_link(raw)
    if link is None:
        raise NotFound(_("Ce lien n'est plus valable : il a déjà servi, a expiré ou a été "
                         "remplacé par un plus récent. Demandez-en un nouveau à votre "
                         "administrateur."))
    errors = FieldErrors()
    for problem in password_problems(new):
        errors.add("new_password", problem)
    if confirm is not None and new != confirm:
        errors.add("confirm_password", _("Les deux mots de passe ne correspondent pas."))
    errors.raise_if_any()
    now = utcnow()
    claimed = db.session.execute(sa.update(PasswordSetToken).where(
        PasswordSetToken.id == link.id, PasswordSetToken.used_at.is_(None))
        .values(used_at=now)).rowcount == 1
    if not claimed:
        raise NotFound(_("Ce lien n'est plus valable : il a déjà servi, a expiré ou a été "
                         "remplacé par un plus récent. Demandez-en un nouveau à votre "
                         "administrateur."))
    user = db.session.get(User, link.user_id)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    _revoke_everything(user)
    audit.record("auth.password_set", actor=user, object_type="user", object_id=user.id,
                 details={"link": link.id})
    return user


def change_password(user: User, current: str, new: str, confirm: str | None = None) -> User:
    errors = FieldErrors()
    if not verify_password(user.password_hash, current or ""):
        errors.add("current_password", _("Le mot de passe actuel est incorrect."))
    for problem in password_problems(new):
        errors.add("new_password", problem)
    if confirm is not None and new != confirm:
        errors.add("confirm_password", _("Les deux mots de passe ne correspondent pas."))
    if isinstance(new, str) and new and new == current:
        errors.add("new_password", _("Choisissez un mot de passe différent de l'actuel."))
    errors.raise_if_any()
    user.password_hash = hash_password(new)
    user.must_change_password = False
    _revoke_everything(user)
    audit.record("auth.password_change", actor=user, object_type="user", object_id=user.id)
    return user


def check_credentials(email: str, password: str, ip: str | None, channel: str = "page",
                      known_device: bool = False) -> User:
    """The first step of a login: the account whose e-mail and password these are, or
    ``Unauthenticated`` / ``TooManyRequests``.

    Failures are recorded and audited; an account or address over its limit is refused without
    the password being checked. A success is not recorded here: the login is complete only once
    ``complete_login`` has run (after the second factor, for an account that has one), so that a
    right password alone never resets the account's count of failures. ``known_device``: the
    browser has logged into this account before (``throttle.is_known_device``): the address
    limit does not apply to it.
    """
    email = (email or "").strip().lower()[:254]
    _refuse_if_throttled(email, ip, channel, known_device=known_device)
    user = find_user_by_email(email)
    password_ok = verify_password(user.password_hash if user else None, password or "")
    if user is not None and user.sso_only:
        # An account set to single sign-on only (app.auth.oidc): its password opens nothing,
        # and the answer is the same whether the password was right or not (no oracle).
        password_ok = False
        reason = "sso_only"
    else:
        reason = "inactive" if user and password_ok else "credentials"
    if user is None or not password_ok or not user.active:
        throttle.record_attempt(email, ip, throttle.FAILURE, user.id if user else None)
        audit.record(
            "auth.login_failed",
            actor_kind="anonymous",
            object_type="user" if user else None,
            object_id=user.id if user else None,
            details={"channel": channel, "reason": reason},
        )
        raise Unauthenticated(_("Adresse électronique ou mot de passe incorrect."), persist=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def complete_login(user: User, ip: str | None, channel: str = "page",
                   code: str | None = None, known_device: bool = False,
                   details: dict[str, Any] | None = None) -> User:
    """The second step: for an account with the second factor on, check ``code`` (throttled
    like the password; a wrong code is a failed attempt); then record the success: the attempt,
    the last login time and the ``auth.login`` audit entry."""
    if user.totp_enabled:
        from app.auth import mfa

        _refuse_if_throttled(user.email, ip, channel, user, known_device=known_device)
        if not mfa.verify_second_factor(user, code):
            throttle.record_attempt(user.email, ip, throttle.FAILURE, user.id)
            audit.record("auth.login_failed", actor_kind="anonymous", object_type="user",
                         object_id=user.id, details={"channel": channel, "reason": "second_factor"})
            message = (_("Code de double authentification manquant ou incorrect (champ totp).")
                       if channel == "api" else _("Code incorrect."))
            raise Unauthenticated(message, persist=True)
    throttle.record_attempt(user.email, ip, throttle.SUCCESS, user.id)
    user.last_login_at = utcnow()
    details = {"channel": channel, **(details or {})}  # the caller's (a single sign-on's SIRET)
    if user.totp_enabled:
        details["second_factor"] = True
    audit.record("auth.login", actor=user, object_type="user", object_id=user.id, details=details)
    return user


def authenticate(email: str, password: str, ip: str | None, channel: str = "page",
                 totp: str | None = None) -> User:
    """Both steps at once, when the code comes with the password (the API's ``totp``): an
    account with the second factor on always needs its code here. Pages ask for the code on a
    page of its own (``check_credentials``, then ``complete_login``)."""
    user = check_credentials(email, password, ip, channel)
    return complete_login(user, ip, channel, totp)


def _refuse_if_throttled(email: str, ip: str | None, channel: str, user: User | None = None,
                         known_device: bool = False) -> None:
    if throttle.is_throttled(email, ip, known_device=known_device):
        throttle.record_attempt(email, ip, throttle.THROTTLED, user.id if user else None)
        audit.record("auth.login_throttled", actor_kind="anonymous", details={"channel": channel})
        raise TooManyRequests(
            _("Trop de tentatives de connexion : réessayez dans quelques minutes."), persist=True)


# -- API tokens -------------------------------------------------------------------------------
def issue_token(user: User) -> tuple[str, ApiToken]:
    raw = new_secret_token()
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        token_hash=token_digest(raw),
        auth_version=user.auth_version,
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["PASSERELLE_TOKEN_HOURS"]),
    )
    db.session.add(token)
    audit.record("auth.token_issued", actor=user, object_type="api_token", object_id=token.id)
    return raw, token


# The token's lookup per set of gates read with it, built once (issue 21: building it and its
# gates' columns at every request cost about a tenth of an authenticated trivial request). The
# statement holds no value: the token's digest is bound at each execution.
_TOKEN_LOOKUPS: dict[tuple[str, ...], sa.Select] = {}


def _token_lookup() -> tuple[tuple[str, ...], sa.Select]:
    gates = sql_gates()
    names = tuple(gate.name for gate in gates)
    statement = _TOKEN_LOOKUPS.get(names)
    if statement is None:
        # The token's user comes joined (``ApiToken.user`` is ``lazy="joined"``), with its
        # site and structure.
        statement = (sa.select(ApiToken, *gate_columns(ApiToken.user_id, gates).values())
                     .where(ApiToken.token_hash == sa.bindparam("token_hash")))
        _TOKEN_LOOKUPS[names] = statement
    return names, statement


def user_for_token(raw: str | None) -> User | None:
    """The active user of a valid, unexpired, unrevoked token; None otherwise."""
    if not raw or len(raw) > 200:
        return None
    # The gates that have an SQL form (the charter) are read in the same statement.
    gates, statement = _token_lookup()
    row = db.session.execute(statement, {"token_hash": token_digest(raw)}).first()
    token = row[0] if row is not None else None
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = token.user
    if not user.active or token.auth_version != user.auth_version:
        return None
    remember_gates(user, dict(zip(gates, row[1:], strict=True)))
    # Noted to the minute: a write on every request would cost more than it tells.
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_PRECISION:
        token.last_used_at = now
    return user


def revoke_token(raw: str, user: User) -> bool:
    token = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.token_hash == token_digest(raw),
                                  ApiToken.user_id == user.id)
    ).first()
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record("auth.token_revoked", actor=user, object_type="api_token", object_id=token.id)
    return True


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``<uuid>:<auth_version>``, only for an active account."""
    user_id, _sep, version = (session_id or "").partition(":")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or not user.active or str(user.auth_version) != version:
        return None
    return user


# -- coordinators -----------------------------------------------------------------------------
def coordinators(territories: list[str], exclude: uuid.UUID | None = None) -> list[User]:
    """The active coordinators of these territories (the ones told of unusual activity)."""
    wanted = [t for t in territories if t]
    if not wanted:
        return []
    query = sa.select(User).where(User.role == Role.COORDINATEUR, User.active.is_(True),
                                  User.territory.in_(wanted))
    if exclude is not None:
        query = query.where(User.id != exclude)
    return list(db.session.scalars(query.order_by(User.email)))
