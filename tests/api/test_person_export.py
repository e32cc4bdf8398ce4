"""The RGPD export is the person's whole record: orientations, parcours and follow-up sections
(registered by their features), in the API and on the printable page, labelled in French."""

from __future__ import annotations

import pytest

from tests.helpers import api_token, bearer, login


@pytest.fixture
def record(app, build):
    """A person oriented twice (one refused), in a closed parcours with a journal, who asked
    for follow-up messages by e-mail."""
    from app.auth.models import User
    from app.core.db import db
    from app.followup.services import record_consent
    from app.orientation import services as orientation_services
    from app.orientation.models import Orientation
    from app.referents import services as parcours_services
    from app.referents.models import Parcours

    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    ccas, caf = build.structure(name="CCAS Export"), build.structure(name="CAF Export")
    partner = build.user("partenaire", structure=str(caf.id))
    member = build.user("partenaire", structure=str(ccas.id))
    person = build.person(agent, first_name="Nadia", last_name="Export", birth_date="1984-03-02")
    kept = build.orientation(person, ccas)
    refused = build.orientation(person, caf)
    parcours = build.parcours(person, referent, members=[member])
    with app.app_context():
        actor = db.session.get(User, agent.id)
        orientation_services.refuse(db.session.get(Orientation, refused.id),
                                    db.session.get(User, partner.id),
                                    "Hors de notre territoire d'intervention", "outside_territory")
        record_consent(db.session.get(Orientation, kept.id), "email", "nadia@example.org", actor)
        row = db.session.get(Parcours, parcours.id)
        parcours_services.add_entry(row, {"kind": "meeting", "visibility": "referent",
                                          "content": "Point sur le dossier logement",
                                          "person_present": "present"},
                                    db.session.get(User, referent.id))
        parcours_services.close(row, "resolved", db.session.get(User, referent.id),
                                "Relogée en mars")
        db.session.commit()
    return type("Record", (), dict(agent=agent, person=person, kept=kept, refused=refused,
                                   referent=referent, member=member, parcours=parcours))


def _export(client, record) -> dict:
    answer = client.get(f"/api/v1/persons/{record.person.id}/export",
                        headers=bearer(api_token(client, record.agent)))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_export_holds_the_orientations(client, record):
    rows = {o["id"]: o for o in _export(client, record)["orientations"]}
    assert set(rows) == {str(record.kept.id), str(record.refused.id)}
    kept = rows[str(record.kept.id)]
    assert kept["structure"]["name"] == "CCAS Export" and kept["domain"] == "logement"
    assert kept["motive"] == "Menace d'expulsion, besoin d'un accompagnement"
    assert kept["consent"] == {"given": True, "purpose": "Accompagnement logement",
                               "shared_fields": ["first_name", "last_name", "phone"]}
    assert kept["status"] == "sent" and kept["sender"] == record.agent.display_name
    refused = rows[str(record.refused.id)]
    assert refused["status"] == "refused" and refused["refusal_code"] == "outside_territory"
    assert [(e["from_status"], e["to_status"]) for e in refused["events"]] == [
        (None, "sent"), ("sent", "refused")]
    assert refused["events"][1]["reason"] == "Hors de notre territoire d'intervention"
    assert refused["sent_at"][4] == "-" and refused["events"][0]["at"][4] == "-"  # ISO 8601


def test_export_holds_the_parcours(client, record):
    [parcours] = _export(client, record)["parcours"]
    assert parcours["id"] == str(record.parcours.id)
    assert parcours["referent"] == record.referent.display_name
    assert parcours["goals"] == "Retrouver un logement stable"
    assert [m["name"] for m in parcours["members"]] == [record.member.display_name]
    [entry] = parcours["entries"]
    # Even an entry reserved to the référent: the record is the person's.
    assert entry["content"] == "Point sur le dossier logement" and entry["visibility"] == "referent"
    assert entry["kind"] == "meeting" and entry["author"] == record.referent.display_name
    assert parcours["status"] == "closed" and parcours["outcome"] == "resolved"
    assert parcours["outcome_note"] == "Relogée en mars"


