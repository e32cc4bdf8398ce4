"""One builder per table holding encrypted fields: each fills every encrypted field of a new row
with a marker. The leak and rotation tests use them, and fail when a table has none."""

from __future__ import annotations

from collections.abc import Callable

from app.core.db import db


def _user(build, marker: str) -> None:
    from app.auth.models import User

    user = build.user("accueil")
    with build.app.app_context():
        db.session.get(User, user.id).totp_secret = f"{marker}-totp"
        db.session.commit()


def _person_and_visit(build, marker: str) -> None:
    """A person with every identity field, a rectification, a visit with a need, a break-glass."""
    from app.accueil.models import Person
    from app.accueil.persons import update_person
    from app.accueil.scopes import break_glass
    from app.auth.models import User

    person = build.person(first_name=f"{marker}First", last_name=f"{marker}Last",
                          birth_name=f"{marker}Birth", phone="01 23 45 67 89",
                          email=f"{marker.lower()}@mail.test", address=f"1 rue {marker}")
    build.visit(person, summary=f"{marker} summary", next_steps=f"{marker} steps",
                needs=[{"domain": "budget", "urgency": "urgent", "note": f"{marker} note"}])
    anonymous = build.person(anonymous=True, pseudonym=f"{marker}Pseudo")
    coordinator = build.user("coordinateur")
    with build.app.app_context():
        row = db.session.get(Person, person.id)
        update_person(row, {"last_name": f"{marker}Renamed"}, db.session.get(User, person.agent.id))
        break_glass(db.session.get(User, coordinator.id), db.session.get(Person, anonymous.id),
                    f"{marker} urgent call from the family")
        db.session.commit()


def _orientation(build, marker: str) -> None:
    """An orientation with motive, purpose, override and a refusal event."""
    from app.orientation.models import Orientation
    from app.orientation.services import refuse

    agent = build.user("accueil")
    structure = build.structure(domains=["budget"], contact_email="contact@structure.test")
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Orientee", last_name="Personne")
    orientation = build.orientation(person, structure, motive=f"{marker} motive",
                                    coverage_override=f"{marker} override",
                                    consent={"given": True, "shared_fields": ["first_name"],
                                             "purpose": f"{marker} purpose"})
    with build.app.app_context():
        from app.auth.models import User

        refuse(db.session.get(Orientation, orientation.id), db.session.get(User, partner.id),
               f"{marker} refusal reason")
        row = db.session.get(Orientation, orientation.id)
        row.outcome = f"{marker} outcome"
        db.session.commit()


def _parcours(build, marker: str) -> None:
    """A parcours with goals, a member added with a reason, an entry, a handover, an outcome."""
    from app.auth.models import User
    from app.referents.models import Parcours
    from app.referents.services import add_entry, close, handover

    agent = build.user("accueil")
    referent, successor = build.user("referent_parcours"), build.user("referent_parcours")
    member = build.user("partenaire")
    person = build.person(agent)
    parcours = build.parcours(person, referent, [member], goals=f"{marker} goals",
                              members_reason=f"{marker} member reason")
    with build.app.app_context():
        row = db.session.get(Parcours, parcours.id)
        add_entry(row, {"kind": "note", "visibility": "referent", "content": f"{marker} entry"},
                  db.session.get(User, referent.id))
        handover(row, str(successor.id), f"{marker} handover", db.session.get(User, referent.id))
        close(row, "resolved", db.session.get(User, successor.id), f"{marker} outcome")
        db.session.commit()


def _contact_link(build, marker: str) -> None:
    """A structure without accounts: the orientation to it issues a link for its address."""
    agent = build.user("accueil")
    # (a structure's contact address is public directory data, so no marker in it)
    structure = build.structure(contact_email="contact@asso.test")
    build.orientation(build.person(agent), structure)


def _followup(build, marker: str) -> None:
    """A person who asked for updates by e-mail at an address carrying the marker."""
    from app.auth.models import User
    from app.followup.services import record_consent
    from app.orientation.models import Orientation

    agent = build.user("accueil")
    structure = build.structure()
    orientation = build.orientation(build.person(agent), structure)
    with build.app.app_context():
        record_consent(db.session.get(Orientation, orientation.id), "email",
                       f"{marker.lower()}@person.test", db.session.get(User, agent.id))
        db.session.commit()


def _outbox(build, marker: str) -> None:
    """A queued message whose recipient and body carry the marker (a body may hold a one-time
    link or code, and the name of a structure a person was sent to)."""
    from app.notifications.services import queue

    with build.app.app_context():
        queue(f"{marker.lower()}@recipient.test", "Votre code",
              f"Bonjour, {marker} vous attend. Code : 123456, lien /c/{marker}Token",
              kind="test.marker")
        db.session.commit()


def _document(build, marker: str) -> None:
    """A document whose name and PDF content carry the marker (issue 20: a dump holds no
    document plaintext)."""
    from tests.documents_samples import pdf_bytes

    person = build.person(build.user("accueil"))
    build.document(person, data=pdf_bytes(f"{marker} contenu du PDF"),
                   filename=f"{marker.lower()}-avis.pdf", kind="eviction")


def _appointment(build, marker: str) -> None:
    """An acknowledged orientation with an appointment at another place and with someone, both
    carrying the marker (issue 20), and its reminder queued to the person."""
    from datetime import timedelta

    from app.appointments.services import record_appointment
    from app.auth.models import User
    from app.core.db import utcnow
    from app.orientation.deadlines import local_date
    from app.orientation.models import Orientation
    from app.orientation.services import acknowledge

    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    orientation = build.orientation(build.person(agent), structure)
    with build.app.app_context():
        row = db.session.get(Orientation, orientation.id)
        actor = db.session.get(User, partner.id)
        acknowledge(row, actor)
        record_appointment(row, {"scheduled_on": local_date(utcnow()) + timedelta(days=7),
                                 "scheduled_time": "10:00", "place_kind": "other",
                                 "place": f"{marker} salle 2", "with_whom": f"{marker} Mme"},
                           actor)
        db.session.commit()


FACTORIES: dict[str, Callable] = {
    "appointments": _appointment,
    "documents": _document,
    "followups": _followup,
    "contact_links": _contact_link,
    "parcours": _parcours,
    "parcours_members": _parcours,
    "parcours_entries": _parcours,
    "parcours_referent_changes": _parcours,
    "orientations": _orientation,
    "orientation_events": _orientation,
    "outbox_messages": _outbox,
    "users": _user,
    "persons": _person_and_visit,
    "visits": _person_and_visit,
    "needs": _person_and_visit,
    "person_revisions": _person_and_visit,
    "break_glass_accesses": _person_and_visit,
}


def fill_every_encrypted_table(build, marker: str) -> None:
    for factory in dict.fromkeys(FACTORIES.values()):
        factory(build, marker)
