"""The messages an orientation sends, written to the outbox in the same transaction.

No personal data in any of them: the structure or site name, a date, and a link to Passerelle
where the reader must log in (or, for a structure without accounts, a contact link: see
app/orientation/contact.py). The texts are French (the working language of the département's
partners).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app

from app.auth.models import User
from app.core.db import db
from app.core.enums import Role
from app.directory.models import Site, Structure
from app.notifications.services import queue
from app.orientation.designated import referents
from app.orientation.models import Orientation
from app.orientation.status import OrientationStatus

# -- hooks: who else is called, registered from a feature's init_app --------------------------
# Structures without any account answer through a link: hook(orientation, structure) -> True
# when it sent the structure its link instead of the plain message. Registered by
# app/orientation/__init__.py: contact.on_new_orientation.
_CONTACT_HOOKS: list[Callable[[Orientation, Structure], bool]] = []
# Reminders to structures without accounts carry a new contact link instead of the login page:
# hook(orientation, structure, intro, dedupe_key) -> addresses reached, or None to fall back.
# Registered by app/orientation/__init__.py: contact.remind.
_CONTACT_REMINDER_HOOKS: list[Callable[[Orientation, Structure, str, str], list[str] | None]] = []
# Told of every change of status. Registered by app/followup/__init__.py:
# followup.services.on_status_changed (the person's own updates).
_STATUS_HOOKS: list[Callable[[Orientation], None]] = []


def register_contact_hook(hook: Callable[[Orientation, Structure], bool]) -> None:
    if hook not in _CONTACT_HOOKS:
        _CONTACT_HOOKS.append(hook)


def register_contact_reminder_hook(
        hook: Callable[[Orientation, Structure, str, str], list[str] | None]) -> None:
    if hook not in _CONTACT_REMINDER_HOOKS:
        _CONTACT_REMINDER_HOOKS.append(hook)


def register_status_hook(hook: Callable[[Orientation], None]) -> None:
    if hook not in _STATUS_HOOKS:
        _STATUS_HOOKS.append(hook)


# -- messages ---------------------------------------------------------------------------------
# What the sender is told of each change of status (none for a cancel: the sender did it; none
# for a close: the sender was told of the taking in charge).
STATUS_TEXT = {
    OrientationStatus.ACKNOWLEDGED: "a été prise en compte par la structure",
    OrientationStatus.IN_CHARGE: "a donné lieu à une prise en charge",
    OrientationStatus.REFUSED: "a été refusée par la structure",
    OrientationStatus.REDIRECTED: "a été réorientée vers une autre structure",
}


def link(orientation: Orientation) -> str:
    return f"{current_app.config['PASSERELLE_BASE_URL'].rstrip('/')}/orientations/{orientation.id}"


def _date(value) -> str:
    return value.strftime("%d/%m/%Y")


def partner_recipients(orientation: Orientation, structure: Structure,
                       requested: User | None = None) -> list[str]:
    """The requested referent, else the designated referents, else the structure's address."""
    return _addresses(structure, _partner_users(orientation, structure, requested))


def _partner_users(orientation: Orientation, structure: Structure,
                   requested: User | None) -> list[User]:
    """The requested referent, else the designated referents; with no designated referent,
    every active partner of the structure: empty only for a structure without an account."""
    if requested is not None:
        return [requested]
    return referents(structure.id, orientation.domain)


def _addresses(structure: Structure, users: list[User]) -> list[str]:
    if users:
        return [u.email for u in users]
    return [structure.contact_email] if structure.contact_email else []




def new_orientation(orientation: Orientation, structure: Structure, requested: User | None) -> None:
    site = db.session.get(Site, orientation.sender_site_id) if orientation.sender_site_id else None
    users = _partner_users(orientation, structure, requested)
    if not users:  # no partner account (the referents fall back to every active partner)
        for hook in _CONTACT_HOOKS:
            if hook(orientation, structure):
                return
    for address in _addresses(structure, users):
        queue(address, f"{'URGENT – ' if orientation.urgent else ''}"
                       f"Nouvelle orientation pour {structure.name}",
              "Bonjour,\n\n"
              f"Une nouvelle orientation {'URGENTE ' if orientation.urgent else ''}a été adressée "
              f"à votre structure{' par ' + site.name if site else ''}.\n"
              f"Merci d'en accuser réception au plus tard le {_date(orientation.acknowledge_due)}, "
              "puis de prendre la personne en charge.\n\n"
              f"Consultez-la dans Passerelle : {link(orientation)}\n\n"
              "Ce message ne contient aucune information sur la personne.\n",
              kind="orientation.new", related_type="orientation", related_id=orientation.id,
              dedupe_key=f"orientation.new:{orientation.id}:{address}")


def _has_partner_users(structure: Structure) -> bool:
    return db.session.scalar(sa.select(User.id).where(
        User.structure_id == structure.id, User.active.is_(True),
        User.role == Role.PARTENAIRE).limit(1)) is not None


def contact_reminder(orientation: Orientation, structure: Structure, intro: str,
                     dedupe_key: str) -> list[str] | None:
    """The reminder of a structure without accounts (None when it has accounts: the caller then
    sends its plain message to ``partner_recipients``)."""
    if _has_partner_users(structure):
        return None
    for hook in _CONTACT_REMINDER_HOOKS:
        sent = hook(orientation, structure, intro, dedupe_key)
        if sent is not None:
            return sent
    return None


