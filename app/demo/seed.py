"""``demo seed``: a small, fixed département to try Passerelle with, created once."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.auth import services as accounts
from app.auth.models import User
from app.core.db import db
from app.demo import people
from app.directory import services as directory
from app.directory.models import Site, Structure

DEMO_PASSWORD = "passerelle-demo-2026"

SITES = [
    {"name": "CMS Valence Centre", "kind": "cms", "territory": "Valence",
     "address": "12 rue Madier de Montjau, 26000 Valence", "phone": "04 75 00 00 01",
     "opening_hours": "Du lundi au vendredi, 8 h 30 – 12 h et 13 h 30 – 17 h"},
    {"name": "MDS Romans", "kind": "mds", "territory": "Drôme Nord",
     "address": "3 place Jean Jaurès, 26100 Romans-sur-Isère", "phone": "04 75 00 00 02"},
    {"name": "Service mobile Diois", "kind": "mobile", "territory": "Diois",
     "phone": "04 75 00 00 03"},
]

STRUCTURES = [
    {"name": "CAF de la Drôme", "kind": "caf", "domains": ["acces_droits", "famille_enfance",
     "logement"], "territories": ["Valence", "Drôme Nord", "Diois"],
     "contact_email": "accueil.caf@example.org", "phone": "32 30",
     "head_contact_email": "direction.caf@example.org",
     "address": "10 avenue de Romans, 26000 Valence",
     "opening_hours": "Mo-Fr 08:30-12:00,13:30-16:30"},
    {"name": "CPAM Drôme", "kind": "cpam", "domains": ["sante", "acces_droits"],
     "territories": ["Valence", "Drôme Nord", "Diois"], "contact_email": "cpam@example.org",
     "head_contact_email": "direction@cpam.example.org"},
    {"name": "France Travail Valence", "kind": "france_travail",
     "domains": ["emploi_insertion", "mobilite", "numerique"], "territories": ["Valence"]},
    {"name": "CCAS de Valence", "kind": "ccas", "domains": ["alimentation", "budget", "logement"],
     "territories": ["Valence"], "ack_delay": 3,
     "head_contact_email": "direction@ccas-valence.example.org",
     "address": "1 place de la Liberté, 26000 Valence", "phone": "04 75 00 00 10",
     "opening_hours": "Mo-Th 09:00-12:00,14:00-17:00; Fr 09:00-12:00"},
    {"name": "Mission locale Drôme Nord", "kind": "mission_locale",
     "domains": ["emploi_insertion", "logement", "sante"], "territories": ["Drôme Nord"]},
    {"name": "Association Solidarité Femmes 26", "kind": "association",
     "domains": ["violences", "juridique", "logement"], "territories": ["Valence", "Drôme Nord"],
     "contact_email": "contact@sf26.example.org"},
]

USERS = [
    {"email": "accueil@demo.passerelle.local", "role": "accueil", "display_name": "Amina Agent",
     "site": "CMS Valence Centre"},
    {"email": "accueil.romans@demo.passerelle.local", "role": "accueil",
     "display_name": "Bruno Accueil", "site": "MDS Romans"},
    {"email": "partenaire@demo.passerelle.local", "role": "partenaire",
     "display_name": "Claire Référente CAF", "structure": "CAF de la Drôme"},
    {"email": "partenaire.ccas@demo.passerelle.local", "role": "partenaire",
     "display_name": "David Référent CCAS", "structure": "CCAS de Valence"},
    {"email": "referent@demo.passerelle.local", "role": "referent_parcours",
     "display_name": "Élise Référente de parcours", "site": "CMS Valence Centre"},
    {"email": "coordinateur@demo.passerelle.local", "role": "coordinateur",
     "display_name": "Fabien Coordinateur", "territory": "Valence"},
    {"email": "admin@demo.passerelle.local", "role": "admin", "display_name": "Gaëlle Admin"},
]


@dataclass
class SeedReport:
    created: int
    logins: list[tuple[str, str, str]]


def seed(with_persons: bool = True) -> SeedReport:
    """Create what is missing of the demo set; return the logins. Safe to run again.

    ``with_persons``: also a few persons with visits, orientations and a parcours, when there
    are no persons yet (``demo generate`` makes its own)."""
    created = 0
    for data in SITES:
        if not db.session.scalar(sa.select(Site.id).where(Site.name == data["name"])):
            directory.create_site(data)
            created += 1
    for data in STRUCTURES:
        if not db.session.scalar(sa.select(Structure.id).where(Structure.name == data["name"])):
            directory.create_structure(data)
            created += 1
    db.session.flush()
    for data in USERS:
        if not db.session.scalar(sa.select(User.id).where(User.email == data["email"])):
            accounts.create_user({**data, "password": DEMO_PASSWORD})
            created += 1
    if with_persons:
        db.session.flush()
        created += people.seed_persons()
    logins = [(u["role"], u["email"], DEMO_PASSWORD) for u in USERS]
    return SeedReport(created=created, logins=logins)
