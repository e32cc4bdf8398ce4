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
    app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] = 1 / 60  # one second, for the test
    try:
        login(page, build.user("accueil"))
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        page.wait_for_timeout(1500)
        page.goto("/persons/search")
    finally:
        app.config["PASSERELLE_IDLE_TIMEOUT_MINUTES"] = minutes
    assert "/login" in page.url
    expect(page.get_by_role("status")).to_contain_text("Votre session a expiré")
    checked(page)
    page.goto("/persons/search")
    assert "/login" in page.url  # the session is really gone, not just the page