def status_changed(orientation: Orientation) -> None:
    """Tell the sender what became of their orientation (and the hooks, the person)."""
    for hook in _STATUS_HOOKS:
        hook(orientation)
    text = STATUS_TEXT.get(orientation.status)
    if (orientation.status == OrientationStatus.REFUSED
            and orientation.refusal_code == "missed_appointments"):
        text = ("vous est rendue par la structure : la personne n'est pas venue à deux "
                "rendez-vous")
    sender = db.session.get(User, orientation.sender_id) if orientation.sender_id else None
    if text is None or sender is None or not sender.active:
        return
    structure = db.session.get(Structure, orientation.structure_id)
    queue(sender.email, f"Orientation vers {structure.name} : {text}",
          "Bonjour,\n\n"
          f"L'orientation que vous avez envoyée à {structure.name} {text}.\n\n"
          f"Le détail est dans Passerelle : {link(orientation)}\n",
          kind=f"orientation.{orientation.status}", related_type="orientation",
          related_id=orientation.id,
          dedupe_key=f"orientation.{orientation.status}:{orientation.id}")


def consent_needed(orientation: Orientation, structure: Structure) -> None:
    """A redirect the person had not accepted: the sender is asked to collect their consent
    again (the new structure sees nothing of the person until then)."""
    sender = db.session.get(User, orientation.sender_id) if orientation.sender_id else None
    if sender is None or not sender.active:
        return
    queue(sender.email, f"Orientation réorientée vers {structure.name} : accord à recueillir",
          "Bonjour,\n\n"
          f"Une orientation que vous avez envoyée a été réorientée vers {structure.name}. "
          "La personne n'avait pas accepté d'être orientée vers une autre structure : "
          f"{structure.name} ne voit rien d'elle tant que vous n'avez pas recueilli et confirmé "
          "son accord, ou annulé l'orientation.\n\n"
          f"Confirmez-le dans Passerelle : {link(orientation)}\n",
          kind="orientation.consent_needed", related_type="orientation",
          related_id=orientation.id, dedupe_key=f"orientation.consent_needed:{orientation.id}")


def reminder(orientation: Orientation, structure: Structure, intro: str, key: str) -> list[str]:
    """The reminder to the structure, written once for the daily run and for a coordinator's:
    ``intro`` says what is awaited; ``key`` names this reminder, each message's deduplication key
    is ``key`` and its address (a second run with the same key sends nothing twice). A structure
    without accounts gets a new contact link instead of the login page. The addresses reached."""
    contact = contact_reminder(orientation, structure, intro, f"{key}:{structure.contact_email}")
    if contact is not None:
        return contact
    sent = []
    for address in partner_recipients(orientation, structure):
        if queue(address, f"Relance : orientation en attente pour {structure.name}",
                 f"Bonjour,\n\n{intro}\n\n"
                 f"Consultez-la dans Passerelle : {link(orientation)}\n",
                 kind="orientation.reminder", related_type="orientation",
                 related_id=orientation.id, dedupe_key=f"{key}:{address}"):
            sent.append(address)
    return sent


def stalled_reminder(orientation: Orientation, structure: Structure, step: str, due) -> list[str]:
    """The daily run's reminder of a step overdue since ``due`` (once per step)."""
    what = "d'accuser réception de" if step == "acknowledge" else "de prendre en charge"
    intro = (f"Une orientation adressée à votre structure attend depuis le {_date(due)}. "
             f"Merci {what} cette orientation dès que possible.")
    return reminder(orientation, structure, intro, f"orientation.remind:{step}:{orientation.id}")


def coordinator_reminder(orientation: Orientation, structure: Structure, stamp: str) -> list[str]:
    """A coordinator's reminder, sent whatever was sent before (``stamp`` makes it new)."""
    return reminder(orientation, structure,
                    "Un coordinateur vous demande de traiter une orientation adressée à votre "
                    "structure.", f"orientation.remind:manual:{orientation.id}:{stamp}")


def escalation(orientation: Orientation, structure: Structure, step: str, due,
               recipients: list[str]) -> list[str]:
    what = "l'accusé de réception" if step.startswith("acknowledge") else "la prise en charge"
    # The head of a structure without accounts cannot log in: its contact address has the link.
    head_without_account = (structure.head_contact_email if structure.contact_email
                            and not _has_partner_users(structure) else None)
    sent = []
    for address in recipients:
        where = (f"Consultez la liste des orientations en attente : {link(orientation)}\n"
                 if address != head_without_account else
                 "Votre structure n'a pas de compte dans Passerelle : un lien pour y répondre sans "
                 "compte a été envoyé à son adresse de contact.\n")
        if queue(address, f"Orientation bloquée : {structure.name}",
                 "Bonjour,\n\n"
                 f"Une orientation adressée à {structure.name} attend {what} depuis le "
                 f"{_date(due)}, malgré une relance.\n\n{where}",
                 kind="orientation.escalation", related_type="orientation",
                 related_id=orientation.id,
                 dedupe_key=f"orientation.escalate:{step}:{orientation.id}:{address}"):
            sent.append(address)
    return sent
