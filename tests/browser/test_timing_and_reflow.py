"""WCAG 2.1 AA timing and reflow, and the tablet's header (issue 24, items 10 and 14).

- 2.2.1: before the idle timeout a dialog warns, "Rester connecté" keeps the session.
- 1.4.10: every main page of each role reflows at 320 CSS px (400 % zoom of 1280 px) without
  horizontal scrolling of the page.
- The header keeps to one line at 768 px: the navigation folds behind a "Menu" button that works
  with the keyboard, and without JavaScript everything is shown.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.browser.test_every_menu_page import ROLES, world  # noqa: F401  (the fixture)

SMALL = {"width": 320, "height": 640}


@pytest.fixture
def short_timeout(app):
    """A 12-second idle timeout: the warning comes after 6 seconds (half of it when the timeout
    is under four minutes; two minutes before it otherwise). Long enough for the page checks
    to run between the warning and the answer on a loaded machine (at 4 seconds, CI once
    pressed "Rester connecté" after the session had ended)."""
    minutes = app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"]
    app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] = 12 / 60
    yield 12
    app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] = minutes


def test_the_idle_warning_keeps_the_session(page, build, checked, short_timeout):
    login(page, build.user("accueil"))
    loaded = time.monotonic()
    dialog = page.get_by_role("alertdialog", name="Votre session va bientôt se terminer")
    expect(dialog).to_be_visible(timeout=short_timeout * 1000)
    stay = dialog.get_by_role("button", name="Rester connecté")
    expect(stay).to_be_focused()
    expect(dialog).to_contain_text("vous serez déconnecté(e) à")
    checked(page)
    with page.expect_response(lambda r: r.url.endswith("/session/keepalive")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 204
    expect(dialog).to_be_hidden()
    # Past the timeout counted from the page's load, within it counted from the keepalive
    # (which came at least half the timeout after the load).
    page.wait_for_timeout(max(0.0, loaded + short_timeout + 1 - time.monotonic()) * 1000)
    page.goto("/persons/search")
    assert "/login" not in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher une personne")


def test_without_an_answer_the_warning_says_the_session_ended(page, build, checked,
                                                              short_timeout):
    login(page, build.user("partenaire"))
    dialog = page.get_by_role("alertdialog", name="Votre session a expiré")
    expect(dialog).to_be_visible(timeout=(short_timeout + 4) * 1000)
    relogin = dialog.get_by_role("link", name="Se reconnecter")
    expect(relogin).to_be_focused()
    checked(page)
    relogin.click()
    assert "/login" in page.url
    expect(page.get_by_role("status")).to_contain_text("Votre session a expiré")


def _object_pages(app, role: str) -> list[str]:
    """Beyond the menu, the pages a role works on: the file, the visit, the orientation, the
    parcours, the slip."""
    import sqlalchemy as sa

    from app.accueil.models import Person, Visit
    from app.core.db import db
    from app.orientation.models import Orientation
    from app.referents.models import Parcours

    with app.app_context():
        person = db.session.scalars(sa.select(Person.id)).first()
        visit = db.session.scalars(sa.select(Visit.id)).first()
        orientation = db.session.scalars(sa.select(Orientation.id)).first()
        parcours = db.session.scalars(sa.select(Parcours.id)).first()
        db.session.remove()
    return {
        "accueil": [f"/persons/{person}", f"/persons/{person}/visits/new", "/persons/new",
                    f"/persons/{person}/orientations/new", f"/orientations/{orientation}",
                    f"/visits/{visit}/slip", f"/parcours/{parcours}"],
        "partenaire": [f"/orientations/{orientation}", f"/parcours/{parcours}"],
        "referent_parcours": [f"/parcours/{parcours}", f"/persons/{person}"],
        "coordinateur": [f"/orientations/{orientation}", f"/parcours/{parcours}"],
        "admin": [],
    }[role]


@pytest.mark.parametrize("role", ROLES)
def test_every_main_page_reflows_at_320_px(app, page, world, checked, role):  # noqa: F811
    page.set_viewport_size(SMALL)
    login(page, world[role])
    menu = page.get_by_role("navigation", name="Navigation principale").get_by_role("link")
    targets = ["/"] + [menu.nth(i).get_attribute("href") for i in range(menu.count())]
    targets += ["/account/security", *_object_pages(app, role)]
    for target in targets:
        page.goto(target)
        checked(page)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= SMALL["width"], f"{target}: {width} px wide at 320 px ({role})"


def _header_height(page) -> float:
    return page.locator("header.site-header").bounding_box()["height"]


def test_the_header_keeps_to_one_line_on_a_tablet(page, build, checked):
    page.set_viewport_size({"width": 768, "height": 1024})
    login(page, build.user("accueil"))
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav).to_be_hidden()
    assert _header_height(page) < 70, _header_height(page)  # one line
    checked(page)
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    checked(page)
    if toggle.get_attribute("aria-expanded") == "false":
        toggle.click()  # make screenshots resized the page to 1280 px and back: it folded
    page.keyboard.press("Tab")  # into the menu, then Escape folds it back onto the button
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    toggle.click()
    with page.expect_navigation():
        nav.get_by_role("link", name="Annuaire").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 800})  # a desk: the menu stays in sight
    expect(toggle).to_be_hidden()
    expect(nav).to_be_visible()


def test_without_javascript_the_menu_is_shown(browser, live_server, build):
    context = browser.new_context(java_script_enabled=False, base_url=live_server,
                                  locale="fr-FR", viewport={"width": 768, "height": 1024})
    page = context.new_page()
    try:
        login(page, build.user("coordinateur"))
        expect(page.get_by_role("navigation", name="Navigation principale")).to_be_visible()
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    finally:
        context.close()
