"""The reception agent's journey in a real browser: charter, search under a misspelled name,
a visit with two needs, an orientation with consent, the printed slip; then the same journey
with the keyboard only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.conftest import check_page, login


@pytest.fixture
def desk(app, build):
    """An agent who has not accepted the charter yet, a returning person, a partner."""
    agent = build.user("accueil", charter=False)
    structure = build.structure(name="Habitat Solidaire Valence", domains=["logement"],
                                territories=["Valence"])
    build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Nathalie", last_name="Lefebvre",
                          birth_date="1979-03-14", phone="0611223344",
                          address="12 rue des Tanneurs, Valence")
    build.visit(person, agent)
    return agent, structure, person


def _visits_and_orientations(app, person_id):
    from app.accueil.models import Need, Visit
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        visits = db.session.scalars(sa.select(Visit).where(Visit.person_id == person_id)
                                    .order_by(Visit.occurred_at)).all()
        needs = db.session.scalars(sa.select(Need).where(Need.visit_id == visits[-1].id)
                                   .order_by(Need.position)).all()
        orientations = db.session.scalars(sa.select(Orientation).where(
            Orientation.person_id == person_id)).all()
        return ([v.outcome for v in visits], [(n.domain, n.urgency) for n in needs],
                [(o.status, sorted(o.shared), o.visit_id == visits[-1].id) for o in orientations])


def test_accueil_journey(app, page, desk, checked):
    agent, structure, person = desk
    login(page, agent)
    # The charter comes first: nothing about a person before it is accepted.
    checked(page)
    page.get_by_role("link", name="Lire et accepter la charte").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Charte")
    checked(page)
    page.get_by_role("button", name="J'ai lu la charte et je m'engage à la respecter").click()
    checked(page)

    # A returning person, found under a misspelled name.
    page.get_by_role("link", name="Rechercher une personne").click()
    checked(page)
    page.get_by_label("Nom, prénom ou numéro d'accueil").fill("nathalie lefèvre")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("status")).to_contain_text("1 personne trouvée")
    checked(page)
    page.get_by_role("link", name="Nathalie LEFEBVRE").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nathalie LEFEBVRE")
    checked(page)

    # A visit with two needs: budget answered on the spot, housing (urgent) to orient.
    page.get_by_role("link", name="Enregistrer un passage").click()
    checked(page)
    housing = page.get_by_role("group", name="Logement et hébergement")
    expect(housing.get_by_role("switch", name="Urgent")).to_be_hidden()  # shown once ticked
    page.get_by_role("checkbox", name="Logement et hébergement", exact=True).check()
    housing.get_by_role("switch", name="Urgent").check()
    housing.get_by_label("Précision").fill("Commandement de quitter les lieux")
    housing.get_by_label("À orienter").check()
    # "What was done on the spot" only when something is answered on the spot.
    expect(page.get_by_role("group", name="Ce qui a été fait sur place")).to_be_hidden()
    page.get_by_role("checkbox", name="Budget et dettes", exact=True).check()
    page.get_by_label("Document expliqué").check()
    expect(page.get_by_role("button", name="Enregistrer et imprimer le récapitulatif")) \
        .to_be_hidden()
    checked(page)
    page.get_by_role("button", name="Enregistrer et orienter").click()
    expect(page.get_by_role("status").first).to_contain_text("Passage enregistré")

    # The orientation form comes next, pre-filled from that need, with the person's consent.
    checked(page)
    expect(page.get_by_label("Domaine", exact=True)).to_have_value("logement")
    expect(page.get_by_label("Motif de l'orientation")).to_have_value(
        "Commandement de quitter les lieux")
    # "Why this structure" only for a structure that does not cover the domain.
    expect(page.get_by_label(re.compile("Raison du choix d'une structure"))).to_be_hidden()
    structure_select = page.get_by_label("Structure partenaire")
    option = structure_select.locator("option", has_text="Habitat Solidaire Valence")
    structure_select.select_option(option.get_attribute("value"))
    page.get_by_label("Motif de l'orientation").fill(
        "Menace d'expulsion : demande d'accompagnement au relogement.")
    # Without consent the orientation is refused, and the error says why, tied to its field.
    page.get_by_role("button", name="Envoyer l'orientation").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_focused()
    checked(page)
    page.get_by_label(re.compile("La personne est d'accord")).check()
    for label in ("Prénom", "Nom", "Téléphone"):
        page.get_by_role("group", name="Informations partagées avec la structure") \
            .get_by_label(label, exact=True).check()
    page.get_by_label("Dans quel but (dit à la personne)").fill("Trouver un logement adapté")
    page.get_by_role("button", name="Envoyer l'orientation").click()

    # The slip, printed. The housing need was urgent, so is the orientation: the confirmation
    # says so and gives both short due dates.
    expect(page.get_by_role("status").first).to_contain_text("Orientation urgente envoyée")
    expect(page.get_by_role("status").first).to_contain_text("prendre la personne en charge")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Votre passage")
    expect(page.locator("main")).to_contain_text("Habitat Solidaire Valence")
    checked(page)
    # A print button (a tablet has no Ctrl+P), wired by a static script (the CSP allows no inline
    # one); without a code, the follow-up heading is the desk's and is not printed.
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.get_by_role("button", name="Imprimer le récapitulatif").click()
    assert page.evaluate("() => window.__printed") == 1
    expect(page.get_by_text("Ctrl+P")).to_be_hidden()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Imprimer le récapitulatif")).to_be_hidden()
    expect(page.get_by_role("heading", name="Suivre votre demande")).to_have_count(0)
    expect(page.get_by_role("heading", name="Code de suivi")).to_be_hidden()
    expect(page.get_by_role("link", name="Retour au dossier")).to_be_hidden()
    expect(page.locator("header.site-header")).to_be_hidden()
    assert page.pdf(format="A4")[:4] == b"%PDF"
    page.emulate_media(media="screen")

    outcomes, needs, orientations = _visits_and_orientations(app, person.id)
    assert outcomes == ["pending", "oriented"]
    assert needs == [("budget", "standard"), ("logement", "urgent")]
    assert len(orientations) == 1
    status, shared, from_the_visit = orientations[0]
    assert status == "sent" and from_the_visit
    assert {"first_name", "last_name", "phone"} <= set(shared) and "address" not in shared


FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const style = getComputedStyle(el);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
      || (style.boxShadow && style.boxShadow !== 'none');
}"""


