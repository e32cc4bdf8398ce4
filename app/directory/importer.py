"""``directory import FILE``: structures and services from a data·inclusion export (schema v1).

Every record is validated with the schema's own pydantic models (``data-inclusion-schema``),
not by hand. Structures and services are upserted by their identifier (``dora--42``): a record
whose ``date_maj`` is not newer than what was imported changes nothing. The 16 thematique
categories map to Passerelle's domains through ``CATEGORY_DOMAINS``. A file that is not a
data·inclusion export imports nothing; a record that does not validate is skipped and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy as sa
from data_inclusion.schema import v1 as di

from app.core import audit
from app.core.db import db
from app.core.errors import ServiceError
from app.directory import services
from app.directory.models import DirectoryService, Structure

CATEGORY_DOMAINS: dict[str, list[str]] = {
    "choisir-un-metier": ["emploi_insertion"],
    "creer-une-entreprise": ["emploi_insertion"],
    "difficultes-administratives-ou-juridiques": ["acces_droits", "juridique"],
    "difficultes-financieres": ["budget"],
    "equipement-et-alimentation": ["alimentation"],
    "famille": ["famille_enfance"],
    "lecture-ecriture-calcul": ["emploi_insertion"],
    "logement-hebergement": ["logement"],
    "mobilite": ["mobilite"],
    "numerique": ["numerique"],
    "preparer-sa-candidature": ["emploi_insertion"],
    "remobilisation": ["emploi_insertion"],
    "sante": ["sante"],
    "se-former": ["emploi_insertion"],
    "souvrir-a-linternational": ["emploi_insertion"],
    "trouver-un-emploi": ["emploi_insertion"],
}
NETWORK_KINDS = {"caf": "caf", "cpam": "cpam", "cnam": "cpam", "mutualite-sociale-agricole": "msa",
                 "france-travail": "france_travail", "ccas-cias": "ccas", "communes": "ccas",
                 "mission-locale": "mission_locale", "departements": "departement",
                 "maisons-des-solidarites": "departement", "cms": "departement"}


class ImportFileError(Exception):
    """The file is not a data·inclusion export: nothing was imported."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    services: int = 0


def domains_of(thematiques) -> list[str]:
    found: list[str] = []
    for thematique in thematiques or []:
        category = str(getattr(thematique, "value", thematique)).split("--")[0]
        for domain in CATEGORY_DOMAINS.get(category, []):
            if domain not in found:
                found.append(domain)
    return found


