"""Recording a visit and its needs assessment; the site's day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.accueil.models import Need, Person, Visit
from app.core import audit
from app.core.db import db, utcnow
from app.core.enums import (
    ANSWERED_ACTIONS,
    CHANNELS,
    NEED_OUTCOMES,
    OUTCOMES,
    URGENCIES,
    Domain,
)
from app.core.validation import FieldErrors, clean_code, clean_text

MAX_NEEDS = len(Domain)
MAX_SUMMARY = 10_000
PARIS = ZoneInfo("Europe/Paris")


def _clean_needs(errors: FieldErrors, needs: Any) -> list[dict[str, Any]]:
    if needs is None:
        return []
    if not isinstance(needs, list):
        errors.add("needs", _("La liste des besoins est invalide."))
        return []
    if len(needs) > MAX_NEEDS:
        errors.add("needs", _("Au plus %(n)d besoins par passage.", n=MAX_NEEDS))
        return []
    cleaned, seen = [], set()
    for index, need in enumerate(needs):
        prefix = f"needs.{index}"
        if not isinstance(need, dict):
            errors.add(prefix, _("Besoin invalide."))
            continue
        domain = clean_code(errors, f"{prefix}.domain", need.get("domain"),
                            [d.value for d in Domain])
        urgency = clean_code(errors, f"{prefix}.urgency", need.get("urgency") or "standard",
                             URGENCIES)
        note = clean_text(errors, f"{prefix}.note", need.get("note"), max_length=2000,
                          multiline=True)
        outcome = clean_code(errors, f"{prefix}.outcome", need.get("outcome"), NEED_OUTCOMES,
                             required=False)
        if domain and domain in seen:
            errors.add(f"{prefix}.domain", _("Ce domaine est déjà indiqué."))
            continue
        if domain:
            seen.add(domain)
            cleaned.append({"domain": domain, "urgency": urgency, "note": note,
                            "outcome": outcome})
    return cleaned


# A visit-level outcome given without per-need ones (API clients before issue 24): each need
# takes it, "oriented" meaning the orientation is still to send.
NEED_OUTCOME_OF_VISIT = {"answered": "answered", "oriented": "to_orient", "pending": "pending"}


def derive_outcome(need_outcomes: list[str], default: str | None = None) -> str | None:
    """The visit's outcome (API compatibility) from its needs': pending when one still waits,
    else oriented when one is (or is to be) oriented, else answered; ``default`` without needs."""
    if not need_outcomes:
        return default
    if "pending" in need_outcomes:
        return "pending"
    if "to_orient" in need_outcomes or "oriented" in need_outcomes:
        return "oriented"
    return "answered"


def _clean_actions(errors: FieldErrors, actions: Any) -> list[str]:
    if actions is None or actions == "":
        return []
    if isinstance(actions, str):
        actions = actions.split(",")
    if not isinstance(actions, list):
        errors.add("answered_actions", _("Liste invalide."))
        return []
    cleaned = []
    for action in actions:
        if action not in ANSWERED_ACTIONS:
            errors.add("answered_actions", _("Valeur inconnue ; valeurs possibles : %(values)s.",
                                             values=", ".join(ANSWERED_ACTIONS)))
            return []
        if action not in cleaned:
            cleaned.append(action)
    return cleaned


def record_visit(person: Person, data: dict[str, Any], actor: Any) -> Visit:
    """A visit of ``person`` at the agent's own site, with its needs, in one transaction."""
    errors = FieldErrors()
    site_id = data.get("site_id") or actor.site_id
    try:
        site_id = uuid.UUID(str(site_id)) if site_id else None
    except ValueError:
        errors.add("site_id", _("Site inconnu."))
        site_id = None
    if site_id is not None and site_id != actor.site_id:
        errors.add("site_id", _("Vous ne pouvez enregistrer un passage que pour votre propre site."))
    if actor.site_id is None:
        errors.add("site_id", _("Votre compte n'est rattaché à aucun site."))
    channel = clean_code(errors, "channel", data.get("channel"), CHANNELS)
    needs = _clean_needs(errors, data.get("needs"))
    per_need = bool(needs) and all(n["outcome"] for n in needs)
    if needs and not per_need and any(n["outcome"] for n in needs):
        errors.add("needs", _("Indiquez la suite de chaque besoin, ou d'aucun."))
    # With an outcome per need, the visit's is derived from them; else it is required.
    outcome = clean_code(errors, "outcome", data.get("outcome"), OUTCOMES, required=not per_need)
    if per_need:
        outcome = derive_outcome([n["outcome"] for n in needs])
    elif outcome:
        for need in needs:
            need["outcome"] = NEED_OUTCOME_OF_VISIT[outcome]
    summary = clean_text(errors, "summary", data.get("summary"), max_length=MAX_SUMMARY,
                         multiline=True)
    next_steps = clean_text(errors, "next_steps", data.get("next_steps"), max_length=2000,
                            multiline=True)
    actions = _clean_actions(errors, data.get("answered_actions"))
    if outcome == "oriented" and not needs and "needs" not in errors.fields:
        errors.add("needs", _("Une orientation suppose au moins un besoin identifié."))
    if person.merged_into_id is not None:
        errors.add("person", _("Ce dossier a été fusionné : enregistrez le passage sur le dossier conservé."))
    errors.raise_if_any()
    now = utcnow()
    # What was done on the spot is kept when something was answered on the spot.
    answered = outcome == "answered" or any(n["outcome"] == "answered" for n in needs)
    visit = Visit(person_id=person.id, site_id=actor.site_id, agent_id=actor.id, channel=channel,
                  outcome=outcome, answered_actions=",".join(actions if answered else []),
                  occurred_at=now, occurred_on=now.astimezone(PARIS).date(), created_at=now)
    visit.summary = summary
    visit.next_steps = next_steps
    for position, need in enumerate(needs):
        row = Need(domain=need["domain"], urgency=need["urgency"], position=position,
                   outcome=need["outcome"])
        row.note = need["note"]
        visit.needs.append(row)
    db.session.add(visit)
    audit.record("visit.create", actor=actor, object_type="visit", object_id=visit.id,
                 person_id=person.id, details={"outcome": outcome, "needs": len(needs)})
    return visit


