"""Browser journey of review findings 2 and 17: a partner redirects an orientation the person had
not agreed to see redirected; the partner keeps a tombstone, the new structure sees nothing of
the person until the sender, having asked them again, confirms their consent."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, logout

NAME = "Léopoldine"


def partner_redirects(page, orientation, other) -> None:
    page.goto(f"/orientations/{orientation.id}")
    page.get_by_text("Réorienter vers une autre structure").click()
    page.get_by_label("Nouvelle structure").select_option(label=f"★ {other.name}")
    page.get_by_label("Raison de la réorientation").fill("Mieux placée pour cette demande")
    page.get_by_role("button", name="Réorienter", exact=True).click()


def test_a_redirect_leaves_a_tombstone_and_waits_for_the_consent(app, page, build, checked):
    agent = build.user("accueil")
    first = build.structure(name="Foyer du centre", domains=["logement"])
    other = build.structure(name="Résidence sociale du nord", domains=["logement"])
    partner_a = build.user("partenaire", structure=str(first.id))
    partner_b = build.user("partenaire", structure=str(other.id))
    person = build.person(agent, first_name=NAME, last_name="Varenne", phone="06 98 76 54 32")
    visit = build.visit(person, needs=[{"domain": "logement", "urgency": "urgent",
                                        "note": "Fin de bail"}])
    orientation = build.orientation(person, first, visit_id=str(visit.id), consent={
        "given": True, "shared_fields": ["first_name", "phone", "needs"]})

    # The first structure redirects: what it keeps is a tombstone.
    login(page, partner_a)
    partner_redirects(page, orientation, other)
    page.goto(f"/orientations/{orientation.id}")
    checked(page)
    who = page.get_by_role("region", name="Personne")
    expect(who).to_contain_text("Réorientée le")
    expect(page.locator("main")).not_to_contain_text(NAME)
    expect(page.locator("main")).not_to_contain_text("Fin de bail")
    logout(page)

    # The new structure sees that a person awaits, nothing of them.
    login(page, partner_b)
    page.goto("/inbox")
    checked(page)
    row = page.get_by_role("row").filter(has=page.get_by_role(
        "link", name="(sans information sur la personne)"))
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    checked(page)
    expect(page.get_by_role("region", name="Personne")).to_contain_text("n'a pas encore accepté")
    expect(page.locator("main")).not_to_contain_text(NAME)
    new_url = page.url
    logout(page)

    # The sender asks the person again and confirms what they agree to share.
    login(page, agent)
    page.goto(new_url)
    checked(page)
    page.get_by_label(re.compile("La personne est d'accord")).check()
    page.get_by_role("group", name="Informations partagées avec la structure") \
        .get_by_label("Prénom", exact=True).check()
    expect(page.get_by_role("group", name="Besoins partagés avec la structure")
           .get_by_label(re.compile("Logement"))).to_be_checked()
    page.get_by_role("button", name="Confirmer l'accord de la personne").click()
    expect(page.get_by_role("status").first).to_contain_text("Accord de la personne confirmé")
    checked(page)
    logout(page)

    login(page, partner_b)
    page.goto(new_url)
    who = page.get_by_role("region", name="Personne")
    expect(who).to_contain_text(NAME)
    expect(who).not_to_contain_text("06 98 76 54 32")
    expect(page.get_by_role("region", name="Demande")).to_contain_text("Fin de bail")
