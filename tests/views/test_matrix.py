"""The role × route × scope matrix: every route of the URL map, called by every role, on an
object inside and one outside the user's scope, compared to the table below.

Answers are classed by what the access decision was: ``ok`` (reached the action, whatever its
result: 200, 201, 302, 400, 409, 422…), ``403``, ``404``, ``login`` (sent to the login page).
An entry reads ``"a=ok/404 p=403 …"``: role, then the answer inside / outside (one value when
both are the same or the route has no object). Roles: a accueil, p partenaire, r référent de
parcours, c coordinateur, x admin.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.helpers import api_token, bearer, csrf_token, login

ROLES = {"a": "accueil", "p": "partenaire", "r": "referent_parcours", "c": "coordinateur",
         "x": "admin"}
ALL_OK = "a=ok p=ok r=ok c=ok x=ok"
ADMIN = "a=403 p=403 r=403 c=403 x=ok"
ONLY_A = "a=ok/404 p=403 r=403 c=403 x=403"
ONLY_P = "a=403 p=ok/404 r=403 c=403 x=403"
PERSON_READ = "a=ok/404 p=ok/404 r=ok/404 c=404 x=403"
PERSON_FULL_A_C = "a=ok/404 p=403 r=403 c=404 x=403"
ORIENTATION_READ = "a=ok/404 p=ok/404 r=404 c=ok/404 x=403"
REDIRECT = "a=403 p=ok/404 r=403 c=ok/404 x=403"
REMIND = "a=403 p=403 r=403 c=ok/404 x=403"
PARCOURS_READ = "a=ok/404 p=ok/404 r=ok/404 c=ok/404 x=403"
PARCOURS_ENTRIES = "a=404 p=ok/404 r=ok/404 c=404 x=403"
PARCOURS_WRITE = "a=403/404 p=ok/404 r=ok/404 c=403 x=403"
PARCOURS_MANAGE = "a=403/404 p=403/404 r=ok/404 c=403 x=403"
PARCOURS_HANDOVER = "a=403/404 p=403/404 r=ok/404 c=ok/404 x=403"
HIDDEN_PILOTAGE = "a=404 p=404 r=404 c=ok x=ok"
FAKE_ID = "a=404 p=404 r=404 c=404 x=404"
DOCUMENT_READ = "a=ok/404 p=ok/404 r=403 c=403 x=403"

EXPECTED = {
    "static": ALL_OK,
    "home.index": ALL_OK,
    "auth.login": ALL_OK,
    "auth.second_factor": "a=login p=login r=login c=login x=login",
    "auth.logout": "a=login p=login r=login c=login x=login",  # back to the login page
    "auth.change_password": ALL_OK,
    "auth.security": ALL_OK,
    "auth.mfa": ALL_OK,
    "auth.revoke_session": FAKE_ID,
    "auth.revoke_token": FAKE_ID,
    "auth.set_language": ALL_OK,
    "auth.keepalive": ALL_OK,  # "Rester connecté" before the idle timeout (issue 24, item 14)
    # single sign-on: no provider is configured here (tests/oidc configures them)
    "auth.oidc_login": FAKE_ID, "auth.oidc_callback": FAKE_ID,
    "auth.issue_page_token": "a=403 p=403 r=403 c=403 x=403",  # SSO-only accounts only
    "charter.show": ALL_OK,
    "charter.accept": ALL_OK,
    # administration
    "admin.sites": ADMIN, "admin.new_site": ADMIN, "admin.edit_site": ADMIN,
    "admin.toggle_site": ADMIN, "admin.structures": ADMIN, "admin.new_structure": ADMIN,
    "admin.edit_structure": ADMIN, "admin.toggle_structure": ADMIN,
    "admin.structure_referents": ADMIN, "admin.convert_contact": ADMIN,
    "admin.remove_structure_referent": "a=403 p=403 r=403 c=403 x=404",
    "admin.users": ADMIN, "admin.new_user": ADMIN, "admin.edit_user": ADMIN,
    "admin.deactivate_user": ADMIN, "admin.reactivate_user": ADMIN,
    "admin.reset_password": ADMIN, "admin.reset_mfa": ADMIN, "admin.charter": ADMIN,
    "admin.set_sso_only": ADMIN, "admin.unlink_identity": "a=403 p=403 r=403 c=403 x=404",
    "admin.allow_identity": "a=403 p=403 r=403 c=403 x=404",
    # accueil pages
    # the référent searches only the persons of their scope (issue 24, item 11; filtered results
    # tested in tests/views/test_referent_search.py)
    "accueil.search": "a=ok p=403 r=ok c=ok x=403",
    "accueil.new_person": "a=ok p=403 r=403 c=403 x=403",
    "accueil.person": PERSON_READ,
    "accueil.edit_person": ONLY_A,
    "accueil.new_visit": ONLY_A,
    "accueil.set_visit_outcome": ONLY_A,
    "accueil.slip": ONLY_A,
    "accueil.export": PERSON_FULL_A_C,
    "accueil.break_glass": "a=ok p=403 r=403 c=ok x=403",
    "accueil.break_glass_log": "a=403 p=403 r=403 c=ok x=403",
    # marking a break-the-glass access as checked (issue 24): an unknown grant is a 404
    "accueil.review_break_glass": "a=403 p=403 r=403 c=404 x=403",
    "accueil.day": "a=ok p=403 r=403 c=403 x=403",
    "accueil.merge": "a=403 p=403 r=403 c=404 x=403",
    "accueil.revert_merge": "a=403 p=403 r=403 c=404 x=403",
    # orientation pages
    "orientation.directory_page": ALL_OK, "orientation.directory_csv": ALL_OK,
    "orientation.structure_page": ALL_OK,
    "orientation.inbox": "a=403 p=ok r=403 c=403 x=403",
    "orientation.sent": "a=ok p=ok r=ok c=ok x=403",
    "orientation.new": ONLY_A,
    "orientation.show": ORIENTATION_READ,
    "orientation.acknowledge": ONLY_P, "orientation.take_charge": ONLY_P,
    "orientation.refuse": ONLY_P, "orientation.close": ONLY_P,
    "orientation.cancel": ONLY_A, "orientation.confirm_consent": ONLY_A,
    "orientation.redirect_to": REDIRECT,
    "orientation.remind": REMIND,
    "orientation.reissue_contact_link": "a=ok/404 p=403 r=403 c=ok/404 x=403",
    "orientation.revoke_contact_link": "a=ok/404 p=403 r=403 c=ok/404 x=403",
    # a structure's contact without an account: public pages, a wrong link looks like any other
    "contact.open_link": FAKE_ID, "contact.send_code": FAKE_ID, "contact.orientation": FAKE_ID,
    "contact.accept_charter": FAKE_ID, "contact.act": FAKE_ID,
    "followup.status": ALL_OK, "followup.stop": ALL_OK,
    # the accessibility statement (RGAA): public, for everyone
    "home.accessibility": ALL_OK,
    # one-time links (review finding 4): a wrong link is a 404 for everyone
    "auth.set_password": FAKE_ID, "directory.confirm_contact": FAKE_ID,
    "followup.setup": ONLY_A, "followup.withdraw": ONLY_A, "api_followup.setup": ONLY_A,
    # parcours pages
    "referents.mine": "a=ok p=ok r=ok c=403 x=403",
    "referents.new": "a=ok/404 p=403 r=ok/404 c=403 x=403",
    "referents.show": PARCOURS_READ,
    "referents.printout": PARCOURS_ENTRIES,
    "referents.add_entry": PARCOURS_WRITE,
    "referents.add_member": PARCOURS_MANAGE,
    "referents.remove_member": PARCOURS_MANAGE,  # a confirmation page, then the removal
    "referents.close": PARCOURS_MANAGE,
    "referents.withdraw": PARCOURS_MANAGE,
    "referents.handover": PARCOURS_HANDOVER,
    # pilotage pages
    "pilotage.stalled": "a=404 p=404 r=404 c=ok x=404",
    "pilotage.indicators_page": HIDDEN_PILOTAGE, "pilotage.indicators_csv": HIDDEN_PILOTAGE,
    "pilotage.indicators_zip": HIDDEN_PILOTAGE,  # "Tout exporter" (issue 24, item 12)
    "pilotage.escalate": "a=404 p=404 r=404 c=ok/404 x=404",
    "pilotage.comment": "a=404 p=404 r=404 c=ok/404 x=404",
    # the silent parcours' actions (issue 24): the coordinators of the parcours' territory
    "pilotage.remind_parcours": "a=404 p=404 r=404 c=ok/404 x=404",
    "pilotage.comment_parcours": "a=404 p=404 r=404 c=ok/404 x=404",
    # API
    "api-docs.openapi_json": ALL_OK,
    "api_auth.issue_token": ALL_OK, "api_auth.me": ALL_OK, "api_auth.revoke_token": ALL_OK,
    "api_auth.totp_start": ALL_OK, "api_auth.totp_confirm": ALL_OK,
    "api_charter.show": ALL_OK, "api_charter.accept": ALL_OK,
    "api_directory.sites": ALL_OK, "api_directory.structures": ALL_OK,
    "api_persons.create_person": "a=ok p=403 r=403 c=403 x=403",
    "api_persons.search_persons": "a=ok p=403 r=ok c=ok x=403",  # the référent: their scope
    "api_persons.get_person": PERSON_READ,
    "api_persons.patch_person": ONLY_A,
    "api_persons.create_visit": ONLY_A,
    "api_persons.get_visit": "a=ok/404 p=404 r=ok/404 c=404 x=403",
    "api_persons.break_glass": "a=ok p=403 r=403 c=ok x=403",
    "api_persons.access_log": "a=ok/404 p=404 r=ok/404 c=403 x=403",
    "api_persons.export_person": PERSON_FULL_A_C,
    "api_orientations.send": "a=ok p=403 r=403 c=403 x=403",
    "api_orientations.list_orientations": "a=ok p=ok r=ok c=ok x=403",
    "api_orientations.stalled": "a=404 p=404 r=404 c=ok x=404",
    "api_orientations.read": ORIENTATION_READ,
    "api_orientations.acknowledge": ONLY_P, "api_orientations.take_charge": ONLY_P,
    "api_orientations.refuse": ONLY_P, "api_orientations.close": ONLY_P,
    "api_orientations.cancel": ONLY_A, "api_orientations.confirm_consent": ONLY_A,
    "api_orientations.redirect": REDIRECT,
    "api_orientations.remind": REMIND,
    "api_parcours.open_parcours": "a=ok/404 p=403 r=ok/404 c=403 x=403",
    "api_parcours.my_parcours": "a=ok p=ok r=ok c=403 x=403",
    "api_parcours.read": PARCOURS_READ,
    "api_parcours.list_entries": PARCOURS_ENTRIES,
    "api_parcours.add_entry": PARCOURS_WRITE,
    "api_parcours.add_member": PARCOURS_MANAGE,
    "api_parcours.close": PARCOURS_MANAGE,
    # runs after the page's withdrawal (see LAST): the partner is no longer a member by then
    "api_parcours.withdraw": "a=403/404 p=404 r=ok/404 c=403 x=403",
    "api_parcours.handover": PARCOURS_HANDOVER,
    "api_indicators.read": HIDDEN_PILOTAGE,
    # the person's documents: the file's agents; the partner only what was shared with them
    "documents.new": ONLY_A,
    "documents.download": DOCUMENT_READ,
    "documents.delete": ONLY_A,
    "api_documents.list_documents": ONLY_A, "api_documents.attach": ONLY_A,
    "api_documents.read": DOCUMENT_READ, "api_documents.content": DOCUMENT_READ,
    # runs after the page's deletion (see LAST): the document is gone by then
    "api_documents.delete_document": "a=404 p=403 r=403 c=403 x=403",
    "api_documents.orientation_documents": ORIENTATION_READ,
    # appointments (issue 20): read as the orientation, recorded by its partner only
    "appointments.record": ONLY_P, "appointments.attendance": ONLY_P,
    "appointments.end_after_missed": ONLY_P,
    "appointments.contact_record": FAKE_ID, "appointments.contact_attendance": FAKE_ID,
    "appointments.contact_end_after_missed": FAKE_ID,
    "appointments.person_page": FAKE_ID,  # the person's link: a wrong one is a 404 for all
    "api_appointments.list_appointments": ORIENTATION_READ,
    "api_appointments.record_appointment": ONLY_P,
    "api_appointments.record_attendance": ONLY_P,
    "api_appointments.end_after_missed": ONLY_P,
    "api_appointments.stalled": "a=404 p=404 r=404 c=ok x=404",  # as the stalled orientations
}
# API bodies that pass the schema but that the service refuses once the object is loaded and
# the access checked: the matrix reaches the access decision without changing anything.
UNKNOWN = "00000000-0000-4000-8000-000000000000"
BODIES = {
    "api_orientations.cancel": {"reason": ""}, "api_orientations.refuse": {"reason": ""},
    "api_orientations.close": {"outcome": ""},
    "api_orientations.confirm_consent": {"given": False},  # already given: 409
    "api_orientations.redirect": {"structure_id": UNKNOWN, "reason": "x"},
    "api_orientations.take_charge": {"first_appointment_on": "2000-01-01"},
    "api_parcours.add_entry": {"kind": "party", "content": "x", "visibility": "members"},
    "api_parcours.add_member": {"user_id": UNKNOWN},
    "api_parcours.close": {"outcome": "magic"},
    "api_parcours.handover": {"referent_id": UNKNOWN, "reason": "x"},
    "api_parcours.open_parcours": {"referent_id": UNKNOWN, "consent": {"given": False}},
    "api_persons.create_visit": {"channel": "pigeon", "outcome": "pending"},
    "api_persons.break_glass": {"reason": "x"},
    "api_followup.setup": {"updates_channel": "pigeon"},
    "api_appointments.record_appointment": {"scheduled_on": "never", "place_kind": "phone"},
    "api_appointments.record_attendance": {"attendance": "maybe"},
    "api_appointments.end_after_missed": {"decision": "maybe"},
}
# Run last, in this order: they end a session, a token or a parcours' membership.
LAST = ["documents.delete", "api_documents.delete_document", "referents.withdraw",
        "api_parcours.withdraw", "api_auth.revoke_token", "auth.logout"]


def parse(entry: str) -> dict[str, tuple[str, str]]:
    table = {}
    for part in entry.split():
        role, answers = part.split("=")
        inside, _sep, outside = answers.partition("/")
        table[ROLES[role]] = (inside, outside or inside)
    assert set(table) == set(ROLES.values()), entry
    return table


def classify(answer) -> str:
    if answer.status_code in (401,) or (answer.status_code == 302 and answer.headers.get(
            "Location", "").startswith("/login")):
        return "login"
    if answer.status_code in (403, 404):
        return str(answer.status_code)
    assert answer.status_code < 500, answer.status_code
    return "ok"


@pytest.fixture
def world(app, build):
    valence = build.site(territory="Valence")
    agent = build.user("accueil", site=str(valence.id))
    structure = build.structure(territories=["Valence"])
    partner = build.user("partenaire", structure=str(structure.id))
    referent = build.user("referent_parcours", site=str(build.site(territory="Valence").id))
    inside_person = build.person(agent)
    inside_visit = build.visit(inside_person)
    inside_document = build.document(inside_person)
    inside_orientation = build.orientation(inside_person, structure, consent={
        "given": True, "shared_fields": ["first_name", "last_name", "phone"],
        "purpose": "Accompagnement logement", "shared_documents": [str(inside_document.id)]})
    inside_parcours = build.parcours(inside_person, referent, [partner])
    diois = build.site(territory="Diois")
    other_agent = build.user("accueil", site=str(diois.id))
    other_structure = build.structure(territories=["Diois"])
    outside_person = build.person(other_agent)
    outside_visit = build.visit(outside_person)
    outside_document = build.document(outside_person)
    outside_orientation = build.orientation(outside_person, other_structure, consent={
        "given": True, "shared_fields": ["first_name"],
        "shared_documents": [str(outside_document.id)]})
    outside_parcours = build.parcours(outside_person, build.user("referent_parcours"))
    inside_appointment = _appointment(build, inside_orientation)
    outside_appointment = _appointment(build, outside_orientation)
    users = {"accueil": agent, "partenaire": partner, "referent_parcours": referent,
             "coordinateur": build.user("coordinateur", territory="Valence"),
             "admin": build.user("admin")}
    throwaway = build.user("accueil")
    fake = uuid.UUID("00000000-0000-4000-8000-000000000000")
    common = {"structure_id": structure.id, "site_id": build.site().id, "user_id": throwaway.id,
              "row_id": fake, "merge_id": fake, "session_id": fake, "token_id": fake,
              "filename": "css/passerelle.css", "token": "not-a-link", "action": "acknowledge",
              "provider": "proconnect", "identity_id": fake,
              "revocation_id": fake, "grant_id": fake}
    inside = {**common, "member_id": _member_id(build, inside_parcours),
              "person_id": inside_person.id, "visit_id": inside_visit.id,
              "orientation_id": inside_orientation.id, "parcours_id": inside_parcours.id,
              "appointment_id": inside_appointment, "document_id": inside_document.id}
    outside = {**common, "member_id": fake, "person_id": outside_person.id, "visit_id": outside_visit.id,
               "orientation_id": outside_orientation.id, "parcours_id": outside_parcours.id,
               "appointment_id": outside_appointment,
               "document_id": outside_document.id}
    return users, inside, outside


def _member_id(build, parcours):
    """The id of the parcours' first membership (to remove a member)."""
    from app.core.db import db
    from app.referents.models import ParcoursMember

    return build._commit(lambda: db.session.scalars(db.select(ParcoursMember.id).where(
        ParcoursMember.parcours_id == parcours.id)).first())


