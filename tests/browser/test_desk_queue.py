"""The desk's queue and the homes in a browser (issue 24, items 0, 1, 5, 13), each page checked
(axe WCAG 2.1 AA, title, h1, lang): the agent answers the waiting person from the home in one
tap; the day page lists the queue and a need left without an orientation; the partner searches
the inbox by name and filters what is assigned to them; the coordinator's home counts and the
silent parcours' actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import login, logout


@pytest.fixture
def desk(app, build):
    from app.core.db import db, utcnow
    from app.referents.models import Parcours

    agent = build.user("accueil")
    structure = build.structure(name="Maison du logement", domains=["logement", "budget"])
    partner = build.user("partenaire", structure=str(structure.id))
    referent = build.user("referent_parcours", site=str(agent.site_id))
    waiting = build.person(agent, first_name="Inès", last_name="Presse")
    build.visit(waiting, needs=[{"domain": "logement", "urgency": "urgent"}])
    left = build.person(agent, first_name="Nadia", last_name="Oubli")
    visit = build.visit(left, outcome="oriented",
                        needs=[{"domain": "logement", "urgency": "urgent"},
                               {"domain": "budget", "urgency": "standard"}])
    build.orientation(left, structure, visit_id=str(visit.id))
    parcours = build.parcours(left, referent)
    with app.app_context():
        db.session.get(Parcours, parcours.id).opened_at = utcnow() - timedelta(days=100)
        db.session.commit()
    return {"agent": agent, "partner": partner,
            "coordinator": build.user("coordinateur", territory="Valence")}


def test_desk_queue_and_homes(page, desk, checked):
    login(page, desk["agent"])
    checked(page)
    assert page.get_by_label("Nom, prénom ou numéro d'accueil").evaluate(
        "e => e === document.activeElement") or page.locator(".flashes").count()
    row = page.get_by_role("row").filter(has_text="Inès PRESSE")
    assert "Urgent" in row.inner_text() and "depuis" in row.inner_text()
    page.goto("/site/day")
    checked(page)
    assert "Nadia OUBLI" in page.locator("#to-orient-title + p + table").inner_text()
    page.goto("/")
    with page.expect_navigation():
        row.get_by_role("button", name="Répondu").click()
    checked(page)
    assert "Personne n'attend en ce moment." in page.content()
    logout(page)

    login(page, desk["partner"])
    checked(page)
    page.goto("/inbox")
    page.get_by_label("Nom, prénom ou numéro d'accueil").fill("oubli")
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    checked(page)
    assert "1 orientation trouvée" in page.content() and "Urgent" in page.content()
    page.goto("/inbox?mine=1")
    checked(page)
    assert "Aucune orientation ne vous est assignée pour l'instant." in page.content()
    logout(page)

    login(page, desk["coordinator"])
    checked(page)
    page.goto("/pilotage/stalled")
    checked(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Relancer le référent").click()
    checked(page)
    assert "Relance envoyée au référent du parcours." in page.content()
