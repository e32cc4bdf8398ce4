"""Creating, changing and listing sites and structures; called alike by pages, API and commands."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.core import audit
from app.core.crypto import new_secret_token, token_digest
from app.core.db import db, utcnow
from app.core.enums import Domain, SiteKind, StructureKind
from app.core.errors import NotFound
from app.core.names import normalise
from app.core.validation import FieldErrors, clean_code, clean_email, clean_int, clean_text
from app.directory.models import ContactChange, Site, Structure, StructureDomain, StructureTerritory


def _clean_list(errors: FieldErrors, field: str, values: Iterable[Any] | None,
                allowed: Iterable[str] | None = None, required: bool = True) -> list[str]:
    cleaned: list[str] = []
    if values is None:
        values = []
    if isinstance(values, str):
        values = values.split(",")
    allowed_set = set(allowed) if allowed is not None else None
    for value in values:
        item = clean_text(errors, field, value, max_length=100)
        if item is None:
            continue
        if allowed_set is not None and item not in allowed_set:
            errors.add(field, _("Valeur inconnue : %(value)s.", value=item[:40]))
            continue
        if item not in cleaned:
            cleaned.append(item)
    if required and not cleaned and field not in errors.fields:
        errors.add(field, _("Indiquez au moins une valeur."))
    return cleaned


def _name_taken(model, name: str, exclude_id: uuid.UUID | None = None) -> bool:
    query = sa.select(model.id).where(sa.func.lower(model.name) == name.lower())
    if exclude_id:
        query = query.where(model.id != exclude_id)
    return db.session.execute(query).first() is not None


# -- sites ------------------------------------------------------------------------------------
def _site_values(errors: FieldErrors, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": clean_text(errors, "name", data.get("name"), required=True, max_length=200),
        "kind": clean_code(errors, "kind", data.get("kind"), [k.value for k in SiteKind]),
        "territory": clean_text(errors, "territory", data.get("territory"), required=True,
                                max_length=100),
        "address": clean_text(errors, "address", data.get("address"), max_length=300),
        "phone": clean_text(errors, "phone", data.get("phone"), max_length=40),
        "opening_hours": clean_text(errors, "opening_hours", data.get("opening_hours"),
                                    max_length=300),
    }


def create_site(data: dict[str, Any], actor: Any = None) -> Site:
    errors = FieldErrors()
    values = _site_values(errors, data)
    if values["name"] and _name_taken(Site, values["name"]):
        errors.add("name", _("Un site porte déjà ce nom."))
    errors.raise_if_any()
    site = Site(**values)
    db.session.add(site)
    audit.record("site.create", actor=actor, object_type="site", object_id=site.id)
    return site


def update_site(site: Site, data: dict[str, Any], actor: Any = None) -> Site:
    errors = FieldErrors()
    values = _site_values(errors, data)
    if values["name"] and _name_taken(Site, values["name"], site.id):
        errors.add("name", _("Un site porte déjà ce nom."))
    errors.raise_if_any()
    for key, value in values.items():
        setattr(site, key, value)
    audit.record("site.update", actor=actor, object_type="site", object_id=site.id)
    return site


def set_site_active(site: Site, active: bool, actor: Any = None) -> Site:
    site.active = active
    audit.record("site.activate" if active else "site.deactivate", actor=actor,
                 object_type="site", object_id=site.id)
    return site


def _find(model, reference: str | uuid.UUID | None, active_only: bool):
    """A row of ``model`` by id or by exact name (case-insensitive)."""
    if reference is None or reference == "":
        return None
    query = sa.select(model)
    try:
        query = query.where(model.id == uuid.UUID(str(reference)))
    except ValueError:
        query = query.where(sa.func.lower(model.name) == str(reference).strip().lower())
    if active_only:
        query = query.where(model.active.is_(True))
    return db.session.scalars(query).first()


def find_site(reference: str | uuid.UUID | None, *, active_only: bool = True) -> Site | None:
    return _find(Site, reference, active_only)


def list_sites(active_only: bool = True) -> list[Site]:
    query = sa.select(Site).order_by(Site.name)
    if active_only:
        query = query.where(Site.active.is_(True))
    return list(db.session.scalars(query))


# -- structures -------------------------------------------------------------------------------
def normal_siret(value: object) -> str | None:
    """A SIRET as stored: its 14 digits (spaces removed), or None when it is not one."""
    text = value.replace(" ", "").replace("\u00a0", "") if isinstance(value, str) else ""
    return text if len(text) == 14 and text.isascii() and text.isdigit() else None


def _clean_siret(errors: FieldErrors, field: str, value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    siret = normal_siret(value)
    if siret is None:
        errors.add(field, _("Un SIRET est fait de 14 chiffres, sans lettres ni signes "
                            "(les espaces sont acceptés)."))
    return siret


def structures_with_siret(siret: str) -> list[Structure]:
    """The directory's structures of this SIRET (several may share a head office's)."""
    return list(db.session.scalars(sa.select(Structure).where(Structure.siret == siret)
                                   .order_by(Structure.name)))


def _structure_values(errors: FieldErrors, data: dict[str, Any]) -> dict[str, Any]:
    # A caller that does not speak of the SIRET (the operator's command) leaves it as it is.
    siret = {"siret": _clean_siret(errors, "siret", data["siret"])} if "siret" in data else {}
    return siret | {
        "name": clean_text(errors, "name", data.get("name"), required=True, max_length=200),
        "kind": clean_code(errors, "kind", data.get("kind"), [k.value for k in StructureKind]),
        "domains": _clean_list(errors, "domains", data.get("domains"), [d.value for d in Domain]),
        "territories": _clean_list(errors, "territories", data.get("territories")),
        "address": clean_text(errors, "address", data.get("address"), max_length=300),
        "phone": clean_text(errors, "phone", data.get("phone"), max_length=40),
        "contact_email": clean_email(errors, "contact_email", data.get("contact_email"),
                                     required=False),
        "head_contact_email": clean_email(errors, "head_contact_email",
                                          data.get("head_contact_email"), required=False),
        "opening_hours": clean_text(errors, "opening_hours", data.get("opening_hours"),
                                    max_length=300),
        "ack_delay": clean_int(errors, "ack_delay", data.get("ack_delay"), minimum=1, maximum=60),
        "take_charge_delay": clean_int(errors, "take_charge_delay",
                                       data.get("take_charge_delay"), minimum=1, maximum=120),
    }


def _apply_structure(structure: Structure, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "domains":
            structure.domain_rows = [StructureDomain(domain=d) for d in value]
        elif key == "territories":
            structure.territory_rows = [StructureTerritory(territory=t) for t in value]
        else:
            setattr(structure, key, value)


def create_structure(data: dict[str, Any], actor: Any = None,
                     coordinators_of: Any = None) -> Structure:
    """A new structure. A contact address given by an administrator (``actor``: the page) waits
    for its confirmation from that address (``request_contact_change``); the operator's
    command and the data·inclusion import (no actor) set it at once."""
    errors = FieldErrors()
    values = _structure_values(errors, data)
    if values["name"] and _name_taken(Structure, values["name"]):
        errors.add("name", _("Une structure porte déjà ce nom."))
    errors.raise_if_any()
    structure = Structure()
    new_contact = values.pop("contact_email") if actor is not None else None
    _apply_structure(structure, values)
    db.session.add(structure)
    audit.record("structure.create", actor=actor, object_type="structure", object_id=structure.id)
    if new_contact:
        db.session.flush()
        request_contact_change(structure, new_contact, actor, coordinators_of)
    return structure


def update_structure(structure: Structure, data: dict[str, Any], actor: Any = None,
                     coordinators_of: Any = None) -> Structure:
    """``coordinators_of(territories)``: the accounts to tell of a change of the contact address
    (the administration pages pass ``auth.services.coordinators``: directory imports no
    account)."""
    errors = FieldErrors()
    values = _structure_values(errors, data)
    if values["name"] and _name_taken(Structure, values["name"], structure.id):
        errors.add("name", _("Une structure porte déjà ce nom."))
    errors.raise_if_any()
    # Flush the removal of the old domain/territory rows before the new ones are inserted.
    structure.domain_rows = []
    structure.territory_rows = []
    db.session.flush()
    new_contact = values.pop("contact_email") if actor is not None else None
    _apply_structure(structure, values)
    audit.record("structure.update", actor=actor, object_type="structure", object_id=structure.id)
    if actor is not None:
        _change_contact(structure, new_contact, actor, coordinators_of)
    return structure


# -- a structure's contact address, confirmed from the new address ------------------------------
CONTACT_CONFIRM_PATH = "/structures/contact-address/"


def pending_contact_change(structure: Structure) -> ContactChange | None:
    """The change of contact address waiting for its confirmation, if any (expired ones too:
    the page says so)."""
    return db.session.scalars(sa.select(ContactChange).where(
        ContactChange.structure_id == structure.id, ContactChange.confirmed_at.is_(None),
        ContactChange.cancelled_at.is_(None)).order_by(ContactChange.created_at.desc())).first()


def _cancel_pending(structure: Structure) -> None:
    db.session.execute(sa.update(ContactChange).where(
        ContactChange.structure_id == structure.id, ContactChange.confirmed_at.is_(None),
        ContactChange.cancelled_at.is_(None)).values(cancelled_at=utcnow()))


def _change_contact(structure: Structure, email: str | None, actor: Any,
                    coordinators_of: Any = None) -> None:
    """What an administrator's form does to the contact address: removing it is immediate but
    told to the removed (confirmed) address and kept as a confirmed change to nothing (so that
    a later new address is announced to it), the confirmed address again cancels a pending
    change, a new address waits for its confirmation (asked again only when it differs from the
    pending one)."""
    current = (structure.contact_email or "").lower()
    if not email:
        if structure.contact_email or pending_contact_change(structure):
            _cancel_pending(structure)
            removed = structure.contact_email
            if removed:
                _record_removal(structure, removed, actor, coordinators_of)
            structure.contact_email = None
            audit.record("structure.contact_removed", actor=actor, object_type="structure",
                         object_id=structure.id)
        return
    if email.lower() == current:
        _cancel_pending(structure)
        return
    pending = pending_contact_change(structure)
    if pending is not None and pending.email.lower() == email.lower() \
            and pending.expires_at > utcnow():
        return
    request_contact_change(structure, email, actor, coordinators_of)


def _record_removal(structure: Structure, removed: str, actor: Any,
                    coordinators_of: Any = None) -> None:
    """The confirmed address is removed: a confirmed change to nothing (``email`` empty, an
    unusable token) keeps it as the last confirmed address, and it is told, as are the
    coordinators of the structure's territories."""
    from app.notifications.services import queue

    now = utcnow()
    db.session.add(ContactChange(
        structure_id=structure.id, email="", previous_email=removed,
        token_hash=token_digest(new_secret_token()), requested_by_id=getattr(actor, "id", None),
        created_at=now, expires_at=now, confirmed_at=now))
    body = (f"Bonjour,\n\nUn administrateur de Passerelle a retiré l'adresse de contact "
            f"{removed} de la structure « {structure.name} » : les orientations ne lui sont "
            "plus envoyées.\n\nSi ce changement vous surprend, prévenez le coordinateur de "
            "votre territoire ou le service qui vous oriente des personnes.\n")
    subject = f"Passerelle : adresse de contact retirée pour {structure.name}"
    queue(removed, subject, body, kind="structure.contact_change_notice",
          related_type="structure", related_id=structure.id)
    _tell_coordinators(structure, subject, body, coordinators_of)


