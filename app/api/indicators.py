"""Indicators: the same figures as the Pilotage page."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from marshmallow import fields

from app.api.base import Blueprint, StrictSchema
from app.core.permissions import access
from app.core.routing import replica_reads
from app.pilotage import indicators
from app.pilotage.services import indicator_query

blp = Blueprint("api_indicators", __name__, url_prefix="/api/v1", description="Pilotage")


class IndicatorQuerySchema(StrictSchema):
    from_ = fields.String(data_key="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    territory = fields.String()
    by = fields.String(metadata={"enum": list(indicators.GROUPINGS)})


class IndicatorsSchema(StrictSchema):
    period = fields.Dict()
    territory = fields.String(allow_none=True)
    by = fields.String(allow_none=True)
    totals = fields.Dict()
    groups = fields.List(fields.Dict())
    months = fields.List(fields.Dict())
    refusal_reasons = fields.List(fields.Dict())
    parcours_outcomes = fields.List(fields.Dict())
    domains = fields.List(fields.Dict())
    channels = fields.List(fields.Dict())
    targets = fields.Dict()
    small_count_threshold = fields.Integer(metadata={
        "description": "a count from 1 to this minus one is null, its object saying "
                       "masked: true and naming it in masked_fields"})
    min_window_days = fields.Integer(metadata={
        "description": "the shortest period (in days) a grouped request (by=) may cover"})
    figures_as_of = fields.DateTime(allow_none=True, metadata={
        "description": "null: current figures; else the time of the last transaction the "
                       "replica they were read from had replayed (DATABASE_REPLICA_URL)"})


@blp.route("/indicators", methods=["GET"])
@access("indicators.read")
@blp.arguments(IndicatorQuerySchema, location="query")
@blp.response(200, IndicatorsSchema)
def read(_args):
    """Coordinators (their territory) and admins: the indicators of a period, optionally grouped
    by ``site``, ``structure``, ``domain``, ``channel`` or ``territory``.

    Dates run from 2000-01-01 to one year after today (else 422 ``validation_error`` naming the
    field). In ``groups``, a figure that cannot be split by the grouping is ``null`` (visits by
    structure; parcours and meetings except by territory); visits count in the domain of each of
    their needs, orientations in the channel of the visit they were sent from.

    Small counts are masked as on the page and in the CSV: every object holding figures (the
    totals, each group, month, domain, channel, reason, outcome) says ``masked`` (true when one
    of its figures is withheld) and ``masked_fields``; a withheld figure is ``null``. A count
    from 1 to 4 is withheld, and so is a share or a median computed from one. A grouped request
    (``by=``) over fewer days than ``PASSERELLE_INDICATORS_MIN_WINDOW_DAYS`` (7 by default)
    answers 422 ``validation_error`` on ``from``."""
    query = indicator_query(request.args, current_user)
    with replica_reads() as route:
        report = indicators.publish(query)   # small counts masked, as on the page and in the CSV
    return {"figures_as_of": route.as_of,
            "period": {"from": query.date_from.isoformat(), "to": query.date_to.isoformat()},
            "territory": query.territory, "by": query.by,
            "totals": indicators.as_json(report.totals),
            "groups": [indicators.as_json(g) for g in report.groups],
            "months": [indicators.as_json(m) for m in report.months],
            "refusal_reasons": [indicators.as_json(r) for r in report.refusal_reasons],
            "parcours_outcomes": [indicators.as_json(o) for o in report.parcours_outcomes],
            "domains": [indicators.as_json(d) for d in report.domains],
            "channels": [indicators.as_json(c) for c in report.channels],
            "targets": report.targets, "small_count_threshold": indicators.SMALL,
            "min_window_days": current_app.config["PASSERELLE_INDICATORS_MIN_WINDOW_DAYS"]}
