"""In a real browser: the accessibility statement, reached from the login page's footer."""

from __future__ import annotations

from playwright.sync_api import expect


def test_the_statement_is_reached_from_the_footer(page, checked):
    page.goto("/login")
    page.locator("footer").get_by_role("link", name="Accessibilité : partiellement conforme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déclaration d'accessibilité")
    expect(page.get_by_role("heading", name="Voies de recours")).to_be_visible()
    checked(page)
