"""Partners without an account answer an orientation through a secure, time-limited link.

An orientation to a structure that has no partner account (only a contact address) e-mails that
address a link holding a random 256-bit token, stored hashed, valid ``PASSERELLE_CONTACT_LINK_DAYS``
(8) days, bound to that orientation and that address, revocable and re-issuable by the sender's
site or a coordinator. Opening the link sends a 6-digit code, separately, to the same address
(valid 15 minutes, 5 tries): a forwarded or leaked link alone opens nothing. A link gets at most
5 codes an hour; after 15 wrong codes in all it is revoked (the sender can issue a new one), and
every wrong code also counts against the address it came from. After the code and the charter,
the contact sees the orientation with only the shared fields and acts on it through the same
state machine, recorded as "contact de la structure X (adresse)". Everything is audited (the
link's id, never its token).

Reminders to such a structure carry a new link: tokens are stored hashed, so an earlier link
cannot be sent again. Only an orientation still open (sent, acknowledged, in charge) gets a link:
a cancelled, refused, redirected or closed one has nothing left to answer (its links ended with
it), and asking for a new one answers 409.
"""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from app.core import audit, ratelimit
from app.core.crypto import new_secret_token, token_digest
from app.core.db import db, utcnow
from app.core.errors import InvalidTransition
from app.directory.models import Structure
from app.notifications.models import OutboxMessage
from app.notifications.services import queue
from app.orientation.models import ContactLink, Orientation
from app.orientation.status import OPEN_STATUSES, STATUS_LABELS

CODE_MINUTES = 15
CODE_TRIES = 5
CODES_PER_HOUR = 5         # codes sent for one link
FAILED_CODES_PER_LINK = 15  # wrong codes in the link's whole life, then it is revoked
VERIFIED_HOURS = 2
OPENINGS_PER_HOUR = 30     # unknown links and wrong codes, per address


def _base() -> str:
    return current_app.config["PASSERELLE_BASE_URL"].rstrip("/")


def _new_link(orientation: Orientation, structure: Structure, actor: Any
              ) -> tuple[ContactLink, str]:
    """A new link row for the structure's contact address (older links of the orientation end);
    returns it with its token in clear, to be put in the message and nowhere else."""
    now = utcnow()
    db.session.execute(sa.update(ContactLink).where(
        ContactLink.orientation_id == orientation.id, ContactLink.revoked_at.is_(None))
        .values(revoked_at=now))
    raw = new_secret_token()
    link = ContactLink(orientation_id=orientation.id, token_hash=token_digest(raw),
                       created_at=now, created_by_id=getattr(actor, "id", None),
                       expires_at=now + timedelta(days=current_app.config["PASSERELLE_CONTACT_LINK_DAYS"]))
    link.email = structure.contact_email
    db.session.add(link)
    return link, raw


def _how_to_answer(link: ContactLink, raw: str) -> str:
    return (f"Ouvrez ce lien (valable jusqu'au {link.expires_at:%d/%m/%Y}) : {_base()}/contact/{raw}\n\n"
            "Un code vous sera envoyé par un message séparé, à cette même adresse.\n")


def _issued(orientation: Orientation, link: ContactLink, actor: Any, **details: Any) -> None:
    audit.record("orientation.contact_link_issued", actor=actor,
                 actor_kind=None if actor else "system", object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id,
                 details={"link": link.id, **details})


def awaits_an_answer(orientation: Orientation) -> bool:
    """Whether the structure may still answer the orientation (and so be given a link)."""
    return orientation.status in OPEN_STATUSES


def ensure_awaits_an_answer(orientation: Orientation) -> None:
    """The refusal (409) of a new link or a reminder for an ended orientation."""
    if not awaits_an_answer(orientation):
        raise InvalidTransition(_(
            "Action impossible : l'orientation est « %(s)s », la structure n'a plus à y "
            "répondre (aucun lien ni relance ne lui est envoyé).",
            s=STATUS_LABELS[orientation.status]))


def issue(orientation: Orientation, structure: Structure, actor: Any = None) -> ContactLink | None:
    """A new link for the structure's contact address (older links of the orientation end);
    None, and nothing issued, without a contact address or for an ended orientation."""
    if not structure.contact_email or not awaits_an_answer(orientation):
        return None
    link, raw = _new_link(orientation, structure, actor)
    queue(structure.contact_email, f"Une orientation attend votre réponse — {structure.name}",
          "Bonjour,\n\n"
          "Une orientation a été adressée à votre structure dans Passerelle, l'outil du premier "
          "accueil social du Département. Vous n'avez pas besoin de compte pour y répondre.\n\n"
          f"{_how_to_answer(link, raw)}"
          f"Merci d'en accuser réception au plus tard le {orientation.acknowledge_due:%d/%m/%Y}.\n\n"
          "Ce message ne contient aucune information sur la personne.\n",
          kind="orientation.contact_link", related_type="orientation", related_id=orientation.id,
          dedupe_key=f"orientation.contact_link:{link.id}")
    _issued(orientation, link, actor)
    return link


