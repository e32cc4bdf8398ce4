"""Security headers on every answer, both languages, the role home pages."""

from __future__ import annotations

import pytest

from tests.helpers import login, post_form


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json", "/static/css/passerelle.css",
                                  "/no-such-page", "/api/v1/me"])
def test_security_headers_everywhere(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_are_not_cached(client, build):
    login(client, build.user("accueil"))
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(client, build):
    answer = login(client, build.user("accueil"))
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_inline_script_in_pages(client, build):
    login(client, build.user("admin"))
    for path in ("/", "/admin/users/new", "/charter"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "onclick=" not in html


def test_english_from_the_browser_then_french_from_the_switch(client):
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    text = english.get_data(as_text=True)
    assert '<html lang="en">' in text and "Log in" in text and "Se connecter" not in text
    post_form(client, "/language", {"lang": "fr", "next": "/login"}, token_from="/login")
    french = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr">' in french and "Se connecter" in french


def test_language_choice_follows_the_user(client, build):
    user = build.user("accueil")
    login(client, user)
    post_form(client, "/language", {"lang": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Hello" in page and "Log out" in page
    post_form(client, "/language", {"lang": "fr", "next": "/"})
    assert "Se déconnecter" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role, expected", [
    ("accueil", "Retrouver une personne"), ("partenaire", "Orientations à accuser réception"),
    ("referent_parcours", "Vos parcours"), ("coordinateur", "Votre territoire"),
    ("admin", "Administration de Passerelle")])
def test_each_role_has_its_home(client, build, role, expected):
    login(client, build.user(role))
    page = client.get("/")
    assert page.status_code == 200 and expected in page.get_data(as_text=True)


def test_home_asks_for_the_charter_until_accepted(client, build):
    login(client, build.user("accueil", charter=False))
    assert "Lire et accepter la charte" in client.get("/").get_data(as_text=True)
    page = client.get("/charter").get_data(as_text=True)
    assert "L.121-6-2" in page
    post_form(client, "/charter/accept", token_from="/charter")
    assert "Lire et accepter la charte" not in client.get("/").get_data(as_text=True)
