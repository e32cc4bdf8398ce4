"""Reception sites (where people are welcomed) and partner structures (where they are oriented)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Model, utcnow
from app.core.enums import SiteKind, StructureKind


def _values_check(column: str, enum) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in enum)})"


class Site(Model):
    __tablename__ = "sites"
    __table_args__ = (sa.CheckConstraint(_values_check("kind", SiteKind), name="kind"),)

    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    territory: Mapped[str] = mapped_column(sa.String(100), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    opening_hours: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StructureDomain(Model):
    __tablename__ = "structure_domains"
    __table_args__ = (sa.UniqueConstraint("structure_id", "domain"),)

    structure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(sa.String(40), index=True)


class StructureTerritory(Model):
    __tablename__ = "structure_territories"
    __table_args__ = (sa.UniqueConstraint("structure_id", "territory"),)

    structure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    territory: Mapped[str] = mapped_column(sa.String(100), index=True)


class Structure(Model):
    __tablename__ = "structures"
    __table_args__ = (
        sa.CheckConstraint(_values_check("kind", StructureKind), name="kind"),
        sa.CheckConstraint("ack_delay IS NULL OR ack_delay BETWEEN 1 AND 60", name="ack_delay"),
        sa.CheckConstraint(
            "take_charge_delay IS NULL OR take_charge_delay BETWEEN 1 AND 120",
            name="take_charge_delay",
        ),
    )

    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    opening_hours: Mapped[str | None] = mapped_column(sa.String(300))
    ack_delay: Mapped[int | None]
    take_charge_delay: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # data·inclusion identity, for upserts by identifier and date_maj.
    external_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    source_updated_on: Mapped[date | None]
    head_contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    # The establishment's SIRET (14 digits) from data·inclusion or the administrator: not unique
    # (data·inclusion allows the head office's for several places). A single sign-on's ``siret``
    # claim is compared with it (app.auth.oidc), never used to attach an account.
    siret: Mapped[str | None] = mapped_column(sa.String(14), index=True)

    # Loaded when read (lists ask for them with ``with_coverage``): a partner's every request
    # loads its structure, and needs neither.
    domain_rows: Mapped[list[StructureDomain]] = relationship(
        cascade="all, delete-orphan", order_by=StructureDomain.domain
    )
    territory_rows: Mapped[list[StructureTerritory]] = relationship(
        cascade="all, delete-orphan", order_by=StructureTerritory.territory
    )
    domains: AssociationProxy[list[str]] = association_proxy(
        "domain_rows", "domain", creator=lambda code: StructureDomain(domain=code)
    )
    territories: AssociationProxy[list[str]] = association_proxy(
        "territory_rows", "territory", creator=lambda name: StructureTerritory(territory=name)
    )


class DirectoryService(Model):
    """A service of a structure, imported from data·inclusion."""

    __tablename__ = "directory_services"

    external_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    structure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    thematiques: Mapped[str] = mapped_column(sa.Text, default="")
    domains: Mapped[str] = mapped_column(sa.String(400), default="")
    source_updated_on: Mapped[date]


class ContactChange(Model):
    """A new contact address for a structure, set by an administrator and waiting for its
    confirmation from that address (a one-time link, stored hashed). Until confirmed, the
    structure keeps its confirmed ``contact_email``: contact links and messages go there, never
    to the new address. The old address is told of the request."""

    __tablename__ = "structure_contact_changes"

    structure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("structures.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    previous_email: Mapped[str | None] = mapped_column(sa.String(254))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    structure: Mapped[Structure] = relationship()
