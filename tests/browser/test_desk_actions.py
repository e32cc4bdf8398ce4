"""How many actions the desk's two everyday journeys take, at the desk's width and a tablet's
(issue 24): each click, tap, select, checkbox and each field filled counts 1 (typing in one
field is 1). Logging in is not counted; the journey starts on the home page.

- the reception journey: find the person, record a visit with two needs, answer one on the
  spot, orient the other, print the slip;
- the partner's journey: open the orientation, acknowledge, take in charge.

The figures before and after issue 24 are in README ("Actions per journey"); the test asserts
the after figures as upper bounds. A step the page has already done for the agent (a field
pre-filled, a box pre-checked with the right value) costs nothing: it is checked, not counted.
Run with ``-s`` to read the figures and each journey's steps.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import check_page, login

WIDTHS = ({"width": 1280, "height": 800}, {"width": 768, "height": 1024})
# Upper bounds, after issue 24 (README, "Actions per journey"): the issue asks at most 12 for
# the reception journey (11 measured); the partner's is 3 since their home lists the orientation.
RECEPTION_MAX = 12
PARTNER_MAX = 3


class Actions:
    """Performs the user's actions on the page and counts them."""

    def __init__(self, page):
        self.page = page
        self.steps: list[str] = []

    @property
    def count(self) -> int:
        return len(self.steps)

    def click(self, locator, what: str, navigates: bool = False) -> None:
        expect(locator).to_be_visible()
        if navigates:
            with self.page.expect_navigation():
                locator.click()
        else:
            locator.click()
        self.steps.append(f"click {what}")

    def fill(self, locator, text: str, what: str) -> None:
        expect(locator).to_be_visible()
        if locator.input_value() == text:
            return  # pre-filled: nothing to do
        locator.fill(text)
        self.steps.append(f"fill {what}")

    def select(self, locator, value: str, what: str) -> None:
        expect(locator).to_be_visible()
        if locator.input_value() == value:
            return  # pre-selected
        locator.select_option(value)
        self.steps.append(f"select {what}")

    def check(self, locator, what: str) -> None:
        expect(locator).to_be_visible()
        if locator.is_checked():
            return  # pre-checked
        locator.check()
        self.steps.append(f"check {what}")

    def report(self, journey: str, width: int) -> str:
        return f"{journey} at {width}px: {self.count} actions\n  " + "\n  ".join(self.steps)


@pytest.fixture
def desk(build):
    agent = build.user("accueil")
    structure = build.structure(name="Habitat Solidaire Valence", domains=["logement"],
                                territories=["Valence"])
    build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Nathalie", last_name="Lefebvre",
                          birth_date="1979-03-14", phone="0611223344")
    return agent, structure, person


def _find_person(page, act: Actions, person) -> None:
    """From the home page to the person's file: the search on the home page when it has one,
    else the search page of the menu."""
    box = page.get_by_label("Nom, prénom ou numéro d'accueil")
    if not box.count():
        act.click(page.get_by_role("navigation", name="Navigation principale")
                  .get_by_role("link", name="Rechercher une personne"), "menu: search",
                  navigates=True)
    act.fill(page.get_by_label("Nom, prénom ou numéro d'accueil"), "lefebvre nathalie",
             "search box")
    act.click(page.get_by_role("button", name="Rechercher"), "Rechercher", navigates=True)
    expect(page.get_by_role("status")).to_contain_text("1 personne trouvée")
    check_page(page)


def _record_visit(page, act: Actions) -> None:
    """Two needs: health, answered on the spot (information given); housing, oriented."""
    if page.locator("select#needs-0-domain").count():  # before issue 24: rows of selects
        act.select(page.get_by_label("Domaine du besoin 1"), "sante", "need 1 domain")
        act.select(page.get_by_label("Domaine du besoin 2"), "logement", "need 2 domain")
        act.fill(page.get_by_label("Précision du besoin 2"), "Commandement de quitter les lieux",
                 "need 2 note")
        # One outcome for the whole visit: "oriented"; what was answered on the spot is only
        # kept with the outcome "answered" (ticked anyway: the agent did it).
        act.check(page.get_by_label("Information donnée"), "answered: information given")
        act.check(page.get_by_label("Orientée vers un partenaire"), "outcome: oriented")
        check_page(page)
        act.click(page.get_by_role("button", name="Enregistrer le passage"), "save",
                  navigates=True)
        expect(page.get_by_role("status").first).to_contain_text("Passage enregistré")
        act.click(page.get_by_role("link", name="Orienter vers un partenaire").first,
                  "Orienter", navigates=True)
        return
    act.check(page.get_by_role("checkbox", name="Santé", exact=True), "need: health")
    act.check(page.get_by_label("Information donnée"), "answered: information given")
    housing = page.get_by_role("group", name="Logement et hébergement")
    act.check(page.get_by_role("checkbox", name="Logement et hébergement", exact=True),
              "need: housing")
    act.check(housing.get_by_label("À orienter"), "housing: to orient")
    act.fill(housing.get_by_label("Précision"), "Commandement de quitter les lieux",
             "housing note")
    check_page(page)
    act.click(page.get_by_role("button", name="Enregistrer et orienter"),
              "Enregistrer et orienter", navigates=True)


