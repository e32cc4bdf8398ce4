"""A few demo persons for ``demo seed``, created once through the app's own services.

Each screen has something to show on the first ``make run``: persons to find (with a spelling
variant), visits, orientations in several states (two past their acknowledgement date, so the
coordinator's stalled list is not empty), two documents of a person (one shared with the
structure that accompanies her), her appointment there, and a coordinated parcours left silent
for months.
Dates in the past are set on the rows after the services created them, since the services only
write "now".
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.accueil import persons as person_services
from app.accueil import visits as visit_services
from app.accueil.models import Person
from app.appointments import services as appointment_services
from app.auth.models import User
from app.core import append_only
from app.core.db import db, utcnow
from app.demo import files
from app.directory.models import Structure
from app.documents import services as document_services
from app.orientation import designated
from app.orientation import services as orientation_services
from app.orientation.deadlines import add_working_days, local_date
from app.orientation.status import OrientationStatus
from app.referents import services as parcours_services

PERSONS = [
    {"first_name": "Nathalie", "last_name": "Lefèvre", "birth_date": date(1979, 3, 14),
     "phone": "06 12 34 56 78"},
    {"first_name": "Karim", "last_name": "Benali", "birth_date": date(1988, 11, 2)},
    {"first_name": "Josiane", "last_name": "Moreau", "birth_date": date(1956, 7, 23)},
    {"first_name": "Lucas", "last_name": "Fabre", "birth_date": date(2004, 1, 9)},
    {"anonymous": True, "pseudonym": "Monsieur au chien"},
]

# (person index, structure, domain, motive, days ago it was sent, the status it reached)
ORIENTATIONS = [
    (0, "CAF de la Drôme", "logement", "Demande d'aide au logement après une séparation.",
     12, OrientationStatus.SENT),
    (1, "CCAS de Valence", "alimentation", "Besoin d'une aide alimentaire d'urgence.", 9,
     OrientationStatus.SENT),
    (2, "CPAM Drôme", "sante", "Renouvellement de la complémentaire santé solidaire.", 1,
     OrientationStatus.SENT),
    (3, "CAF de la Drôme", "acces_droits", "Ouverture des droits au RSA.", 6,
     OrientationStatus.ACKNOWLEDGED),
    (0, "CCAS de Valence", "budget", "Accompagnement budgétaire, dettes de loyer.", 20,
     OrientationStatus.IN_CHARGE),
]


def _user(email: str) -> User:
    return db.session.scalars(sa.select(User).where(User.email == email)).one()


def _structure(name: str) -> Structure:
    return db.session.scalars(sa.select(Structure).where(Structure.name == name)).one()


def _backdate(orientation, days: int) -> None:
    sent_at = utcnow() - timedelta(days=days)
    orientation.sent_at = sent_at
    orientation.sent_on = sent_at.date()
    # The structure's delays, or the urgent clock of an urgent need (issue 24).
    orientation.acknowledge_due, orientation.take_charge_due = orientation_services.due_dates(
        db.session.get(Structure, orientation.structure_id), orientation.domain,
        orientation.sent_on, orientation.urgent)
    append_only.allow_purge(db.session)  # demo set-up: the story's events happened back then
    for event in orientation.events:
        event.at = sent_at


def _bring_to(orientation, status: OrientationStatus, partner: User) -> None:
    """The partner's steps that lead a sent orientation to ``status`` (one the partner reaches
    by acknowledging, then taking charge)."""
    if status in (OrientationStatus.ACKNOWLEDGED, OrientationStatus.IN_CHARGE):
        orientation_services.acknowledge(orientation, partner)
    if status == OrientationStatus.IN_CHARGE:
        orientation_services.take_charge(orientation, partner)


def _documents(person: Person, agent: User) -> list:
    """Two papers of the first person: a scanned proof of income (PDF) and a photo of her
    identity card (PNG), attached by the agent as the page does."""
    today = local_date(utcnow())
    lines = ["Dossier " + person.reception_number,
             "Données fictives : document de démonstration de Passerelle."]
    income = document_services.attach(
        person, filename="avis-imposition-2025.pdf", kind="income",
        data=files.pdf("Avis d'impôt sur les revenus", lines + [
            "Revenu fiscal de référence : 11 240 euros", "Nombre de parts : 1"]),
        expires_on=today + timedelta(days=365), actor=agent)
    identity = document_services.attach(
        person, filename="carte-identite.png", kind="identity",
        data=files.png("Carte nationale d'identité", lines, shade=1),
        expires_on=today + timedelta(days=365 * 6), actor=agent)
    return [income, identity]


def seed_persons() -> int:
    """Create the demo persons and their story if there are no persons at all; return how many
    records were created."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Person)):
        return 0
    agent = _user("accueil@demo.passerelle.local")
    partners = {"CAF de la Drôme": _user("partenaire@demo.passerelle.local"),
                "CCAS de Valence": _user("partenaire.ccas@demo.passerelle.local")}
    for name, user in partners.items():
        designated.designate_referent(_structure(name), user, None, agent)
    persons = [person_services.create_person(data, agent, agent.site_id) for data in PERSONS]
    created = len(persons)
    visits = {}
    for index, person in enumerate(persons):
        domains = [o[2] for o in ORIENTATIONS if o[0] == index]
        needs = [{"domain": d, "urgency": "urgent" if d == "alimentation" else "standard"}
                 for d in domains] or [{"domain": "acces_droits", "urgency": "standard"}]
        visits[index] = visit_services.record_visit(person, {
            "channel": "phone" if index == 2 else "in_person",
            "outcome": "oriented" if domains else "answered",
            "answered_actions": [] if domains else ["information"],
            "summary": "Premier accueil : situation évaluée avec la personne.",
            "needs": needs}, agent)
        created += 1
    db.session.flush()
    documents = _documents(persons[0], agent)
    created += len(documents)
    # The budget orientation to the CCAS shares the proof of income (the person chose it).
    shared = {(0, "CCAS de Valence"): [str(documents[0].id)]}
    sent = []
    for index, structure, domain, motive, days, status in ORIENTATIONS:
        orientation = orientation_services.send_orientation(persons[index], {
            "structure_id": str(_structure(structure).id), "domain": domain, "motive": motive,
            "visit_id": str(visits[index].id),
            "consent": {"given": True, "shared_fields": ["first_name", "last_name", "phone"],
                        "purpose": "Instruction de la demande par la structure.",
                        "shared_documents": shared.get((index, structure), [])}}, agent)
        db.session.flush()
        _backdate(orientation, days)
        partner = partners.get(structure)
        if partner is not None:
            _bring_to(orientation, status, partner)
        sent.append(orientation)
        created += 1
    # Her first appointment at the CCAS, in three working days.
    appointment_services.record_appointment(sent[-1], {
        "scheduled_on": add_working_days(local_date(utcnow()), 3), "scheduled_time": "10:00",
        "place_kind": "address", "with_whom": "Mme Roux, conseillère en économie sociale et "
                                              "familiale"}, partners["CCAS de Valence"])
    created += 1
    parcours = parcours_services.open_parcours(persons[0], {
        "consent": {"given": True}, "referent_id": str(_user("referent@demo.passerelle.local").id),
        "member_ids": [str(partners["CCAS de Valence"].id)],
        "goals": "Retrouver un logement stable et apurer la dette de loyer."}, agent)
    db.session.flush()
    silent_since = utcnow() - timedelta(days=75)  # nobody wrote in it for two and a half months
    parcours.opened_at = parcours.consent_given_at = silent_since
    parcours.opened_on = silent_since.date()
    return created + 1
