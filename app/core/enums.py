"""Every closed list of Passerelle, declared once with its translated labels.

Codes are the contract (API.md); labels are French first, English through the catalogues.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice


class Role(StrEnum):
    ACCUEIL = "accueil"
    PARTENAIRE = "partenaire"
    REFERENT_PARCOURS = "referent_parcours"
    COORDINATEUR = "coordinateur"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.ACCUEIL: _l("Agent d'accueil"),
    Role.PARTENAIRE: _l("Référent partenaire"),
    Role.REFERENT_PARCOURS: _l("Référent de parcours"),
    Role.COORDINATEUR: _l("Coordinateur territorial"),
    Role.ADMIN: _l("Administrateur fonctionnel"),
}

ALL_ROLES = frozenset(Role)


class SiteKind(StrEnum):
    CMS = "cms"
    MDS = "mds"
    PERMANENCE = "permanence"
    MOBILE = "mobile"
    CCAS = "ccas"


SITE_KIND_LABELS = {
    SiteKind.CMS: _l("Centre médico-social"),
    SiteKind.MDS: _l("Maison départementale des solidarités"),
    SiteKind.PERMANENCE: _l("Permanence"),
    SiteKind.MOBILE: _l("Service mobile"),
    SiteKind.CCAS: _l("Centre communal d'action sociale"),
}


class StructureKind(StrEnum):
    CAF = "caf"
    CPAM = "cpam"
    MSA = "msa"
    FRANCE_TRAVAIL = "france_travail"
    CCAS = "ccas"
    MISSION_LOCALE = "mission_locale"
    ASSOCIATION = "association"
    DEPARTEMENT = "departement"
    BAILLEUR = "bailleur"
    SANTE = "sante"
    AUTRE = "autre"


STRUCTURE_KIND_LABELS = {
    StructureKind.CAF: _l("Caisse d'allocations familiales"),
    StructureKind.CPAM: _l("Caisse primaire d'assurance maladie"),
    StructureKind.MSA: _l("Mutualité sociale agricole"),
    StructureKind.FRANCE_TRAVAIL: _l("France Travail"),
    StructureKind.CCAS: _l("Centre communal d'action sociale"),
    StructureKind.MISSION_LOCALE: _l("Mission locale"),
    StructureKind.ASSOCIATION: _l("Association"),
    StructureKind.DEPARTEMENT: _l("Service du Département"),
    StructureKind.BAILLEUR: _l("Bailleur social"),
    StructureKind.SANTE: _l("Structure de santé"),
    StructureKind.AUTRE: _l("Autre structure"),
}


class Domain(StrEnum):
    ACCES_DROITS = "acces_droits"
    BUDGET = "budget"
    LOGEMENT = "logement"
    EMPLOI_INSERTION = "emploi_insertion"
    SANTE = "sante"
    FAMILLE_ENFANCE = "famille_enfance"
    AUTONOMIE_HANDICAP = "autonomie_handicap"
    MOBILITE = "mobilite"
    NUMERIQUE = "numerique"
    VIOLENCES = "violences"
    ALIMENTATION = "alimentation"
    JURIDIQUE = "juridique"


DOMAIN_LABELS = {
    Domain.ACCES_DROITS: _l("Accès aux droits"),
    Domain.BUDGET: _l("Budget et dettes"),
    Domain.LOGEMENT: _l("Logement et hébergement"),
    Domain.EMPLOI_INSERTION: _l("Emploi et insertion"),
    Domain.SANTE: _l("Santé"),
    Domain.FAMILLE_ENFANCE: _l("Famille et enfance"),
    Domain.AUTONOMIE_HANDICAP: _l("Autonomie et handicap"),
    Domain.MOBILITE: _l("Mobilité"),
    Domain.NUMERIQUE: _l("Numérique"),
    Domain.VIOLENCES: _l("Violences"),
    Domain.ALIMENTATION: _l("Alimentation"),
    Domain.JURIDIQUE: _l("Juridique"),
}


def choices(labels: dict) -> list[SelectChoice]:
    """The options of a select field, in declaration order."""
    return [SelectChoice(code.value, label) for code, label in labels.items()]


def parse_codes(raw: str | None, enum: type[StrEnum]) -> list[str]:
    """Split ``a,b,c``, keep order, raise ValueError naming the first unknown code."""
    codes: list[str] = []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part not in enum._value2member_map_:
            raise ValueError(part)
        if part not in codes:
            codes.append(part)
    return codes


CHANNEL_LABELS = {
    "in_person": _l("Sur place"),
    "phone": _l("Téléphone"),
    "mobile": _l("Service mobile"),
    "email": _l("Courriel"),
}
CHANNELS = tuple(CHANNEL_LABELS)

URGENCY_LABELS = {
    "urgent": _l("Urgent"),
    "standard": _l("Habituel"),
    "info": _l("Simple information"),
}
URGENCIES = tuple(URGENCY_LABELS)

OUTCOME_LABELS = {
    "answered": _l("Réponse apportée sur place"),
    "oriented": _l("Orientée vers un partenaire"),
    "pending": _l("En attente"),
}
OUTCOMES = tuple(OUTCOME_LABELS)

# The outcome of each need of a visit (issue 24): answered on the spot, to orient (the
# orientation is still to send), oriented (an orientation was sent for it), pending. The visit's
# own outcome (OUTCOMES, kept for the API) is derived from its needs' (accueil.visits).
NEED_OUTCOME_LABELS = {
    "answered": _l("Répondu sur place"),
    "to_orient": _l("À orienter"),
    "oriented": _l("Orienté"),
    "pending": _l("En attente"),
}
NEED_OUTCOMES = tuple(NEED_OUTCOME_LABELS)

ANSWERED_ACTION_LABELS = {
    "information": _l("Information donnée"),
    "online_procedure": _l("Aide à une démarche en ligne"),
    "document_explained": _l("Document expliqué"),
    "appointment_made": _l("Rendez-vous pris"),
    "other": _l("Autre réponse"),
}
ANSWERED_ACTIONS = tuple(ANSWERED_ACTION_LABELS)