def test_export_holds_the_followup(client, record):
    [followup] = _export(client, record)["followup"]
    assert followup["orientation_id"] == str(record.kept.id)
    assert followup["structure"] == "CCAS Export"
    assert followup["updates_channel"] == "email"
    assert followup["updates_contact"] == "nadia@example.org"
    assert followup["consent_at"] and followup["withdrawn_at"] is None


def test_printable_export_labels_every_section_in_french(client, record):
    login(client, record.agent)
    page = client.get(f"/persons/{record.person.id}/export")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for label in ("Date de naissance", "Numéro d'accueil", "Orientations", "CCAS Export",
                  "Menace d&#39;expulsion", "Accompagnement logement", "Demande refusée",
                  "Hors de notre territoire", "Informations partagées avec la structure",
                  "Parcours", "Point sur le dossier logement", "Situation résolue",
                  "Relogée en mars", "Suivi de la demande par la personne", "Par courriel",
                  "nadia@example.org", "Envoi d'une orientation",
                  "Passerelle (traitement automatique)"):
        assert label in text, label
    for raw in ("birth_date", "reception_number", "shared_fields", "updates_channel",
                "outside_territory", "<pre", '"motive"', "orientation.send", "— system —"):
        assert raw not in text, raw


def _with_appointments(app, record):
    """The kept orientation acknowledged by its partner, an appointment at another place that
    the person missed and the new one, reminded by e-mail."""
    from datetime import timedelta

    from app.appointments import services as appointments
    from app.auth.models import User
    from app.core.db import db, utcnow
    from app.orientation.deadlines import local_date
    from app.orientation.models import Orientation
    from app.orientation.services import acknowledge

    with app.app_context():
        orientation = db.session.get(Orientation, record.kept.id)
        partner = db.session.get(User, record.member.id)
        acknowledge(orientation, partner)
        first = appointments.record_appointment(
            orientation, {"scheduled_on": local_date(utcnow()), "scheduled_time": "09:15",
                          "place_kind": "other", "place": "Salle du conseil, mairie",
                          "with_whom": "M. Dupré", "attendance": "no_show"}, partner)
        second = appointments.record_appointment(
            orientation, {"scheduled_on": local_date(utcnow()) + timedelta(days=1),
                          "place_kind": "phone"}, partner)
        db.session.commit()
        appointments.remind(utcnow())
        return first.id, second.id


def test_export_holds_the_appointments(app, client, record):
    first, second = _with_appointments(app, record)
    rows = {a["id"]: a for a in _export(client, record)["appointments"]}
    assert set(rows) == {str(first), str(second)}
    missed = rows[str(first)]
    assert missed["structure"] == "CCAS Export" and missed["orientation_id"] == str(record.kept.id)
    assert missed["scheduled_time"] == "09:15" and missed["place_kind"] == "other"
    assert missed["place"] == "Salle du conseil, mairie" and missed["with_whom"] == "M. Dupré"
    assert missed["status"] == "no_show" and missed["attendance_at"]
    assert missed["created_by"] == record.member.display_name
    assert missed["attendance_by"] == record.member.display_name
    assert "person_token_hash" not in missed and "token" not in str(missed)
    by_phone = rows[str(second)]
    assert by_phone["status"] == "scheduled" and by_phone["place_kind"] == "phone"
    assert [(r["kind"], r["channel"]) for r in by_phone["reminders"]] == [("before", "email")]


def test_printable_export_shows_the_appointments(app, client, record):
    _with_appointments(app, record)
    login(client, record.agent)
    text = client.get(f"/persons/{record.person.id}/export").get_data(as_text=True)
    for label in ("Rendez-vous", "Salle du conseil, mairie", "M. Dupré", "Pas venue",
                  "Par téléphone", "Rappels envoyés", "deux jours ouvrés avant"):
        assert label in text, label
    assert "no_show" not in text