def _send_orientation(page, act: Actions, structure) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text("Orienter")
    check_page(page)
    act.select(page.get_by_label("Domaine", exact=True), "logement", "domain")
    choice = page.get_by_label("Structure partenaire")
    act.select(choice, choice.locator("option", has_text=structure.name).get_attribute("value"),
               "structure")
    act.fill(page.get_by_label("Motif de l'orientation"), "Commandement de quitter les lieux",
             "motive")
    act.check(page.get_by_label(re.compile("La personne est d'accord")), "consent")
    shared = page.get_by_role("group", name="Informations partagées avec la structure")
    for label in ("Prénom", "Nom", "Téléphone"):
        act.check(shared.get_by_label(label, exact=True), f"share {label}")
    send_and_print = page.get_by_role("button", name="Envoyer et imprimer le récapitulatif")
    if send_and_print.count():  # after issue 24: the slip's print dialog opens on arrival
        act.click(send_and_print, "send and print", navigates=True)
    else:
        act.click(page.get_by_role("button", name="Envoyer l'orientation"), "send",
                  navigates=True)
    expect(page.get_by_role("status").first).to_contain_text("Orientation envoyée")


def _print_slip(page, act: Actions) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text("Votre passage")
    check_page(page)
    page.wait_for_load_state("load")
    if page.locator("[data-autoprint]").count():
        page.wait_for_function("() => window.__printed === 1")
    else:
        act.click(page.get_by_role("button", name="Imprimer le récapitulatif"), "print")
    assert page.evaluate("() => window.__printed") == 1


@pytest.mark.parametrize("size", WIDTHS, ids=lambda s: f"{s['width']}px")
def test_reception_journey_actions(app, page, desk, size, capsys):
    agent, structure, person = desk
    page.set_viewport_size(size)
    # window.print is the browser's dialog: counted, not opened.
    page.add_init_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    login(page, agent)
    act = Actions(page)
    _find_person(page, act, person)
    hits = page.locator(".hits .hit").filter(has_text="LEFEBVRE")
    quick = hits.get_by_role("link", name=re.compile("^Enregistrer un passage"))
    if quick.count():
        act.click(quick, "result: new visit", navigates=True)
    else:
        act.click(hits.get_by_role("link", name="Nathalie LEFEBVRE"), "result", navigates=True)
        check_page(page)
        act.click(page.get_by_role("link", name="Enregistrer un passage"), "new visit",
                  navigates=True)
    check_page(page)
    _record_visit(page, act)
    _send_orientation(page, act, structure)
    _print_slip(page, act)
    with capsys.disabled():
        print("\n" + act.report("reception", size["width"]))

    from app.accueil.models import Need, Visit
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        visit = db.session.scalars(sa.select(Visit).where(Visit.person_id == person.id)).one()
        needs = db.session.scalars(sa.select(Need).where(Need.visit_id == visit.id)
                                   .order_by(Need.position)).all()
        assert sorted(n.domain for n in needs) == ["logement", "sante"]
        if hasattr(Need, "outcome"):  # after issue 24: an outcome per need, nothing lost
            assert {n.domain: n.outcome for n in needs} == {"sante": "answered",
                                                            "logement": "oriented"}
            assert visit.answered_action_list == ["information"]
            assert visit.outcome == "oriented"
        sent = db.session.scalars(sa.select(Orientation).where(
            Orientation.person_id == person.id)).one()
        assert (sent.domain, sent.status, sent.visit_id) == ("logement", "sent", visit.id)
        db.session.remove()
    assert act.count <= RECEPTION_MAX, act.report("reception", size["width"])


@pytest.mark.parametrize("size", WIDTHS, ids=lambda s: f"{s['width']}px")
def test_partner_journey_actions(app, page, build, size, capsys):
    agent = build.user("accueil")
    structure = build.structure(name="Maison de l'habitat", domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Léonie", last_name="Marchand", phone="0612345678")
    visit = build.visit(person)
    orientation = build.orientation(
        person, structure, visit_id=str(visit.id), motive="Impayés de loyer",
        consent={"given": True, "shared_fields": ["first_name", "last_name", "phone"],
                 "purpose": "Accompagnement logement"})
    page.set_viewport_size(size)
    login(page, partner)
    act = Actions(page)
    link = page.locator("main").get_by_role("link", name="Léonie Marchand")
    if not link.count():  # the home page does not list it: the inbox from the menu
        act.click(page.get_by_role("navigation", name="Navigation principale")
                  .get_by_role("link", name="Orientations reçues"), "menu: inbox",
                  navigates=True)
        check_page(page)
        link = page.locator("main").get_by_role("link", name="Léonie Marchand")
    act.click(link.first, "the orientation", navigates=True)
    expect(page).to_have_url(re.compile(rf"/orientations/{orientation.id}$"))
    check_page(page)
    act.click(page.get_by_role("button", name="Accuser réception"), "acknowledge",
              navigates=True)
    check_page(page)
    act.click(page.get_by_role("button", name="Prendre en charge"), "take in charge",
              navigates=True)
    check_page(page)
    with capsys.disabled():
        print("\n" + act.report("partner", size["width"]))

    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        assert db.session.get(Orientation, orientation.id).status == "in_charge"
        db.session.remove()
    assert act.count <= PARTNER_MAX, act.report("partner", size["width"])
