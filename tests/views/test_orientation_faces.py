"""One rule for who sees which orientation, whatever the face (finding 16 of the outside review).

A person's orientations are listed by four faces: the ``/orientations`` page, the person's file
(its orientations panel), ``GET /api/v1/orientations?person_id=`` and ``GET
/api/v1/persons/{id}``. For every role, what a face lists must open in the detail (``GET
/api/v1/orientations/{id}`` and the page ``/orientations/{id}``), and the faces of the person
list every orientation whose detail opens. Before the fix, a partner of structure B who was the
person's référent de parcours received through the API list an orientation sent to structure A,
with its motive, while its detail answered 404; the file's panel showed it too.

One exception, by design (review of 2026-12, finding 2): a partner's tombstone (refused,
redirected away, cancelled; or a redirect awaiting the person's consent) still opens in the
detail, without the person, but the person's faces do not list it: linking it to the person
would give back what the tombstone hides.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers import api_token, bearer, login

ORIENTATION_LINK = re.compile(r"/orientations/([0-9a-f]{8}-[0-9a-f-]{27})")


@pytest.fixture
def world(client, build):
    """One person welcomed at two sites (Valence and Lyon), oriented three times, with a parcours
    whose référent is a partner of one of the oriented structures."""
    site_v, site_l, site_x = (build.site(territory="Valence"), build.site(territory="Lyon"),
                              build.site(territory="Valence"))
    agent = build.user("accueil", site=str(site_v.id))
    agent_lyon = build.user("accueil", site=str(site_l.id))
    structures = {name: build.structure(domains=["logement", "budget"],
                                        territories=["Valence", "Lyon"]) for name in "ABC"}
    person = build.person(agent, first_name="Marie", last_name="Curie", phone="0611223344")
    build.visit(person, agent=agent_lyon)  # welcomed at Lyon too: its agents open the file
    sent = {"A": build.orientation(person, structures["A"], agent,
                                   motive="Motif confidentiel pour A"),
            "B": build.orientation(person, structures["B"], agent, domain="budget"),
            "C": build.orientation(person, structures["C"], agent_lyon),
            "D": build.orientation(person, structures["A"], agent, motive="Motif refusé par A")}
    partner_a = build.user("partenaire", structure=str(structures["A"].id))
    refused = client.post(f"/api/v1/orientations/{sent['D'].id}/refuse",
                          headers=bearer(api_token(client, partner_a)),
                          json={"reason": "Hors de nos critères"})
    assert refused.status_code == 200, refused.get_json()  # D: a tombstone for A
    partner_b = build.user("partenaire", structure=str(structures["B"].id))
    build.parcours(person, partner_b, opener=agent)
    users = {
        "agent": agent,                      # sender of A and B, opens the whole file
        "agent_lyon": agent_lyon,            # sender of C, opens the whole file
        "agent_elsewhere": build.user("accueil", site=str(site_x.id)),  # never met the person
        "partner_a": partner_a,
        "partner_b_referent": partner_b,     # the person's référent de parcours
        "partner_c": build.user("partenaire", structure=str(structures["C"].id)),
        "partner_outside": build.user("partenaire"),
        "referent_parcours": build.user("referent_parcours", site=str(site_v.id)),
        "coordinator": build.user("coordinateur", territory="Valence"),
        "coordinator_glass": build.user("coordinateur", territory="Valence"),
        "coordinator_lyon": build.user("coordinateur", territory="Lyon"),
        "admin": build.user("admin"),
    }
    token = bearer(api_token(client, users["coordinator_glass"]))
    glass = client.post(f"/api/v1/persons/{person.id}/break-glass", headers=token,
                        json={"reason": "Appel du 115 au sujet de cette personne"})
    assert glass.status_code == 201, glass.get_json()
    return type("World", (), dict(person=person, users=users,
                                  ids={str(o.id): name for name, o in sent.items()}))


def _names(world, ids) -> set[str]:
    return {world.ids[i] for i in ids if i in world.ids}


def _api_faces(client, world, headers) -> dict[str, set[str] | None]:
    person_id = world.person.id
    listed = client.get(f"/api/v1/orientations?person_id={person_id}&per_page=100",
                        headers=headers)
    person = client.get(f"/api/v1/persons/{person_id}", headers=headers)
    return {
        "api list": (_names(world, [o["id"] for o in listed.get_json()])
                     if listed.status_code == 200 else None),
        "api person": (_names(world, [o["id"] for o in person.get_json()["orientations"]])
                       if person.status_code == 200 else None),
    }


def _page_faces(client, world) -> dict[str, set[str] | None]:
    listed = client.get("/orientations?per_page=100")
    person = client.get(f"/persons/{world.person.id}")
    return {
        "page /orientations": (_names(world, ORIENTATION_LINK.findall(listed.get_data(as_text=True)))
                               if listed.status_code == 200 else None),
        "file panel": (_names(world, ORIENTATION_LINK.findall(person.get_data(as_text=True)))
                       if person.status_code == 200 else None),
    }


def _details(client, world, headers) -> tuple[set[str], set[str]]:
    api = {name for oid, name in world.ids.items()
           if client.get(f"/api/v1/orientations/{oid}", headers=headers).status_code == 200}
    pages = {name for oid, name in world.ids.items()
             if client.get(f"/orientations/{oid}").status_code == 200}
    return api, pages


# What each role must see: the rule of ``orientation.scopes.audience``, written out.
EXPECTED = {
    "agent": {"A", "B", "C", "D"},     # A, B, D sent from their site; C: they open the file
    "agent_lyon": {"A", "B", "C", "D"},
    "agent_elsewhere": set(),
    "partner_a": {"A", "D"},           # D refused: its tombstone opens, without the person
    "partner_b_referent": {"B"},       # finding 16: never A, whatever their parcours role
    "partner_c": {"C"},
    "partner_outside": set(),
    "referent_parcours": set(),
    "coordinator": {"A", "B", "D"},    # their territory only
    "coordinator_glass": {"A", "B", "D"},  # the glass opens the file, not other territories
    "coordinator_lyon": {"C"},
    "admin": set(),
}
# The faces that list the person's orientations (the page /orientations lists the user's own
# work: a subset of what the details open).
PERSON_FACES = ("api list", "api person", "file panel")
# The tombstones whose detail opens to their structure without the person: the person's faces
# do not list them (finding 2 of the review of 2026-12); the partner's own work still does.
NOT_LINKED_TO_THE_PERSON = {"partner_a": {"D"}}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_every_face_lists_what_the_detail_shows(client, world, who):
    user = world.users[who]
    headers = bearer(api_token(client, user))
    login(client, user)
    api_detail, page_detail = _details(client, world, headers)
    assert api_detail == page_detail, f"{who}: API and page details disagree"
    assert api_detail == EXPECTED[who], f"{who}: detail opens {sorted(api_detail)}"
    faces = {**_api_faces(client, world, headers), **_page_faces(client, world)}
    for face, listed in faces.items():
        if listed is None:  # the face is closed to this user (403/404): it lists nothing
            continue
        assert listed <= api_detail, f"{who}: {face} lists {sorted(listed - api_detail)}, " \
                                     "whose detail answers 404"
        if face in PERSON_FACES:
            expected = api_detail - NOT_LINKED_TO_THE_PERSON.get(who, set())
            assert listed == expected, f"{who}: {face} lists {sorted(listed)}, not {sorted(expected)}"
    if NOT_LINKED_TO_THE_PERSON.get(who):  # ...but the tombstone stays in the partner's work
        assert NOT_LINKED_TO_THE_PERSON[who] <= faces["page /orientations"]


def test_the_partner_referent_gets_nothing_of_another_structures_orientation(client, world):
    """The reported case, read as the attacker would: no motive of A in any answer of B."""
    headers = bearer(api_token(client, world.users["partner_b_referent"]))
    login(client, world.users["partner_b_referent"])
    answers = [client.get(f"/api/v1/orientations?person_id={world.person.id}", headers=headers),
               client.get(f"/api/v1/persons/{world.person.id}", headers=headers),
               client.get(f"/persons/{world.person.id}")]
    for answer in answers:
        assert answer.status_code == 200
        assert "Motif confidentiel pour A" not in answer.get_data(as_text=True)


def test_the_api_list_filters_by_domain(client, world):
    """``?domain=`` is in the API table (README) and used to be ignored silently."""
    headers = bearer(api_token(client, world.users["agent"]))
    base = f"/api/v1/orientations?person_id={world.person.id}"
    budget = client.get(f"{base}&domain=budget", headers=headers)
    assert budget.status_code == 200
    assert _names(world, [o["id"] for o in budget.get_json()]) == {"B"}
    assert budget.headers["X-Total-Count"] == "1"
    housing = client.get(f"{base}&domain=logement", headers=headers).get_json()
    assert _names(world, [o["id"] for o in housing]) == {"A", "C", "D"}
    unknown = client.get(f"{base}&domain=jardinage", headers=headers)
    assert unknown.status_code == 422
    assert "domain" in unknown.get_json()["error"]["fields"]
