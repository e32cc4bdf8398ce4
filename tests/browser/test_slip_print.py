"""The slip that says where to go still prints on one A4 page (issue 20, item 6): two partners
with their addresses, phones and opening hours, an appointment, the follow-up code, the
reception site's own address, phone and hours; the printed page holds no button, and the page
passes the accessibility checks."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.helpers import api_token, bearer

pytestmark = pytest.mark.browser


@pytest.fixture
def full_slip(app, build):
    site = build.site(name="Centre médico-social des Baumes",
                      address="3 place de la Liberté, 26000 Valence", phone="04 75 00 00 01",
                      opening_hours="Mo-Th 08:30-12:00,13:30-17:00; Fr 08:30-12:00; PH off")
    agent = build.user("accueil", site=str(site.id), display_name="Awa Diallo")
    caf = build.structure(name="Caisse d'allocations familiales de la Drôme",
                          address="10 rue Marcel Barbu, 26000 Valence", phone="32 30",
                          opening_hours="Mo-Fr 08:30-12:00,13:30-16:30; We 08:30-12:00; PH off")
    ccas = build.structure(name="Centre communal d'action sociale de Valence",
                           address="1 place de la Pierre, 26000 Valence", phone="04 75 79 22 11",
                           opening_hours='Mo-Fr 09:00-12:00 "après-midi sur rendez-vous"')
    partner = build.user("partenaire", structure=str(caf.id))
    person = build.person(agent, first_name="Léa", last_name="Roux")
    visit = build.visit(person, outcome="oriented", needs=[
        {"domain": "logement", "urgency": "standard"}, {"domain": "budget", "urgency": "standard"}])
    first = build.orientation(person, caf, visit_id=str(visit.id))
    build.orientation(person, ccas, visit_id=str(visit.id), domain="budget")
    client = app.test_client()
    h = bearer(api_token(client, partner))
    client.post(f"/api/v1/orientations/{first.id}/acknowledge", headers=h)
    client.post(f"/api/v1/orientations/{first.id}/take-charge", headers=h,
                json={"first_appointment_on": (date.today() + timedelta(days=5)).isoformat()})
    return agent, visit


def test_the_slip_says_where_to_go_on_one_a4_page(page, checked, full_slip):
    agent, visit = full_slip
    login(page, agent)
    page.goto(f"/visits/{visit.id}/slip")
    main = page.locator("main")
    expect(main).to_contain_text("du lundi au jeudi de 8\u00a0h\u00a030 à 12\u00a0h")
    expect(main).to_contain_text("fermé les jours fériés")
    expect(main).to_contain_text('Mo-Fr 09:00-12:00 "après-midi sur rendez-vous"')
    expect(main).to_contain_text("Accompagnement commencé")
    expect(main).to_contain_text(re.compile(r"Votre rendez-vous : le \d{2}/\d{2}/\d{4}\."))
    # the follow-up code for the first orientation, with e-mail updates
    form = page.locator("form").filter(has=page.get_by_role("button", name="Créer le code de suivi"))
    form.first.get_by_role("button", name="Créer le code de suivi").click()
    expect(page.get_by_role("heading", name="Suivre votre demande")).to_be_visible()
    checked(page)

    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Imprimer le récapitulatif")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the slip prints on {pages} A4 pages"
    page.emulate_media(media="screen")
