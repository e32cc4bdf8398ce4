"""What a person's file says about who saw it, and the whole record for the RGPD access right."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.models import BreakGlassAccess, Person, Visit
from app.accueil.persons import revisions
from app.auth.models import User
from app.core import audit
from app.core.audit import AuditEntry
from app.core.db import db

SHOWN_ACTIONS = ("person.read", "person.create", "person.update", "person.export",
                 "person.break_glass", "person.merge", "person.merge_revert", "visit.create",
                 "visit.update", "slip.print")

ACTION_LABELS: dict[str, Any] = {
    "person.read": _l("Consultation du dossier"),
    "person.create": _l("Création du dossier"),
    "person.update": _l("Rectification de l'identité"),
    "person.export": _l("Export du dossier"),
    "person.break_glass": _l("Accès exceptionnel"),
    "person.merge": _l("Fusion de dossiers"),
    "person.merge_revert": _l("Annulation d'une fusion"),
    "visit.create": _l("Enregistrement d'un passage"),
    "visit.update": _l("Mise à jour d'un passage"),
    "slip.print": _l("Impression du récapitulatif"),
}

# Later features add their part of the record: name -> f(person) -> JSON-ready value.
_EXPORT_SECTIONS: dict[str, Callable[[Person], Any]] = {}


def register_export_section(name: str, section: Callable[[Person], Any]) -> None:
    _EXPORT_SECTIONS[name] = section


def access_log(person: Person, limit: int = 200) -> list[dict[str, Any]]:
    """Who read or changed this file, newest first: ``{at, user, user_id, action}``."""
    rows = db.session.execute(
        sa.select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.person_id == person.id, AuditEntry.action.in_(SHOWN_ACTIONS))
        .order_by(AuditEntry.seq.desc()).limit(limit)
    ).all()
    return [{"at": entry.at, "user": name or entry.actor_kind, "user_id": entry.actor_id,
             "action": entry.action} for entry, name in rows]


def identity(person: Person) -> dict[str, Any]:
    return {
        "id": person.id, "reception_number": person.reception_number,
        "anonymous": person.anonymous, "pseudonym": person.pseudonym,
        "first_name": person.first_name, "last_name": person.last_name,
        "birth_name": person.birth_name, "birth_date": person.birth_date,
        "phone": person.phone, "email": person.email, "address": person.address,
        "created_at": person.created_at, "updated_at": person.updated_at,
        "merged_into_id": person.merged_into_id,
    }


def visit_record(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.id, "person_id": visit.person_id, "site_id": visit.site_id,
        "agent_id": visit.agent_id, "channel": visit.channel, "occurred_at": visit.occurred_at,
        "summary": visit.summary, "next_steps": visit.next_steps, "outcome": visit.outcome,
        "answered_actions": visit.answered_action_list,
        "needs": [{"id": n.id, "domain": n.domain, "urgency": n.urgency, "note": n.note}
                  for n in visit.needs],
    }


def export_person(person: Person, actor: Any) -> dict[str, Any]:
    """Everything Passerelle holds about a person, readable, for the person's access right."""
    visits = db.session.scalars(sa.select(Visit).where(Visit.person_id == person.id)
                                .order_by(Visit.occurred_at)).all()
    grants = db.session.scalars(sa.select(BreakGlassAccess).where(
        BreakGlassAccess.person_id == person.id).order_by(BreakGlassAccess.granted_at)).all()
    record = {
        "person": identity(person),
        "visits": [visit_record(v) for v in visits],
        "identity_history": [{"changed_at": r.changed_at, "changed_by_id": r.changed_by_id,
                              "previous": json.loads(r.previous or "{}")}
                             for r in revisions(person)],
        "exceptional_accesses": [{"user_id": g.user_id, "granted_at": g.granted_at,
                                  "expires_at": g.expires_at, "reason": g.reason}
                                 for g in grants],
        "access_log": access_log(person, limit=10_000),
    }
    for name, section in _EXPORT_SECTIONS.items():
        record[name] = section(person)
    audit.record("person.export", actor=actor, object_type="person", object_id=person.id,
                 person_id=person.id)
    return record
