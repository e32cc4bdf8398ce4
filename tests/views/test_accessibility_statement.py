"""The accessibility statement (RGAA): public, linked from every page's footer, in both languages."""

from __future__ import annotations

import html

from tests.helpers import csrf_token, login


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_the_statement_is_public_and_says_what_it_must(client):
    answer = client.get("/accessibilite")
    assert answer.status_code == 200
    page = _text(answer)
    assert '<html lang="fr">' in page and "<h1>Déclaration d'accessibilité</h1>" in page
    assert "partiellement conforme" in page and "axe-core" in page and "clavier" in page
    assert "Contenus non accessibles" in page and "Défenseur des droits" in page
    assert "https://formulaire.defenseurdesdroits.fr/" in page
    assert "votre lieu d'accueil" in page  # no contact set: the person is sent to the desk
    assert "04/12/2026" in page  # JJ/MM/AAAA (issue 24, item 8)


def test_the_contact_setting_is_shown(app, client):
    app.config["PASSERELLE_ACCESSIBILITY_CONTACT"] = "accessibilite@departement.test"
    try:
        page = _text(client.get("/accessibilite"))
    finally:
        app.config["PASSERELLE_ACCESSIBILITY_CONTACT"] = None
    assert '<a href="mailto:accessibilite@departement.test">' in page


def test_every_page_links_to_it_in_its_footer(client, build):
    footer = _text(client.get("/login")).split('<footer')[1]
    assert 'href="/accessibilite"' in footer and "partiellement conforme" in footer
    login(client, build.user("accueil"))
    footer = _text(client.get("/")).split('<footer')[1]
    assert 'href="/accessibilite"' in footer


def test_the_statement_renders_in_english(client):
    client.post("/language", data={"csrf_token": csrf_token(client, "/accessibilite"),
                                   "lang": "en", "next": "/accessibilite"})
    answer = client.get("/accessibilite")
    assert answer.status_code == 200
    page = _text(answer)
    assert '<html lang="en">' in page and "Défenseur des droits" in page
    assert "04/12/2026" in page  # JJ/MM/AAAA in both languages (issue 24, item 8)