def remind(orientation: Orientation, structure: Structure, intro: str,
           dedupe_key: str) -> list[str] | None:
    """A reminder to a structure without accounts, with a new link to answer without logging in.

    None when the structure has no contact address (the caller falls back to its plain message);
    an empty list when this reminder was already queued (nothing is issued twice) or the
    orientation has ended (nothing is issued at all).
    """
    if not structure.contact_email:
        return None
    if not awaits_an_answer(orientation):
        return []
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return []
    savepoint = db.session.begin_nested()
    link, raw = _new_link(orientation, structure, None)
    message = queue(structure.contact_email,
                    f"Relance : orientation en attente pour {structure.name}",
                    f"Bonjour,\n\n{intro}\n\n"
                    "Vous n'avez pas besoin de compte pour y répondre. "
                    "Les liens reçus auparavant pour cette orientation ne fonctionnent plus.\n\n"
                    f"{_how_to_answer(link, raw)}\n"
                    "Ce message ne contient aucune information sur la personne.\n",
                    kind="orientation.reminder", related_type="orientation",
                    related_id=orientation.id, dedupe_key=dedupe_key)
    if message is None:  # a concurrent run queued it first: keep its link
        savepoint.rollback()
        return []
    savepoint.commit()
    _issued(orientation, link, None, reason="reminder")
    return [structure.contact_email]


def on_new_orientation(orientation: Orientation, structure: Structure) -> bool:
    """notify's contact hook: a structure without accounts gets its link (True when sent)."""
    return issue(orientation, structure) is not None



def revoke(orientation: Orientation, actor: Any) -> int:
    count = db.session.execute(sa.update(ContactLink).where(
        ContactLink.orientation_id == orientation.id, ContactLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())).rowcount
    audit.record("orientation.contact_link_revoked", actor=actor, object_type="orientation",
                 object_id=orientation.id, person_id=orientation.person_id)
    return count


def end_links(orientation: Orientation, actor: Any = None) -> int:
    """The orientation was cancelled, refused or redirected away: its links die with it (the
    structure has no reason left to open it, nor to ask for codes)."""
    count = db.session.execute(sa.update(ContactLink).where(
        ContactLink.orientation_id == orientation.id, ContactLink.revoked_at.is_(None))
        .values(revoked_at=utcnow(), code_hash=None)).rowcount
    if count:
        audit.record("orientation.contact_link_revoked", actor=actor,
                     actor_kind=None if actor else "system", object_type="orientation",
                     object_id=orientation.id, person_id=orientation.person_id,
                     details={"reason": orientation.status, "links": count})
    return count


def links_of(orientation: Orientation) -> list[ContactLink]:
    return list(db.session.scalars(sa.select(ContactLink).where(
        ContactLink.orientation_id == orientation.id).order_by(ContactLink.created_at.desc())))


def find_valid(raw: str | None) -> ContactLink | None:
    """The live link of a token, or None: unknown, expired and revoked look the same."""
    if not raw or len(raw) > 100:
        return None
    link = db.session.scalars(sa.select(ContactLink).where(
        ContactLink.token_hash == token_digest(raw))).first()
    if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
        return None
    return link


def opening_throttled(ip: str | None) -> bool:
    return ratelimit.exceeded(f"contact-open:{ip}", OPENINGS_PER_HOUR, timedelta(hours=1))


def record_bad_token(ip: str | None) -> None:
    ratelimit.hit(f"contact-open:{ip}")


def record_opening(link: ContactLink) -> None:
    """The link's page was opened (whoever holds the link: the code comes next)."""
    person_id = db.session.scalar(sa.select(Orientation.person_id).where(
        Orientation.id == link.orientation_id))
    audit.record("orientation.contact_link_opened", actor_kind="contact",
                 object_type="orientation", object_id=link.orientation_id,
                 person_id=person_id, details={"link": link.id})