def _appointment(build, orientation):
    """An appointment of ``orientation`` (written as a row: the orientation is not acknowledged)."""
    from datetime import date

    from app.appointments.models import Appointment
    from app.core.db import db

    def create():
        row = Appointment(orientation_id=orientation.id, scheduled_on=date.today(),
                          place_kind="phone", status="scheduled", version=1)
        db.session.add(row)
        db.session.flush()
        return row.id

    return build._commit(create)


def _forget_throttles(app) -> None:
    import sqlalchemy as sa

    from app.core.db import db
    from app.core.ratelimit import RateLimitHit

    with app.app_context():
        db.session.execute(sa.delete(RateLimitHit))
        db.session.commit()


def _url(rule, ids) -> str:
    url = rule.rule
    for name in re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", url):
        url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(ids[name]), url)
    return url


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(EXPECTED) == set(), "routes missing from the matrix"
    assert set(EXPECTED) - endpoints == set(), "the matrix names routes that do not exist"


def test_the_matrix(app, world):
    users, inside, outside = world
    clients, tokens = {}, {}
    for role, user in users.items():
        client = app.test_client()
        login(client, user)
        clients[role] = client
        tokens[role] = bearer(api_token(client, user))
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in LAST and
                                                            LAST.index(r.endpoint) + 1, r.endpoint))
    unexpected = []
    for rule in rules:
        # Each route is judged on its own: the throttle of unknown contact links (per address)
        # would otherwise count the wrong links of the routes called before it.
        _forget_throttles(app)
        expected = parse(EXPECTED[rule.endpoint])
        has_object = any(k in rule.rule for k in ("person_id", "visit_id", "orientation_id",
                                                  "parcours_id", "appointment_id",
                                                  "document_id"))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role, client in clients.items():
                for index, ids in enumerate((inside, outside) if has_object else (inside,)):
                    url = _url(rule, ids)
                    if url.startswith("/api/"):
                        answer = client.open(url, method=method, headers=tokens[role],
                                             json=BODIES.get(rule.endpoint, {})
                                             if method != "GET" else None)
                    elif method == "GET":
                        answer = client.get(url)
                    else:
                        answer = client.open(url, method=method,
                                             data={"csrf_token": csrf_token(client, "/charter")})
                    got = classify(answer)
                    want = expected[role][index]
                    if got != want:
                        unexpected.append(f"{method} {rule.endpoint} {role} "
                                          f"{'inside' if index == 0 else 'outside'}: "
                                          f"got {got}, want {want}")
    assert unexpected == [], "\n".join(unexpected)