def last_confirmed_contact(structure: Structure) -> str | None:
    """The structure's confirmed contact address, or the last one an administrator removed
    (the one to tell of a new address)."""
    if structure.contact_email:
        return structure.contact_email
    return db.session.scalars(sa.select(ContactChange.previous_email).where(
        ContactChange.structure_id == structure.id, ContactChange.email == "",
        ContactChange.confirmed_at.is_not(None), ContactChange.previous_email.is_not(None))
        .order_by(ContactChange.created_at.desc())).first()


def _tell_coordinators(structure: Structure, subject: str, body: str,
                       coordinators_of: Any = None) -> None:
    from app.notifications.services import queue

    if coordinators_of is None:
        return
    for coordinator in coordinators_of(list(structure.territories)):
        queue(coordinator.email, subject, body, kind="structure.contact_change_coordinator",
              related_type="structure", related_id=structure.id)


def request_contact_change(structure: Structure, email: str, actor: Any,
                           coordinators_of: Any = None) -> ContactChange:
    """Ask the new address to confirm itself (a one-time link, stored hashed, valid
    ``PASSERELLE_EMAIL_LINK_HOURS``) and tell the old one. Until confirmed, the structure keeps
    its confirmed address: contact links and messages go there (or wait, when it has none)."""
    from app.notifications.services import queue

    _cancel_pending(structure)
    now = utcnow()
    raw = new_secret_token()
    change = ContactChange(
        structure_id=structure.id, email=email, previous_email=structure.contact_email,
        token_hash=token_digest(raw), requested_by_id=getattr(actor, "id", None),
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["PASSERELLE_EMAIL_LINK_HOURS"]))
    db.session.add(change)
    base = current_app.config["PASSERELLE_BASE_URL"].rstrip("/")
    queue(email, f"Passerelle : confirmez l'adresse de contact de {structure.name}",
          f"Bonjour,\n\nCette adresse a été indiquée comme adresse de contact de la structure "
          f"« {structure.name} » dans Passerelle, l'outil du premier accueil social. Les "
          "orientations adressées à la structure y seront envoyées une fois l'adresse "
          f"confirmée.\n\nPour la confirmer, ouvrez ce lien (valable jusqu'au "
          f"{change.expires_at:%d/%m/%Y à %H:%M} UTC) :\n{base}{CONTACT_CONFIRM_PATH}{raw}\n\n"
          "Si cette adresse n'est pas celle de la structure, ignorez ce message : rien ne lui "
          "sera envoyé.\n",
          kind="structure.contact_confirm", related_type="structure", related_id=structure.id)
    subject = f"Passerelle : changement d'adresse de contact demandé pour {structure.name}"
    last = last_confirmed_contact(structure)
    if last:
        queue(last, subject,
              f"Bonjour,\n\nUn administrateur de Passerelle a demandé que l'adresse de contact "
              f"de la structure « {structure.name} » devienne {email}. "
              + ("Cette adresse-ci reste celle de la structure, et reçoit les orientations, tant "
                 "que la nouvelle n'a pas été confirmée depuis la nouvelle adresse."
                 if structure.contact_email else
                 "Cette adresse-ci, la dernière confirmée pour la structure, en a été retirée.")
              + "\n\nSi ce changement vous surprend, prévenez le coordinateur de votre "
              "territoire ou le service qui vous oriente des personnes.\n",
              kind="structure.contact_change_notice", related_type="structure",
              related_id=structure.id)
    _tell_coordinators(
        structure, subject,
        f"Bonjour,\n\nUn administrateur de Passerelle a demandé que l'adresse de contact de la "
        f"structure « {structure.name} », sur votre territoire, devienne {email} (dernière "
        f"adresse confirmée : {last or 'aucune'}). La nouvelle adresse ne reçoit rien avant "
        "d'avoir été confirmée depuis elle-même.\n\nSi ce changement vous surprend, "
        "vérifiez-le auprès de la structure.\n", coordinators_of)
    audit.record("structure.contact_change_requested", actor=actor, object_type="structure",
                 object_id=structure.id, details={"change": change.id})
    return change


