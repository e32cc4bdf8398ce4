"""Home pages that start the work (issue 24, item 1) and the site's day as a working queue
(item 5): the agent's home holds the search, "Nouveau dossier" and who waits today (urgent
first, how long); the partner's, the orientations to acknowledge and the appointments passed
without an outcome; the coordinator's, three counts that are links. Each reads through the
scopes: nothing of another site, structure or territory."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.core.db import db, utcnow
from tests.helpers import csrf_token, login

URGENT = [{"domain": "logement", "urgency": "urgent"}]
STANDARD = [{"domain": "budget", "urgency": "standard"}]


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _backdate_visit(app, visit_id, minutes: int) -> None:
    from app.accueil.models import Visit

    with app.app_context():
        db.session.execute(sa.update(Visit).where(Visit.id == visit_id)
                           .values(occurred_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()


def test_the_agents_home_holds_the_search_and_the_queue(app, client, build):
    agent = build.user("accueil")
    other_site_agent = build.user("accueil")
    calm = build.person(agent, first_name="Paul", last_name="Calme")
    urgent = build.person(agent, first_name="Ines", last_name="Presse")
    elsewhere = build.person(other_site_agent, first_name="Luc", last_name="Ailleurs")
    calm_visit = build.visit(calm, needs=STANDARD)
    urgent_visit = build.visit(urgent, needs=URGENT)
    build.visit(elsewhere, needs=URGENT)
    build.visit(build.person(agent, first_name="Ana", last_name="Servie"), needs=STANDARD,
                outcome="answered")
    _backdate_visit(app, calm_visit.id, 25)
    _backdate_visit(app, urgent_visit.id, 5)
    login(client, agent)
    home = _text(client.get("/"))
    assert re.search(r'<input[^>]*autofocus[^>]*name="q"', home)
    assert 'href="/persons/new"' in home and "Nouveau dossier" in home
    assert "Ines PRESSE" in home and "Paul CALME" in home
    assert "AILLEURS" not in home and "SERVIE" not in home  # another site; not waiting
    assert home.index("Ines PRESSE") < home.index("Paul CALME")  # urgent first
    assert "depuis 25 min" in home and ">Urgent<" in home
    assert f"/persons/{urgent.id}/orientations/new?visit_id={urgent_visit.id}" in home
    # "Répondu" from the home comes back to it, the person leaves the queue
    answered = client.post(f"/visits/{calm_visit.id}/outcome", data={
        "csrf_token": csrf_token(client, "/"), "outcome": "answered", "back": "home"})
    assert answered.status_code == 302 and answered.headers["Location"].endswith("/")
    assert "Paul CALME" not in _text(client.get("/"))


def test_an_empty_queue_says_so(app, client, build):
    login(client, build.user("accueil"))
    assert "Personne n&#39;attend en ce moment." in _text(client.get("/")) or \
        "Personne n'attend en ce moment." in _text(client.get("/"))


def test_the_partners_home_lists_what_to_acknowledge(app, client, build):
    agent = build.user("accueil")
    structure, other = build.structure(), build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Zoé", last_name="Attente")
    standard = build.orientation(person, structure)
    urgent = build.orientation(person, structure,
                               visit_id=str(build.visit(person, needs=URGENT).id))
    hidden = build.orientation(build.person(agent, first_name="Max", last_name="Autre"), other)
    login(client, partner)
    home = _text(client.get("/"))
    assert f"/orientations/{urgent.id}" in home and f"/orientations/{standard.id}" in home
    assert home.index(f"/orientations/{urgent.id}") < home.index(f"/orientations/{standard.id}")
    assert f"/orientations/{hidden.id}" not in home
    assert "Aucun rendez-vous passé n&#39;attend sa suite." in home or \
        "Aucun rendez-vous passé n'attend sa suite." in home


def test_the_partners_home_lists_appointments_without_an_outcome(app, client, build):
    from app.appointments.models import Appointment
    from app.orientation.deadlines import local_date
    from app.orientation.models import Orientation

    agent = build.user("accueil")
    structure = build.structure()
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent)
    sent = build.orientation(person, structure)
    with app.app_context():
        today = local_date(utcnow())
        db.session.execute(sa.update(Orientation).where(Orientation.id == sent.id)
                           .values(status="in_charge", referent_id=partner.id))
        row = Appointment(orientation_id=sent.id, scheduled_on=today - timedelta(days=3),
                          status="scheduled")
        db.session.add(row)
        db.session.commit()
        passed_on = row.scheduled_on
    login(client, partner)
    home = _text(client.get("/"))
    assert "Rendez-vous passés sans suite indiquée" in home
    assert passed_on.strftime("%d/%m/%Y") in home  # JJ/MM/AAAA (issue 24, item 8)
    assert f"/orientations/{sent.id}" in home


def test_the_coordinators_home_counts_and_links(app, client, build):
    from app.orientation.models import Orientation

    agent = build.user("accueil")
    structure = build.structure()
    person = build.person(agent)
    late = build.orientation(person, structure)
    coordinator = build.user("coordinateur", territory="Valence")
    with app.app_context():
        db.session.execute(sa.update(Orientation).where(Orientation.id == late.id)
                           .values(acknowledge_due=utcnow().date() - timedelta(days=10)))
        db.session.commit()
    from app.accueil.models import Person
    from app.accueil.scopes import break_glass
    from app.auth.models import User

    with app.app_context():
        break_glass(db.session.get(User, coordinator.id), db.session.get(Person, person.id),
                    "Appel du 115 au sujet de cette personne")
        db.session.commit()
    login(client, coordinator)
    home = _text(client.get("/"))
    assert re.search(r'href="/pilotage/stalled#stalled-title"><strong class="count">1</strong>',
                     home)
    assert re.search(r'href="/pilotage/stalled#silent-title"><strong class="count">0</strong>',
                     home)
    assert re.search(r'href="/break-glass"><strong class="count">1</strong>', home)
    # marking the access as checked takes it out of the count
    log = _text(client.get("/break-glass"))
    grant_id = re.search(r'action="/break-glass/([0-9a-f-]+)/review"', log).group(1)
    done = client.post(f"/break-glass/{grant_id}/review",
                       data={"csrf_token": csrf_token(client, "/break-glass")})
    assert done.status_code == 302
    assert re.search(r'href="/break-glass"><strong class="count">0</strong>',
                     _text(client.get("/")))
    assert "Vérifié le" in _text(client.get("/break-glass"))


def test_a_coordinator_of_another_territory_cannot_review(app, client, build):
    from app.accueil.models import BreakGlassAccess, Person
    from app.accueil.scopes import break_glass
    from app.auth.models import User

    agent = build.user("accueil")
    person = build.person(agent)
    valence = build.user("coordinateur", territory="Valence")
    diois = build.user("coordinateur", territory="Diois")
    with app.app_context():
        grant = break_glass(db.session.get(User, valence.id), db.session.get(Person, person.id),
                            "Appel du 115 au sujet de cette personne")
        db.session.commit()
        grant_id = grant.id
    login(client, diois)
    answer = client.post(f"/break-glass/{grant_id}/review",
                         data={"csrf_token": csrf_token(client, "/break-glass")})
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.get(BreakGlassAccess, grant_id).reviewed_at is None


def test_homes_show_nothing_before_the_charter(app, client, build):
    agent = build.user("accueil", charter=False)
    build.visit(build.person(build.user("accueil", site=str(agent.site_id))), needs=URGENT)
    login(client, agent)
    home = _text(client.get("/"))
    assert "Lire et accepter la charte" in home and "En attente aujourd" not in home
