"""Every page of every role's menu, with data on it, passes the page checks (axe WCAG 2.1 AA,
title, h1, lang), in French and in English."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login

ROLES = ("accueil", "partenaire", "referent_parcours", "coordinateur", "admin")


@pytest.fixture
def world(app, build):
    """A person with a visit, an orientation (stalled), a parcours: every list has a row."""
    agent = build.user("accueil")
    structure = build.structure(name="Maison de l'emploi", domains=["logement", "emploi_insertion"])
    partner = build.user("partenaire", structure=str(structure.id))
    referent = build.user("referent_parcours", site=str(agent.site_id))
    person = build.person(agent, first_name="Odile", last_name="Garnier")
    build.visit(person, agent)
    orientation = build.orientation(person, structure)
    build.parcours(person, referent, members=[partner])
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        db.session.get(Orientation, orientation.id).acknowledge_due = \
            date.today() - timedelta(days=6)
        db.session.commit()
    return {"accueil": agent, "partenaire": partner, "referent_parcours": referent,
            "coordinateur": build.user("coordinateur", territory="Valence"),
            "admin": build.user("admin")}


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_page(page, world, checked, role):
    login(page, world[role])
    checked(page)
    # (make screenshots resizes the page to 768 px and back: the header unfolds on a frame)
    expect(page.get_by_role("navigation", name="Navigation principale")).to_be_visible()
    menu = page.get_by_role("navigation", name="Navigation principale").get_by_role("link")
    targets = [menu.nth(i).get_attribute("href") for i in range(menu.count())]
    targets.append("/account/security")
    assert len(targets) >= 3, targets
    for target in targets:
        page.goto(target)
        checked(page)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    for target in targets:
        page.goto(target)
        checked(page)
