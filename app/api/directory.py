"""Sites and partner structures."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from marshmallow import fields

from app.api.base import Blueprint, StrictSchema
from app.core.enums import Domain
from app.core.errors import ValidationFailed
from app.core.permissions import access
from app.directory import services
from app.directory.models import Structure
from app.orientation.designated import referents_by_structure

blp = Blueprint("api_directory", __name__, url_prefix="/api/v1", description="Directory")


class SiteSchema(StrictSchema):
    id = fields.UUID()
    name = fields.String()
    kind = fields.String()
    territory = fields.String()
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class ReferentSchema(StrictSchema):
    id = fields.UUID()
    display_name = fields.String()


class StructureSchema(StrictSchema):
    id = fields.UUID()
    name = fields.String()
    kind = fields.String()
    domains = fields.List(fields.String())
    territories = fields.List(fields.String())
    ack_delay = fields.Integer()
    take_charge_delay = fields.Integer()
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    opening_hours = fields.String(allow_none=True)
    referents = fields.List(fields.Nested(ReferentSchema))


class StructureQuerySchema(StrictSchema):
    domain = fields.String()
    territory = fields.String()
    q = fields.String()


@blp.route("/sites", methods=["GET"])
@access("directory.read")
@blp.response(200, SiteSchema(many=True))
def sites():
    """Active reception sites."""
    return services.list_sites()


@blp.route("/structures", methods=["GET"])
@access("directory.read")
@blp.arguments(StructureQuerySchema, location="query")
@blp.response(200, StructureSchema(many=True))
def structures(args):
    """Active partner structures, filtered by domain, territory and words of their name, with
    their designated referents (for ``domain`` when given; every partner user of a structure
    that designated none)."""
    domain = args.get("domain")
    if domain and domain not in Domain._value2member_map_:
        raise ValidationFailed(_("Certaines valeurs sont invalides."),
                               {"domain": [_("Domaine inconnu.")]})
    found = services.search_structures(domain=domain, territory=args.get("territory"),
                                       q=args.get("q"))
    referents = referents_by_structure([s.id for s in found], domain)
    return [_structure_view(s, referents.get(s.id, [])) for s in found]


def _structure_view(structure: Structure, referents: list) -> dict:
    view = {name: getattr(structure, name) for name in StructureSchema().fields
            if name not in {"domains", "territories", "referents"}}
    view.update(
        domains=list(structure.domains),
        territories=list(structure.territories),
        ack_delay=structure.ack_delay or current_app.config["ACK_DELAY"],
        take_charge_delay=structure.take_charge_delay or current_app.config["TAKE_CHARGE_DELAY"],
        referents=referents,
    )
    return view
