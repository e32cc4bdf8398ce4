"""Indicators: the same figures as the Pilotage page."""

from __future__ import annotations

from flask import request
from marshmallow import fields

from app.api.base import Blueprint, StrictSchema
from app.core.permissions import access
from app.pilotage import indicators
from app.pilotage.views import indicator_query

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
    their needs, orientations in the channel of the visit they were sent from."""
    query = indicator_query(request.args)
    report = indicators.compute(query)
    return {"period": {"from": query.date_from.isoformat(), "to": query.date_to.isoformat()},
            "territory": query.territory, "by": query.by, "totals": report.totals,
            "groups": report.groups, "months": report.months,
            "refusal_reasons": report.refusal_reasons,
            "parcours_outcomes": report.parcours_outcomes, "domains": report.domains,
            "channels": report.channels, "targets": report.targets}
