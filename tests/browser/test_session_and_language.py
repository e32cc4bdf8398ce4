"""In a real browser: English and back, logging out, and the idle timeout."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import login, logout


def test_switch_to_english_and_back(page, build, checked):
    login(page, build.user("accueil"))
    page.get_by_role("link", name="Rechercher une personne").click()
    checked(page)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.get_attribute("html", "lang") == "en"
    assert page.url.endswith("/persons/search")  # the same page, in English
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a person")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    checked(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Français").click()
    assert page.get_attribute("html", "lang") == "fr"
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher une personne")
    checked(page)


def test_logout_closes_the_session(page, build, checked):
    login(page, build.user("accueil"))
    logout(page)
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté(e).")
    checked(page)
    page.goto("/persons/search")
    assert "/login" in page.url  # back to the login page, nothing shown
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")


def test_idle_timeout_logs_out(app, page, build, checked):
    minutes = app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"]
    # Three seconds, for the test: the login's redirect must land within them on a loaded machine.
    app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] = 3 / 60
    try:
        login(page, build.user("accueil"))
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        page.wait_for_timeout(3500)
        page.goto("/persons/search")
    finally:
        app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] = minutes
    assert "/login" in page.url
    expect(page.get_by_role("status")).to_contain_text("Votre session a expiré")
    checked(page)
    page.goto("/persons/search")
    assert "/login" in page.url  # the session is really gone, not just the page


def test_the_language_switch_keeps_what_was_typed(page, build, checked):
    """Issue 24, item 11: switching the language in the middle of a form keeps what was typed
    (kept in the tab's sessionStorage for the reload, then forgotten)."""
    login(page, build.user("accueil"))
    page.goto("/persons/new")
    page.get_by_label("Prénom").fill("Amina")
    page.get_by_label("Nom", exact=True).fill("Benali")
    page.get_by_label("Date de naissance").fill("03/02/1990")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.get_attribute("html", "lang") == "en"
    assert page.url.endswith("/persons/new")
    assert page.locator("#first_name").input_value() == "Amina"
    assert page.locator("#last_name").input_value() == "Benali"
    assert page.locator("#birth_date").input_value() == "03/02/1990"
    assert page.evaluate("() => sessionStorage.getItem('passerelle.typed')") is None
    checked(page)
    # Another page does not get them; and a reload after the switch is empty again.
    page.reload()
    assert page.locator("#first_name").input_value() == ""
    with page.expect_navigation():
        page.get_by_role("button", name="Français").click()
    assert page.locator("#first_name").input_value() == ""
