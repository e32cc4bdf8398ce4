"""The orientations part of a person's record (RGPD access right), registered with accueil.

Everything held, whoever sent or received it: structure, motive, consent and its purpose, the
shared fields, the status and dates, and every event with its reason.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.records import register_export_section, user_names
from app.core.db import db
from app.directory.models import Structure
from app.orientation.forms import REFUSAL_LABELS
from app.orientation.models import Orientation, OrientationEvent

EVENT_LABELS = {"reminder": _l("relance"), "escalation": _l("signalement au coordinateur"),
                "comment": _l("commentaire")}


def export_orientations(person: Any) -> list[dict[str, Any]]:
    rows = list(db.session.scalars(sa.select(Orientation).where(
        Orientation.person_id == person.id).order_by(Orientation.sent_at)))
    if not rows:
        return []
    ids = [o.id for o in rows]
    structures = dict(db.session.execute(sa.select(Structure.id, Structure.name).where(
        Structure.id.in_({o.structure_id for o in rows}))).all())
    events: dict[Any, list[OrientationEvent]] = {}
    for event in db.session.scalars(sa.select(OrientationEvent).where(
            OrientationEvent.orientation_id.in_(ids)).order_by(OrientationEvent.seq)):
        events.setdefault(event.orientation_id, []).append(event)
    names = user_names({o.sender_id for o in rows} | {o.referent_id for o in rows}
                       | {e.actor_id for found in events.values() for e in found})
    return [{
        "id": o.id,
        "structure": {"id": o.structure_id, "name": structures.get(o.structure_id)},
        "domain": o.domain,
        "motive": o.motive,
        "consent": {"given": o.consent_given, "purpose": o.consent_purpose,
                    "shared_fields": sorted(o.shared)},
        "coverage_override": o.coverage_override,
        "status": o.status,
        "sent_at": o.sent_at,
        "sender": names.get(o.sender_id),
        "acknowledge_due": o.acknowledge_due,
        "take_charge_due": o.take_charge_due,
        "acknowledged_at": o.acknowledged_at,
        "taken_charge_at": o.taken_charge_at,
        "first_appointment_on": o.first_appointment_on,
        "closed_at": o.closed_at,
        "referent": names.get(o.referent_id) or o.referent_label,
        "outcome": o.outcome,
        "refusal_code": o.refusal_code,
        "redirected_from_id": o.redirected_from_id,
        "redirected_to_id": o.redirected_to_id,
        "events": [{"at": e.at, "kind": e.kind,
                    "actor": names.get(e.actor_id) or e.actor_label or "Passerelle",
                    "from_status": e.from_status, "to_status": e.to_status, "reason": e.reason}
                   for e in events.get(o.id, [])],
    } for o in rows]


def register() -> None:
    """Orientations in the person's record (called by the feature's init_app)."""
    register_export_section("orientations", export_orientations, title=_l("Orientations"),
                            template="orientation/_export.html",
                            context={"REFUSAL_LABELS": REFUSAL_LABELS,
                                     "EVENT_LABELS": EVENT_LABELS})
