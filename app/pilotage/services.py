"""Pilotage lists read from the other features (pilotage reads them all, none reads it), and
the indicators' query as the page and the API ask it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from app.core.db import db, utcnow
from app.core.enums import Role
from app.core.errors import Forbidden, ValidationFailed
from app.core.i18n import fdate
from app.core.routing import replica_reads
from app.directory import services as directory
from app.orientation.deadlines import local_date
from app.pilotage import indicators
from app.referents.models import Parcours
from app.referents.services import silent_filter


def silent_parcours_page(territory: str | None, limit: int, offset: int
                         ) -> tuple[list[Parcours], int]:
    """A page of the territory's silent parcours, the longest silent first, and their total."""
    query = sa.select(Parcours).where(silent_filter(), Parcours.territory == territory)
    with replica_reads():  # a count that tolerates seconds of lag; the rows: the primary
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(
        sa.func.coalesce(Parcours.last_entry_at, Parcours.opened_at), Parcours.id)
        .limit(limit).offset(offset)).all()
    return list(rows), total


def indicator_query(args: Mapping[str, str], user: Any) -> indicators.Query:
    """The period, territory and grouping asked for in ``args`` (a page's or the API's query
    string), checked; a coordinator sees their territory. The page and the API ask the same."""
    errors: dict[str, list[str]] = {}
    today = local_date(utcnow())
    # Bounded: the calendar table is filled up to the dates asked for.
    earliest, latest = indicators.EARLIEST, indicators.latest(today)

    def parse(name: str, default: date) -> date:
        raw = args.get(name)
        if not raw:
            return default
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors[name] = [_("Date invalide : utilisez le format AAAA-MM-JJ.")]
            return default
        if not earliest <= value <= latest:
            errors[name] = [_("Choisissez une date entre le %(a)s et le %(b)s.",
                              a=fdate(earliest), b=fdate(latest))]
            return default
        return value

    date_to = parse("to", today)
    date_from = parse("from", date_to - timedelta(days=364))
    if not errors and date_from > date_to:
        errors["from"] = [_("Le début de la période doit précéder sa fin.")]
    elif not errors and (date_to - date_from).days > 3660:
        errors["from"] = [_("La période ne peut pas dépasser dix ans.")]
    by = args.get("by") or None
    if by is not None and by not in indicators.GROUPINGS:
        errors["by"] = [_("Valeurs possibles : %(v)s.", v=", ".join(indicators.GROUPINGS))]
    min_days = current_app.config["PASSERELLE_INDICATORS_MIN_WINDOW_DAYS"]
    if not errors and indicators.too_short(indicators.Query(date_from, date_to, None, by),
                                           min_days):
        # A day's figures by site or structure follow persons from one day to the next.
        errors["from"] = [ngettext(
            "Le détail par site, structure, domaine, canal ou territoire demande une période "
            "d'au moins %(num)d jour.",
            "Le détail par site, structure, domaine, canal ou territoire demande une période "
            "d'au moins %(num)d jours.", min_days)]
    territory = args.get("territory") or None
    if user.role == Role.COORDINATEUR:
        if territory and territory != user.territory:
            raise Forbidden(_("Vous ne suivez que votre territoire."))
        territory = user.territory
    if errors:
        raise ValidationFailed(_("Certaines valeurs sont invalides."), errors)
    return indicators.Query(date_from, date_to, territory, by)


def territory_choices(user: Any) -> list[str]:
    """The territories ``user`` may choose on the indicators page: every one for an
    administrator; none for a coordinator, whose own territory is imposed (``indicator_query``)."""
    return directory.territories() if user.role == Role.ADMIN else []