def contact_change_for(raw: str | None) -> ContactChange | None:
    """The pending, unexpired change that ``raw`` confirms, or None."""
    if not raw or len(raw) > 200:
        return None
    change = db.session.scalars(sa.select(ContactChange).where(
        ContactChange.token_hash == token_digest(raw))).first()
    if change is None or change.confirmed_at is not None or change.cancelled_at is not None \
            or change.expires_at <= utcnow():
        return None
    return change


def confirm_contact_change(raw: str | None) -> Structure:
    """The holder of the new address confirms it: it becomes the structure's contact address
    (once: the link is used up, even when two requests race)."""
    change = contact_change_for(raw)
    refused = _("Ce lien n'est plus valable : il a déjà servi, a expiré ou a été remplacé. "
                "Demandez à l'administrateur de Passerelle de renvoyer la demande.")
    if change is None:
        raise NotFound(refused)
    claimed = db.session.execute(sa.update(ContactChange).where(
        ContactChange.id == change.id, ContactChange.confirmed_at.is_(None),
        ContactChange.cancelled_at.is_(None)).values(confirmed_at=utcnow())).rowcount == 1
    if not claimed:
        raise NotFound(refused)
    structure = db.session.get(Structure, change.structure_id)
    structure.contact_email = change.email
    audit.record("structure.contact_confirmed", actor_kind="contact", object_type="structure",
                 object_id=structure.id, details={"change": change.id})
    return structure


