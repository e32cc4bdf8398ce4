"""What a person's file says about who saw it, and the whole record for the RGPD access right."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.accueil.models import BreakGlassAccess, Person, Visit
from app.accueil.persons import revisions
from app.auth.models import User
from app.core import audit
from app.core.audit import AuditEntry
from app.core.db import db

# The actions shown in a person's access log, with their labels. Later features (orientations,
# parcours, follow-up) add theirs with ``register_access_log_actions``.
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
    "retention.anonymise": _l("Anonymisation du dossier"),
}

# Who acted, when it was not a user of Passerelle (or one whose account is gone).
ACTOR_LABELS: dict[str, Any] = {
    "system": _l("Passerelle (traitement automatique)"),
    "contact": _l("Une structure, par un lien de réponse"),
    "person": _l("La personne elle-même"),
    "anonymous": _l("Inconnu"),
    "user": _l("Compte supprimé"),
}

# The labels of the identity fields, for the printable export.
IDENTITY_LABELS: dict[str, Any] = {
    "id": _l("Identifiant"),
    "reception_number": _l("Numéro d'accueil"),
    "anonymous": _l("Anonyme"),
    "pseudonym": _l("Pseudonyme"),
    "first_name": _l("Prénom"),
    "last_name": _l("Nom"),
    "birth_name": _l("Nom de naissance"),
    "birth_date": _l("Date de naissance"),
    "phone": _l("Téléphone"),
    "email": _l("Adresse électronique"),
    "address": _l("Adresse"),
    "created_at": _l("Dossier créé le"),
    "updated_at": _l("Dernière modification le"),
    "merged_into_id": _l("Fusionné dans le dossier"),
}


def register_access_log_actions(labels: dict[str, Any]) -> None:
    """Show these audit actions (recorded with the person's id) in the person's access log."""
    ACTION_LABELS.update(labels)


def shown_actions() -> tuple[str, ...]:
    return tuple(ACTION_LABELS)


@dataclass(frozen=True)
class ExportSection:
    """A later feature's part of the record: ``build(person)`` gives a JSON-ready value; the
    printable export shows it under ``title`` through ``template``, which reads it as ``data``
    and its labels in ``section.context``."""

    name: str
    build: Callable[[Person], Any]
    title: Any = None
    template: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


# Later features add their part of the record, in the order they register.
_EXPORT_SECTIONS: dict[str, ExportSection] = {}


def register_export_section(name: str, section: Callable[[Person], Any], *, title: Any = None,
                            template: str | None = None,
                            context: dict[str, Any] | None = None) -> None:
    _EXPORT_SECTIONS[name] = ExportSection(name, section, title, template, context or {})


def export_sections() -> list[ExportSection]:
    return list(_EXPORT_SECTIONS.values())


# Later features add what a reader may see of their part of the file (the API's person):
# name -> f(person, user) -> JSON-ready value, already limited to the user's scope.
_FILE_SECTIONS: dict[str, Callable[[Person, Any], Any]] = {}


def register_file_section(name: str, section: Callable[[Person, Any], Any]) -> None:
    _FILE_SECTIONS[name] = section


def file_sections(person: Person, user: Any) -> dict[str, Any]:
    return {name: section(person, user) for name, section in _FILE_SECTIONS.items()}


def access_log(person: Person, limit: int = 200) -> list[dict[str, Any]]:
    """Who read or changed this file, newest first: ``{at, user, user_id, action}`` (``user``
    is the user's name, else the kind of actor, also in ``actor_kind``)."""
    rows = db.session.execute(
        sa.select(AuditEntry, User.display_name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.person_id == person.id, AuditEntry.action.in_(shown_actions()))
        .order_by(AuditEntry.seq.desc()).limit(limit)
    ).all()
    return [{"at": entry.at, "user": name or entry.actor_kind, "user_id": entry.actor_id,
             "action": entry.action, "actor_kind": None if name else entry.actor_kind}
            for entry, name in rows]


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
        "needs": [{"id": n.id, "domain": n.domain, "urgency": n.urgency, "note": n.note,
                   "outcome": n.outcome} for n in visit.needs],
    }


def export_person(person: Person, actor: Any) -> dict[str, Any]:
    """Everything Passerelle holds about a person, readable, for the person's access right."""
    visits = db.session.scalars(sa.select(Visit).where(Visit.person_id == person.id)
                                .order_by(Visit.occurred_at)).all()
    grants = db.session.scalars(sa.select(BreakGlassAccess).where(
        BreakGlassAccess.person_id == person.id).order_by(BreakGlassAccess.granted_at)).all()
    history = revisions(person)
    names = user_names({r.changed_by_id for r in history} | {g.user_id for g in grants})
    record = {
        "person": identity(person),
        "visits": [visit_record(v) for v in visits],
        "identity_history": [{"changed_at": r.changed_at, "changed_by_id": r.changed_by_id,
                              "changed_by": names.get(r.changed_by_id),
                              "previous": json.loads(r.previous or "{}")}
                             for r in history],
        "exceptional_accesses": [{"user_id": g.user_id, "user": names.get(g.user_id),
                                  "granted_at": g.granted_at, "expires_at": g.expires_at,
                                  "reason": g.reason}
                                 for g in grants],
        "access_log": access_log(person, limit=10_000),
    }
    for section in _EXPORT_SECTIONS.values():
        record[section.name] = section.build(person)
    audit.record("person.export", actor=actor, object_type="person", object_id=person.id,
                 person_id=person.id)
    return record


def user_names(ids: set[Any]) -> dict[Any, str]:
    """The display names of these users, in one query (export sections use it too)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.display_name)
                                   .where(User.id.in_(ids))).all())