def _tab_to(page, predicate: str, limit: int = 80, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches ``predicate`` (a JS
    function of the element), asserting at each step that the focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if page.evaluate("document.activeElement === document.body"):
            continue  # past the last element: the focus is in the browser's own controls
        assert page.evaluate(FOCUS_VISIBLE), \
            f"focus not visible on {page.evaluate('document.activeElement.outerHTML')[:120]}"
        if page.evaluate(f"(({predicate}))(document.activeElement)"):
            return
    raise AssertionError(f"never reached {predicate} with the keyboard on {page.url}")


def _navigate(page, key: str) -> None:
    """Press a key that submits a form or follows a link, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def _focused(page) -> str:
    return page.evaluate("document.activeElement.outerHTML")[:200]


def _focus_lands(page, predicate: str) -> None:
    """Wait for the focus a new page gives by its ``autofocus`` attribute: the browser applies
    it after the load event, at its next rendering step, so reading the focus at once raced
    with it (the search box was sometimes still unfocused). Fails if it never lands there."""
    try:
        page.wait_for_function(f"(({predicate}))(document.activeElement)", timeout=5000)
    except PlaywrightTimeout:
        raise AssertionError(f"the focus did not land as expected: {_focused(page)}") from None


def _by_text(text: str) -> str:
    return f"el => el.textContent.trim().startsWith({text!r}) || el.value === {text!r}"


def _by_id(element_id: str) -> str:
    return f"el => el.id === {element_id!r}"


def test_accueil_journey_with_the_keyboard_only(app, page, desk):
    agent, structure, person = desk
    page.goto("/login")
    # The e-mail field has the focus on arrival; type, Tab to the password, Enter submits.
    _focus_lands(page, _by_id("email"))
    page.keyboard.type(agent.email)
    _tab_to(page, _by_id("password"))
    page.keyboard.type(agent.password)
    _navigate(page, "Enter")

    # The confirmation of the login has the focus; the next Tab goes on from there.
    _focus_lands(page, "el => el.textContent.includes('Bienvenue')")
    page.keyboard.press("Tab")
    assert "Lire et accepter la charte" in page.evaluate("document.activeElement.textContent")
    _navigate(page, "Enter")
    # On a page without a message, the first Tab reaches the skip link, which takes the focus
    # to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate(FOCUS_VISIBLE)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    _tab_to(page, _by_text("J'ai lu la charte"))
    _navigate(page, "Enter")

    _tab_to(page, _by_text("Rechercher une personne"))
    _navigate(page, "Enter")
    # The search box has the focus: the agent types at once.
    _focus_lands(page, _by_id("q"))
    page.keyboard.type("lefevre nathalie")
    _navigate(page, "Enter")
    _tab_to(page, _by_text("Nathalie LEFEBVRE"))
    _navigate(page, "Enter")

    _tab_to(page, _by_text("Enregistrer un passage"))
    _navigate(page, "Enter")
    # Two needs, with the keyboard: Space ticks a domain, the arrows choose its outcome.
    _tab_to(page, _by_id("needs-2-selected"))  # Logement et hébergement
    page.keyboard.press("Space")
    _tab_to(page, "el => el.name === 'needs-2-outcome' && el.checked")
    page.keyboard.press("ArrowDown")  # from "Répondu sur place" to "À orienter"
    assert page.evaluate("document.activeElement.value") == "to_orient"
    _tab_to(page, _by_id("needs-1-selected"), backwards=True)  # Budget et dettes
    page.keyboard.press("Space")
    _tab_to(page, _by_text("Enregistrer et orienter"))
    _navigate(page, "Space")
    # The confirmation has the focus, on the orientation form pre-filled from the need.
    _focus_lands(page, "el => el.textContent.includes('Passage enregistré')")
    # Sending without the person's consent brings the focus to the error summary.
    _tab_to(page, _by_text("Envoyer l'orientation"))
    _navigate(page, "Enter")
    _focus_lands(page, _by_id("error-summary"))
    _tab_to(page, _by_id("structure_id"))
    # The arrows walk the options (those covering the domain come first, marked ★).
    for _ in range(10):
        if "Habitat" in page.evaluate("el => el.selectedOptions[0].text",
                                      page.locator("#structure_id").element_handle()):
            break
        page.keyboard.press("ArrowDown")
    assert "Habitat" in page.locator("#structure_id option:checked").inner_text()
    _tab_to(page, _by_id("motive"))
    page.keyboard.type("Menace d'expulsion, relogement à étudier.")
    _tab_to(page, _by_id("consent_given"))
    page.keyboard.press("Space")
    assert page.is_checked("#consent_given")
    _tab_to(page, "el => el.name === 'shared_fields' && el.value === 'phone'")
    if not page.evaluate("document.activeElement.checked"):
        page.keyboard.press("Space")
    # Back up to the consent box with Shift+Tab, then on to the button.
    _tab_to(page, _by_id("consent_given"), backwards=True)
    _tab_to(page, _by_text("Envoyer l'orientation"))
    _navigate(page, "Enter")
    _focus_lands(page, "el => el.textContent.includes('Orientation envoyée')")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Votre passage")

    _outcomes, needs, orientations = _visits_and_orientations(app, person.id)
    assert needs == [("budget", "standard"), ("logement", "standard")]
    assert [o[0] for o in orientations] == ["sent"]
    check_page(page)
