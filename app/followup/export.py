"""The follow-up part of a person's record (RGPD access right), and the follow-up actions of
the person's access log; registered with accueil."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.records import register_access_log_actions, register_export_section
from app.core.db import db
from app.directory.models import Structure
from app.followup.models import FollowUp
from app.orientation.models import Orientation

CHANNEL_LABELS = {"sms": _l("Par SMS"), "email": _l("Par courriel")}


def export_followups(person: Any) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(FollowUp, Orientation.sent_at, Structure.name)
        .join(Orientation, Orientation.id == FollowUp.orientation_id)
        .join(Structure, Structure.id == Orientation.structure_id)
        .where(Orientation.person_id == person.id).order_by(Orientation.sent_at)).all()
    return [{"orientation_id": f.orientation_id, "structure": structure,
             "orientation_sent_at": sent_at, "code_created_at": f.code_created_at,
             "updates_channel": f.updates_channel, "updates_contact": f.updates_contact,
             "consent_at": f.consent_at, "withdrawn_at": f.withdrawn_at}
            for f, sent_at, structure in rows]


def register() -> None:
    """The follow-up in the person's record and access log (called by the feature's init_app)."""
    register_export_section("followup", export_followups, title=_l("Suivi de la demande par la personne"),
                            template="followup/_export.html", context={"CHANNEL": CHANNEL_LABELS})
    register_access_log_actions({
        "followup.code_issued": _l("Création d'un code de suivi"),
        "followup.consent": _l("Accord pour recevoir des nouvelles"),
        "followup.withdraw": _l("Arrêt des nouvelles"),
        "followup.viewed": _l("Consultation du suivi par la personne"),
    })