def send_code(link: ContactLink) -> bool:
    """A new 6-digit code for the link's address, valid 15 minutes; False (nothing sent) once the
    link had its 5 codes of the hour."""
    bucket = f"contact-code-sent:{link.id}"
    if ratelimit.exceeded(bucket, CODES_PER_HOUR, timedelta(hours=1)):
        audit.record("orientation.contact_code_throttled", actor_kind="contact",
                     object_type="orientation", object_id=link.orientation_id,
                     details={"link": link.id})
        return False
    ratelimit.hit(bucket)
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utcnow()
    link.code_hash = token_digest(f"{link.id}:{code}")
    link.code_expires_at = now + timedelta(minutes=CODE_MINUTES)
    link.code_attempts = 0
    queue(link.email, "Votre code Passerelle",
          f"Bonjour,\n\nVotre code : {code}\n\nIl est valable {CODE_MINUTES} minutes. "
          "Si vous n'avez rien demandé, ignorez ce message.\n",
          kind="orientation.contact_code", related_type="contact_link", related_id=link.id,
          dedupe_key=f"orientation.contact_code:{link.id}:{now.timestamp()}")
    audit.record("orientation.contact_code_sent", actor_kind="contact",
                 object_type="orientation", object_id=link.orientation_id,
                 details={"link": link.id})
    return True


def _link_lifetime() -> timedelta:
    return timedelta(days=current_app.config["PASSERELLE_CONTACT_LINK_DAYS"] + 1)


def check_code(link: ContactLink, code: Any, ip: str | None = None) -> bool:
    """Five tries per code; a right code within 15 minutes opens the orientation.

    Every failure counts against ``ip`` (with the unknown links); every wrong code also counts
    against the link, which is revoked at the 15th. A try is taken by one ``UPDATE … RETURNING``
    (the code's count goes up only while under the limit, unexpired and unused), and a right
    code is used by another conditional update: concurrent tries are counted one by one, and a
    code opens one session only.
    """
    taken = db.session.execute(
        sa.update(ContactLink)
        .where(ContactLink.id == link.id, ContactLink.code_hash.is_not(None),
               ContactLink.code_attempts < CODE_TRIES, ContactLink.code_expires_at > utcnow())
        .values(code_attempts=ContactLink.code_attempts + 1)
        .returning(ContactLink.code_attempts, ContactLink.code_hash)
        .execution_options(synchronize_session=False)).first()
    if taken is None:
        db.session.refresh(link)
        ratelimit.hit(f"contact-open:{ip}")
        return False
    set_committed_value(link, "code_attempts", taken.code_attempts)
    ok = isinstance(code, str) and hmac.compare_digest(
        token_digest(f"{link.id}:{code.strip()}"), taken.code_hash)
    if ok:  # one use: only the request that clears the hash gets in
        ok = db.session.execute(
            sa.update(ContactLink)
            .where(ContactLink.id == link.id, ContactLink.code_hash == taken.code_hash)
            .values(code_hash=None).returning(ContactLink.id)
            .execution_options(synchronize_session=False)).first() is not None
        set_committed_value(link, "code_hash", None)
    audit.record("orientation.contact_code_ok" if ok else "orientation.contact_code_failed",
                 actor_kind="contact", object_type="orientation", object_id=link.orientation_id,
                 details={"link": link.id})
    if ok:
        return True
    ratelimit.hit(f"contact-open:{ip}")
    bucket = f"contact-code-failed:{link.id}"
    ratelimit.hit(bucket)
    if ratelimit.exceeded(bucket, FAILED_CODES_PER_LINK, _link_lifetime()):
        link.revoked_at = utcnow()
        link.code_hash = None
        audit.record("orientation.contact_link_revoked", actor_kind="system",
                     object_type="orientation", object_id=link.orientation_id,
                     details={"link": link.id, "reason": "too_many_codes"})
    return False


def is_live(link: ContactLink) -> bool:
    return link.revoked_at is None and link.expires_at > utcnow()


def tries_left(link: ContactLink) -> int:
    return max(0, CODE_TRIES - link.code_attempts)


def verified_until() -> float:
    return (utcnow() + timedelta(hours=VERIFIED_HOURS)).timestamp()


def accept_charter(link: ContactLink, version: int) -> None:
    link.charter_version = version
    audit.record("charter.accept", actor_kind="contact", object_type="orientation",
                 object_id=link.orientation_id, details={"link": link.id, "version": version})


def actor_label(link: ContactLink) -> str:
    orientation = db.session.get(Orientation, link.orientation_id)
    structure = db.session.get(Structure, orientation.structure_id)
    return f"contact de la structure {structure.name} ({link.email})"[:200]


def is_verified(session_value: Any) -> bool:
    """The session holds an unexpired proof that the code was given for this link."""
    try:
        return float(session_value) > time.time()
    except (TypeError, ValueError):
        return False
