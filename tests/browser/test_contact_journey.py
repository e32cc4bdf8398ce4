"""The journey of a partner without an account, in a real browser: the link read from the e-mail,
the code asked for and typed, the charter, only the shared fields, the acknowledgment; and the
neutral page for a wrong or an expired link (issue 12)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import check_page, login, serve_axe

SECRET_NAME = "Bérénice"
HIDDEN_NAME = "Confidentielle"


def _checked(page, titles_seen: dict) -> None:
    """``check_page``, with the link's token counted as one route (like the ids are)."""
    check_page(page)
    title = page.title()
    shape = re.sub(r"^/contact/[^/]+", "/contact/<token>", urlsplit(page.url).path)
    shapes = titles_seen.setdefault(title, set())
    shapes.add(shape)
    assert len(shapes) == 1, f"the title {title!r} names several pages: {sorted(shapes)}"


def _outbox(app, kind: str) -> list[str]:
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    with app.app_context():
        bodies = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == kind).order_by(OutboxMessage.created_at))]
        db.session.remove()
        return bodies


def _link_from_the_email(app) -> str:
    [body] = _outbox(app, "orientation.contact_link")
    assert SECRET_NAME not in body and HIDDEN_NAME not in body
    return re.search(r"/contact/([A-Za-z0-9_\-]+)", body).group(1)


def _code_from_the_email(app) -> str:
    *_older, body = _outbox(app, "orientation.contact_code")
    return re.search(r"Votre code : (\d{6})", body).group(1)


def _flash(page):
    return page.get_by_role("status")


@pytest.fixture
def village(app, build):
    """An orientation to a small association with no account, only a contact address."""
    agent = build.user("accueil")
    structure = build.structure(name="Association du village", contact_email="asso@village.test",
                                domains=["logement"])
    person = build.person(agent, first_name=SECRET_NAME, last_name=HIDDEN_NAME,
                          phone="0699887766", address="3 place de l'Église")
    orientation = build.orientation(person, structure, consent={
        "given": True, "shared_fields": ["first_name", "phone"], "purpose": "Hébergement"})
    return agent, structure, person, orientation


def test_contact_answers_from_the_email_link(app, page, browser, browser_context_args,
                                             village, titles_seen):
    agent, structure, person, orientation = village
    token = _link_from_the_email(app)

    # The link opens a page that asks for a code, and shows nothing of the person.
    page.goto(f"/contact/{token}")
    _checked(page, titles_seen)
    expect(page.get_by_role("heading", level=1)).to_have_text("Répondre à une orientation")
    assert SECRET_NAME not in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Recevoir le code").click()
    expect(page).to_have_url(re.compile(rf"/contact/{token}$"))
    _checked(page, titles_seen)
    expect(_flash(page)).to_contain_text("Un code vient d'être envoyé à l'adresse de votre structure")

    # A forwarded link, opened elsewhere without the code, shows nothing either.
    stranger_context = browser.new_context(**browser_context_args)
    try:
        stranger = stranger_context.new_page()
        serve_axe(stranger, browser_context_args["base_url"])
        stranger.goto(f"/contact/{token}/orientation")
        expect(stranger).to_have_url(re.compile(rf"/contact/{token}$"))
        _checked(stranger, titles_seen)
        assert SECRET_NAME not in stranger.locator("main").inner_text()
    finally:
        stranger_context.close()

    # The code comes in a separate message, to the same address.
    page.get_by_label("Code à 6 chiffres (ou code de secours)").fill(_code_from_the_email(app))
    with page.expect_navigation():
        page.get_by_role("button", name="Valider le code").click()
    expect(page).to_have_url(re.compile(rf"/contact/{token}/orientation$"))
    _checked(page, titles_seen)

    # The charter comes before the first view.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Charte")
    assert SECRET_NAME not in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="J'ai lu la charte et je m'engage à la respecter").click()
    expect(page).to_have_url(re.compile(rf"/contact/{token}/orientation$"))
    _checked(page, titles_seen)

    # Only the shared fields.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Orientation adressée à {structure.name}")
    who = page.get_by_role("region", name="Personne")
    expect(who).to_contain_text(person.reception_number)
    expect(who).to_contain_text(SECRET_NAME)
    expect(who).to_contain_text("0699887766")
    text = page.locator("main").inner_text()
    for hidden in (HIDDEN_NAME, "Église", "Nom", "Adresse"):
        assert hidden not in who.inner_text(), hidden
    assert HIDDEN_NAME not in text
    # The page invites the structure to ask for an account.
    expect(page.get_by_role("region", name="Recevoir les prochaines orientations dans Passerelle")
           ).to_contain_text("Demandez un compte Passerelle")

    with page.expect_navigation():
        page.get_by_role("button", name="Accuser réception").click()
    expect(page).to_have_url(re.compile(rf"/contact/{token}/orientation$"))
    _checked(page, titles_seen)
    expect(_flash(page)).to_contain_text(
        "Votre réponse est enregistrée ; l'émetteur de l'orientation est prévenu.")
    expect(page.locator(".lead .status")).to_have_text("Demande reçue")
    expect(page.get_by_role("button", name="Accuser réception")).to_have_count(0)
    expect(page.get_by_role("button", name="Prendre en charge")).to_be_visible()

    # The sender sees the acknowledgment, by the structure's contact.
    login(page, agent)
    page.goto(f"/orientations/{orientation.id}")
    _checked(page, titles_seen)
    expect(page.locator(".page-head .status")).to_have_text("Demande reçue")
    expect(page.get_by_role("region", name="Historique")).to_contain_text(
        "contact de la structure Association du village (asso@village.test)")


def test_wrong_and_expired_links_show_the_same_neutral_page(app, page, village, titles_seen):
    token = _link_from_the_email(app)

    answer = page.goto("/contact/not-a-real-link")
    assert answer.status == 404
    _checked(page, titles_seen)
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien ne peut pas être utilisé")
    wrong = page.locator("main").inner_text()

    from app.core.db import db, utcnow
    from app.orientation.models import ContactLink

    with app.app_context():
        db.session.execute(sa.update(ContactLink).values(
            expires_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        db.session.remove()
    answer = page.goto(f"/contact/{token}")
    assert answer.status == 404
    _checked(page, titles_seen)
    assert page.locator("main").inner_text() == wrong
    assert SECRET_NAME not in wrong