def set_structure_active(structure: Structure, active: bool, actor: Any = None) -> Structure:
    structure.active = active
    audit.record("structure.activate" if active else "structure.deactivate", actor=actor,
                 object_type="structure", object_id=structure.id)
    return structure


def find_structure(reference: str | uuid.UUID | None, *,
                   active_only: bool = True) -> Structure | None:
    return _find(Structure, reference, active_only)


def with_coverage() -> tuple:
    """Loader options for lists of structures that show their domains and territories."""
    return (selectinload(Structure.domain_rows), selectinload(Structure.territory_rows))


def search_structures(domain: str | None = None, territory: str | None = None,
                      q: str | None = None, active_only: bool = True) -> list[Structure]:
    """Structures covering ``domain`` and ``territory``, whose name holds every word of ``q``."""
    query = sa.select(Structure).options(*with_coverage()).order_by(Structure.name)
    if active_only:
        query = query.where(Structure.active.is_(True))
    if domain:
        query = query.where(Structure.domain_rows.any(StructureDomain.domain == domain))
    if territory:
        query = query.where(
            Structure.territory_rows.any(
                sa.func.lower(StructureTerritory.territory) == territory.strip().lower()
            )
        )
    structures = list(db.session.scalars(query))
    words = normalise(q).split()
    if words:
        structures = [s for s in structures if all(w in normalise(s.name) for w in words)]
    return structures


def territories() -> list[str]:
    """Every territory named by a site or a structure, sorted."""
    names = set(db.session.scalars(sa.select(Site.territory).distinct()))
    names |= set(db.session.scalars(sa.select(StructureTerritory.territory).distinct()))
    return sorted(n for n in names if n)


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter dropped, added, changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def similar_territory(name: str, known: Iterable[str]) -> str | None:
    """The known territory ``name`` is probably a typo of (issue 24, item 15): the same once case,
    accents, hyphens and spaces are folded ("drome nord" for "Drôme Nord"), or one letter away
    ("Valance" for "Valence", from five letters on); None when it is really new."""
    wanted = normalise(name).replace(" ", "")
    if not wanted:
        return None
    close = None
    for territory in known:
        folded = normalise(territory).replace(" ", "")
        if folded == wanted:
            return territory
        if close is None and len(wanted) >= 5 and _one_edit_apart(folded, wanted):
            close = territory
    return close
