"""Nothing waits unseen (issue 24, item 13): the site's day lists the needs whose orientation was
never sent, oldest first, paged; the partner's inbox is searched by name or reception number
through the blind indexes, only by what the partner sees of the person, and filters the
orientations assigned to the reader."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.db import db
from tests.helpers import csrf_token, login, post_form


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _search(client, q: str, **args) -> str:
    path = "/inbox" + ("?mine=1" if args.get("mine") else "")
    answer = client.post(path, data={"csrf_token": csrf_token(client, "/inbox"), "q": q})
    assert answer.status_code == 200
    return _text(answer)


def test_the_site_day_lists_the_needs_left_without_an_orientation(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent, first_name="Nadia", last_name="Oubli")
    visit = build.visit(person, outcome="oriented",
                        needs=[{"domain": "logement", "urgency": "urgent"},
                               {"domain": "budget", "urgency": "standard"}])
    build.orientation(person, structure, visit_id=str(visit.id))  # logement sent, budget not
    other_site = build.visit(build.person(build.user("accueil"), last_name="Ailleurs"),
                             outcome="oriented")
    login(client, agent)
    page = _text(client.get("/site/day"))
    section = page[page.index('id="to-orient-title"'):page.index('id="pending-title"')]
    assert "Nadia OUBLI" in section and "Budget et dettes" in section
    assert "Logement et hébergement" not in section  # its orientation was sent
    assert f"visit_id={visit.id}&amp;domain=budget" in section
    assert "AILLEURS" not in section and str(other_site.id) not in section


def test_the_needs_waiting_are_paged(app, client, build):
    agent = build.user("accueil")
    for n in range(21):
        build.visit(build.person(agent, last_name=f"Attente{n}"), outcome="oriented",
                    needs=[{"domain": "budget", "urgency": "standard"}])
    login(client, agent)
    first = _text(client.get("/site/day"))
    assert "Pagination des besoins en attente d&#39;une orientation" in first or \
        "Pagination des besoins en attente d'une orientation" in first
    assert "needs_page=2" in first
    second = _text(client.get("/site/day?needs_page=2"))
    section = second[second.index('id="to-orient-title"'):second.index('id="pending-title"')]
    assert section.count("/orientations/new?") == 1


def test_an_empty_list_of_needs_says_so(app, client, build):
    login(client, build.user("accueil"))
    assert "Aucun besoin n&#39;attend d&#39;orientation." in _text(client.get("/site/day")) or \
        "Aucun besoin n'attend d'orientation." in _text(client.get("/site/day"))


def test_the_inbox_finds_by_name_and_number_what_is_shared(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    named = build.person(agent, first_name="Nathalie", last_name="Lefebvre")
    hidden = build.person(agent, first_name="Sophie", last_name="Cachée")
    other = build.person(agent, first_name="Nathalie", last_name="Lefebvre")
    shared = build.orientation(named, structure)  # first and last names shared
    secret = build.orientation(hidden, structure, consent={"given": True,
                                                           "shared_fields": ["first_name"]})
    elsewhere = build.orientation(other, build.structure())
    login(client, partner)
    found = _search(client, "lefèvre nathalie")
    assert f"/orientations/{shared.id}" in found
    assert f"/orientations/{elsewhere.id}" not in found  # another structure's
    assert "1 orientation trouvée" in found
    # a name the person did not share finds nothing: no oracle of hidden fields
    assert f"/orientations/{secret.id}" not in _search(client, "cachee")
    assert f"/orientations/{secret.id}" in _search(client, "sophie")
    assert f"/orientations/{secret.id}" in _search(client, hidden.reception_number)
    nothing = _search(client, "inconnu")
    assert "Aucune orientation ne correspond à cette recherche." in nothing
    from app.core.audit import AuditEntry

    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.action == "orientation.inbox_search")).all()
    assert len(actions) == 5


def test_the_name_never_travels_in_the_url(app, client, build):
    structure = build.structure()
    login(client, build.user("partenaire", structure=str(structure.id)))
    page = _search(client, "Lefebvre")
    assert 'method="post" action="/inbox"' in page
    assert "q=" not in client.get("/inbox").request.url


def test_assigned_to_me(app, client, build):
    agent = build.user("accueil")
    structure = build.structure()
    me = build.user("partenaire", structure=str(structure.id))
    colleague = build.user("partenaire", structure=str(structure.id))
    mine = build.orientation(build.person(agent), structure)
    theirs = build.orientation(build.person(agent), structure)
    waiting = build.orientation(build.person(agent), structure)
    for user, orientation in ((me, mine), (colleague, theirs)):
        login(client, user)
        assert post_form(client, f"/orientations/{orientation.id}/acknowledge",
                         token_from=f"/orientations/{orientation.id}").status_code == 302
        post_form(client, "/logout")
    login(client, me)
    page = _text(client.get("/inbox?mine=1"))
    assert f"/orientations/{mine.id}" in page
    assert f"/orientations/{theirs.id}" not in page and f"/orientations/{waiting.id}" not in page
    every = _text(client.get("/inbox"))
    assert all(f"/orientations/{o.id}" in every for o in (mine, theirs, waiting))
    assert ">Urgence<" in every  # the urgency column
