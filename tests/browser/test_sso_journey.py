"""In a real browser: single sign-on through the provider's own login page (a real OpenID
Connect provider, tests/oidc), then the logout that ends the provider's session too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.oidc.conftest import (
    PROVIDER_PASSWORD,
    provider_settings,
    start_provider,
    stop_provider,
)


@pytest.fixture(scope="module")
def browser_issuer(live_server):
    process, issuer = start_provider(live_server)
    yield issuer
    stop_provider(process)


@pytest.fixture
def sso_app(app, live_server, browser_issuer, monkeypatch):
    from app.auth import oidc

    monkeypatch.setitem(app.config, "PASSERELLE_BASE_URL", live_server)
    for key, value in provider_settings(browser_issuer).items():
        monkeypatch.setitem(app.config, key, value)
    oidc._CACHE.clear()
    yield app
    oidc._CACHE.clear()


def agent_logs_in_with_proconnect(page, checked, browser_issuer):
    page.goto("/login")
    checked(page)
    page.get_by_role("link", name="S'identifier avec ProConnect").click()
    page.wait_for_url(f"{browser_issuer}/interaction/**")
    page.get_by_label("Identifiant").fill("agent.caf")
    page.get_by_label("Mot de passe").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Continuer").click()  # the provider's consent


def agent_logs_out_everywhere(page, checked, browser_issuer):
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{browser_issuer}/session/end**")
    page.get_by_role("button", name="Se déconnecter").click()  # the provider asks to confirm
    page.wait_for_url("**/login")
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté(e).")
    checked(page)


def test_agent_signs_in_through_the_provider_and_out_of_both(sso_app, page, build, checked,
                                                             live_server, browser_issuer):
    agent = build.user("partenaire", email="agent.caf@caf.test")
    agent_logs_in_with_proconnect(page, checked, browser_issuer)
    page.wait_for_url(f"{live_server}/")
    expect(page.get_by_text(agent.display_name).first).to_be_visible()
    checked(page)
    agent_logs_out_everywhere(page, checked, browser_issuer)
    # Both sessions are over: Passerelle asks to log in, and so does the provider.
    page.goto("/orientations")
    assert "/login" in page.url
    page.get_by_role("link", name="S'identifier avec ProConnect").click()
    page.wait_for_url(f"{browser_issuer}/interaction/**")
    expect(page.get_by_label("Identifiant")).to_be_visible()


def test_unknown_agent_is_told_to_ask_for_an_account(sso_app, page, checked, browser_issuer):
    page.goto("/login")
    page.get_by_role("link", name="Se connecter avec Compte agent du Département").click()
    page.wait_for_url(f"{browser_issuer}/interaction/**")
    page.get_by_label("Identifiant").fill("inconnu")
    page.get_by_label("Mot de passe").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre compte n'existe pas encore")
    checked(page)