def _load(path: str | Path) -> tuple[list, list]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportFileError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(f"{path}: not a JSON file ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("structures"), list):
        raise ImportFileError(f"{path}: expected an object with a 'structures' list"
                              " (data·inclusion export, schema v1)")
    records = data.get("services", [])
    if not isinstance(records, list):
        raise ImportFileError(f"{path}: 'services' must be a list")
    return data["structures"], records


def _validate(model, records: list, report: ImportReport) -> list:
    valid = []
    for index, record in enumerate(records):
        ident = record.get("id") if isinstance(record, dict) else None
        try:
            valid.append(model.model_validate(record))
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "record"
            report.skipped.append((str(ident or f"#{index}"), f"{where}: {first.get('msg')}"))
    return valid


def _kind(structure: di.Structure) -> str:
    for network in structure.reseaux_porteurs or []:
        kind = NETWORK_KINDS.get(getattr(network, "value", network))
        if kind:
            return kind
    return "association"


def _address(structure: di.Structure) -> str | None:
    parts = [structure.adresse, structure.complement_adresse,
             " ".join(p for p in (structure.code_postal, structure.commune) if p)]
    text = ", ".join(p for p in parts if p)
    return text[:300] or None


# What an import writes: analysed once it is committed (``directory import``).
TABLES = ("structures", "structure_domains", "structure_territories", "directory_services")


def import_file(path: str | Path, territory: str | None = None) -> ImportReport:
    """Import ``path``; raises ``ImportFileError`` (nothing imported) on a malformed file."""
    raw_structures, raw_services = _load(path)
    report = ImportReport()
    structures = _validate(di.Structure, raw_structures, report)
    all_services = _validate(di.Service, raw_services, report)
    by_structure: dict[str, list[di.Service]] = {}
    for service in all_services:
        by_structure.setdefault(service.structure_id, []).append(service)
    known = {s.id for s in structures}
    for service in all_services:
        if service.structure_id not in known and not _existing(service.structure_id):
            report.skipped.append((service.id, f"structure {service.structure_id} is unknown"))
    for record in structures:
        try:
            with db.session.begin_nested():
                _upsert_structure(record, by_structure.get(record.id, []), territory, report)
        except ServiceError as error:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
            report.skipped.append((record.id, details or error.message))
    audit.record("directory.import", details={"created": report.created, "updated": report.updated,
                                              "skipped": len(report.skipped)})
    return report


def _existing(external_id: str) -> Structure | None:
    return db.session.scalars(sa.select(Structure).where(Structure.external_id == external_id)).first()


def _upsert_structure(record: di.Structure, services_of: list[di.Service], territory: str | None,
                      report: ImportReport) -> None:
    existing = _existing(record.id)
    domains = domains_of(t for s in services_of for t in (s.thematiques or []))
    if existing is not None and existing.source_updated_on and existing.source_updated_on >= record.date_maj \
            and all(_service_unchanged(s) for s in services_of):
        report.unchanged += 1
        return
    place = territory or record.commune
    if not place:
        raise ServiceError("no territory", {"territories": ["no commune in the record: pass --territory"]})
    if not domains:
        domains = list(existing.domains) if existing is not None else []
    if not domains:
        raise ServiceError("no domain", {"domains": ["no service with a known thematique"]})
    name = record.nom.strip()
    clash = db.session.scalars(sa.select(Structure).where(
        sa.func.lower(Structure.name) == name.lower(),
        Structure.external_id.is_distinct_from(record.id))).first()
    if clash is not None and record.commune:
        name = f"{name} ({record.commune})"[:200]
    data = {"name": name, "kind": existing.kind if existing else _kind(record), "domains": domains,
            "territories": [place], "address": _address(record), "phone": record.telephone,
            "contact_email": str(record.courriel) if record.courriel else None,
            "head_contact_email": existing.head_contact_email if existing else None,
            # The record's SIRET when it has one; else the one already known (an administrator's).
            "siret": record.siret or (existing.siret if existing else None),
            "opening_hours": (record.horaires_accueil or None) and record.horaires_accueil[:300],
            "ack_delay": existing.ack_delay if existing else None,
            "take_charge_delay": existing.take_charge_delay if existing else None}
    if existing is None:
        structure = services.create_structure(data)
        structure.external_id = record.id
        report.created += 1
    else:
        structure = services.update_structure(existing, data)
        report.updated += 1
    structure.source_updated_on = record.date_maj
    db.session.flush()
    for service in services_of:
        _upsert_service(service, structure)
        report.services += 1


def _service_unchanged(service: di.Service) -> bool:
    row = db.session.scalars(sa.select(DirectoryService).where(
        DirectoryService.external_id == service.id)).first()
    return row is not None and row.source_updated_on >= service.date_maj


def _upsert_service(record: di.Service, structure: Structure) -> None:
    row = db.session.scalars(sa.select(DirectoryService).where(
        DirectoryService.external_id == record.id)).first()
    if row is not None and row.source_updated_on >= record.date_maj:
        return
    values: dict[str, Any] = {
        "structure_id": structure.id, "name": record.nom[:200], "description": record.description,
        "thematiques": ",".join(sorted(str(getattr(t, "value", t)) for t in record.thematiques or [])),
        "domains": ",".join(domains_of(record.thematiques)), "source_updated_on": record.date_maj,
    }
    if row is None:
        db.session.add(DirectoryService(external_id=record.id, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)


def describe(report: ImportReport) -> list[str]:
    lines = [f"skipped {ident}: {reason}" for ident, reason in report.skipped]
    lines.append(f"structures: {report.created} created, {report.updated} updated, "
                 f"{report.unchanged} unchanged, {len(report.skipped)} records skipped; "
                 f"{report.services} services imported")
    return lines