@dataclass
class SiteDay:
    visits: list[Visit]
    pending: list[Visit]
    by_channel: dict[str, int] = field(default_factory=dict)
    urgent: int = 0


def _urgent_first(visit: Visit) -> tuple:
    urgent = any(n.urgency == "urgent" for n in visit.needs)
    return (not urgent, -visit.occurred_at.timestamp())


def site_day(site_id: uuid.UUID, day: datetime | None = None) -> SiteDay:
    """Today's visits at a site (Paris time), urgent needs first; visits still pending."""
    local = (day or utcnow()).astimezone(PARIS)
    start = datetime.combine(local.date(), time.min, PARIS)
    # The page shows each visit's person and needs: loaded with the visits, not row by row.
    with_rows = (selectinload(Visit.person), selectinload(Visit.needs))
    visits = list(db.session.scalars(
        sa.select(Visit).options(*with_rows)
        .where(Visit.site_id == site_id, Visit.occurred_at >= start,
               Visit.occurred_at < start + timedelta(days=1))))
    visits.sort(key=_urgent_first)
    pending = list(db.session.scalars(
        sa.select(Visit).options(*with_rows)
        .where(Visit.site_id == site_id, Visit.outcome == "pending")
        .order_by(Visit.occurred_at.desc()).limit(50)))
    pending.sort(key=_urgent_first)
    by_channel = {channel: 0 for channel in CHANNELS}
    for visit in visits:
        by_channel[visit.channel] += 1
    urgent = sum(1 for v in visits if any(n.urgency == "urgent" for n in v.needs))
    return SiteDay(visits=visits, pending=pending, by_channel=by_channel, urgent=urgent)


def set_outcome(visit: Visit, outcome: str, actor: Any) -> Visit:
    """Close a pending visit (answered later, or oriented): its needs still waiting follow."""
    errors = FieldErrors()
    outcome = clean_code(errors, "outcome", outcome, OUTCOMES)
    if outcome == "oriented" and not visit.needs:
        errors.add("outcome", _("Une orientation suppose au moins un besoin identifié."))
    errors.raise_if_any()
    for need in visit.needs:
        if outcome == "answered" and need.outcome in ("pending", "to_orient"):
            need.outcome = "answered"
        elif outcome == "oriented" and need.outcome == "pending":
            need.outcome = "to_orient"
        elif outcome == "pending" and need.outcome == "answered":
            need.outcome = "pending"
    visit.outcome = outcome
    audit.record("visit.update", actor=actor, object_type="visit", object_id=visit.id,
                 person_id=visit.person_id, details={"outcome": outcome})
    return visit


def mark_oriented(visit: Visit, domain: str) -> None:
    """An orientation of ``visit`` was sent for ``domain``: that need is oriented, and the
    visit's outcome follows its needs' (called by the orientation's service)."""
    matching = [need for need in visit.needs if need.domain == domain]
    for need in matching:
        need.outcome = "oriented"
    # For a domain the visit did not name, the visit counts as oriented, as before.
    visit.outcome = (derive_outcome([n.outcome for n in visit.needs]) if matching
                     else "oriented")


WAITING = ("to_orient", "pending")


def pending_needs(site_id: uuid.UUID):
    """The site's needs still waiting: to orient (the orientation was never sent) or pending,
    oldest visit first. A query (``sa.Select`` of ``Need``, with each need's visit and person
    loaded) to page with ``db.paginate`` or ``app.core.pagination``; the agents of the site see
    them (the site's queue, ``site_day.read``)."""
    return (sa.select(Need).join(Visit, Visit.id == Need.visit_id)
            .options(selectinload(Need.visit).selectinload(Visit.person))
            .where(Need.site_id == site_id, Need.outcome.in_(WAITING))
            .order_by(Visit.occurred_at, Need.position))
