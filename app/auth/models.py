"""Users of Passerelle, their login attempts and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Encrypted, Model, utcnow
from app.core.enums import Role
from app.directory.models import Site, Structure


class User(Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN (" + ", ".join(repr(r.value) for r in Role) + ")", name="role"
        ),
    )

    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    display_name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(30), index=True)
    site_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    structure_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("structures.id"), index=True
    )
    territory: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    # Bumped on password change and deactivation: every session and token of the old value dies.
    auth_version: Mapped[int] = mapped_column(default=1)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    totp_secret = Encrypted()
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)  # no code used twice
    # Single sign-on only: the password login refuses the account (app.auth.oidc).
    sso_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    site: Mapped[Site | None] = relationship(lazy="joined")
    structure: Mapped[Structure | None] = relationship(lazy="joined")

    # -- Flask-Login protocol ---------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_version}"

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class LoginAttempt(Model):
    """One login attempt; the e-mail is kept only as a blind index, never in clear."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_email_index_at", "email_index", "at"),
                      sa.Index("ix_login_attempts_ip_at", "ip", "at"))

    at: Mapped[datetime] = mapped_column(default=utcnow)
    email_index: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    outcome: Mapped[str] = mapped_column(sa.String(12))  # success, failure, throttled
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class ApiToken(Model):
    """An opaque bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    auth_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class RecoveryCode(Model):
    """A one-time second-factor recovery code; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class UserSession(Model):
    """A page session, so that a user sees their sessions and can end them."""

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
    revoked_at: Mapped[datetime | None]


class OidcIdentity(Model):
    """An account's identity at an OpenID Connect provider, ``(issuer, subject)``: linked at the
    first single sign-on by the provider's verified e-mail, then used alone (app.auth.oidc)."""

    __tablename__ = "oidc_identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),
                      sa.UniqueConstraint("user_id", "issuer"))

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    provider: Mapped[str] = mapped_column(sa.String(40))  # the settings' name when linked
    issuer: Mapped[str] = mapped_column(sa.String(300))
    subject: Mapped[str] = mapped_column(sa.String(255))
    # ProConnect's claims of the last login: the identity provider behind it and the SIRET of
    # the agent's organisation (information for the administrator; never creates anything).
    idp_id: Mapped[str | None] = mapped_column(sa.String(200))
    siret: Mapped[str | None] = mapped_column(sa.String(14))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class OidcRevocation(Model):
    """An identity an administrator detached from an account: the next single sign-on of this
    ``(issuer, subject)`` is refused instead of linking it again by e-mail, until an
    administrator allows it again (the row is then deleted)."""

    __tablename__ = "oidc_revocations"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    issuer: Mapped[str] = mapped_column(sa.String(300))
    subject: Mapped[str] = mapped_column(sa.String(255))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))


class PasswordSetToken(Model):
    """A one-time link to choose one's password, e-mailed to the account's own address when an
    administrator creates the account or resets its password (the administrator never sees a
    password). Only the token's SHA-256 is stored; used once, then ``used_at`` is set; a newer
    link of the same account ends the older ones."""

    __tablename__ = "password_set_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(20))  # create, reset
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
