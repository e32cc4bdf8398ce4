"""Browser journeys of the référent de parcours and of the administrator.

The référent opens a parcours from a person's file, adds a member and writes in the journal;
the administrator manages sites, structures, accounts and the charter, and never sees a person.
Every page reached, including the answer to each form, goes through the page checks.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import login, logout


def _follow(page, target) -> None:
    """Click a link or a submit button and wait for the page it leads to."""
    with page.expect_navigation():
        target.click()


def _flash(page, text: str) -> None:
    expect(page.locator(".flashes")).to_contain_text(text)


# -- référent de parcours ---------------------------------------------------------------------
def test_referent_opens_a_parcours_adds_a_member_and_writes_the_journal(app, page, build,
                                                                         checked):
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    oriented = build.structure(name="CCAS Navigateur")
    first_member = build.user("partenaire", structure=str(oriented.id))
    other = build.structure(name="Association Navigateur")
    second_member = build.user("partenaire", structure=str(other.id))
    person = build.person(agent, first_name="Josiane", last_name="Parcoursnav")
    build.orientation(person, oriented)

    login(page, referent)
    expect(page.get_by_role("heading", level=1)).to_contain_text(referent.display_name)
    checked(page)

    # The person's file, then the form that opens a parcours.
    page.goto(f"/persons/{person.id}")
    checked(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Parcoursnav", ignore_case=True)
    _follow(page, page.get_by_role("link", name="Ouvrir un parcours"))
    checked(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"Ouvrir un parcours pour Josiane PARCOURSNAV", re.IGNORECASE))
    page.get_by_label("Référent de parcours").select_option(label=referent.display_name)
    page.get_by_label("Membres (professionnels des structures concernées)").select_option(
        label=f"{first_member.display_name} ({oriented.name})")
    page.get_by_label("Objectifs convenus avec la personne").fill("Retrouver un logement stable")

    # Without the person's agreement the parcours is refused, the error tied to its field.
    _follow(page, page.get_by_role("button", name="Ouvrir le parcours"))
    checked(page)
    expect(page.get_by_role("alert")).to_contain_text("Sans l'accord de la personne")
    consent = page.get_by_label("La personne est d'accord pour ce parcours")
    expect(consent).to_have_attribute("aria-invalid", "true")
    consent.check()
    _follow(page, page.get_by_role("button", name="Ouvrir le parcours"))
    checked(page)
    _flash(page, "Parcours ouvert. Le référent et les membres sont prévenus.")
    expect(page).to_have_url(re.compile(r"/parcours/[0-9a-f-]{36}$"))
    parcours_path = page.url.removeprefix(page.url.split("/parcours/")[0])
    people = page.get_by_role("region", name="Qui accompagne")
    expect(people).to_contain_text(referent.display_name)
    expect(people).to_contain_text(first_member.display_name)
    expect(people).to_contain_text("Retrouver un logement stable")

    # A member from a structure the person was not oriented to: a reason is needed.
    page.get_by_text("Ajouter un membre", exact=True).click()
    page.get_by_label("Professionnel", exact=True).select_option(
        label=f"{second_member.display_name} ({other.name})")
    page.get_by_label("Raison (si sa structure n'a pas reçu d'orientation)").fill(
        "Suit déjà la personne pour son budget")
    _follow(page, page.get_by_role("button", name="Ajouter", exact=True))
    checked(page)
    _flash(page, "Membre ajouté au parcours.")
    expect(people).to_contain_text(second_member.display_name)

    # One journal entry for the référent only, one for every member.
    entries = {"referent": ("Note", "Le référent seulement", "Piste d'hébergement à confirmer"),
               "members": ("Réunion", "Tous les membres", "Synthèse : dossier FSL déposé")}
    journal = page.get_by_role("region", name="Journal de coordination")
    for kind, visibility, content in entries.values():
        page.get_by_label("Type", exact=True).select_option(label=kind)
        page.get_by_label("Visible par").select_option(label=visibility)
        if kind == "Réunion":
            page.get_by_label("La personne était (réunions)").select_option(label="présente")
        page.get_by_label("Contenu").fill(content)
        _follow(page, page.get_by_role("button", name="Ajouter l'entrée"))
        checked(page)
        _flash(page, "Entrée ajoutée au journal.")
        entry = journal.get_by_role("listitem").filter(has_text=content)
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(visibility)
        expect(entry).to_contain_text(kind)

    from app.core.db import db
    from app.referents.models import Parcours, ParcoursEntry

    with app.app_context():
        parcours = db.session.scalars(sa.select(Parcours).where(
            Parcours.person_id == person.id)).one()
        assert parcours.referent_id == referent.id and parcours.status == "open"
        assert {m.user_id for m in parcours.members if m.removed_at is None} == {
            first_member.id, second_member.id}
        stored = {e.visibility: e.content for e in db.session.scalars(
            sa.select(ParcoursEntry).where(ParcoursEntry.parcours_id == parcours.id))}
        assert stored == {visibility: content for visibility, (_, _, content) in entries.items()}

    # The member added from the page sees the members' entry, not the référent's note.
    logout(page)
    expect(page.get_by_label("Mot de passe")).to_be_visible()
    checked(page)
    login(page, second_member)
    expect(page.get_by_role("heading", level=1)).to_contain_text(second_member.display_name)
    checked(page)
    page.goto(parcours_path)
    checked(page)
    journal = page.get_by_role("region", name="Journal de coordination")
    expect(journal).to_contain_text(entries["members"][2])
    expect(journal).not_to_contain_text(entries["referent"][2])


# -- administrator ----------------------------------------------------------------------------
def test_admin_manages_sites_structures_accounts_and_charter_without_person_data(app, page, build,
                                                                                 checked):
    from app.auth.models import User
    from app.charter import services as charter
    from app.core.db import db
    from app.directory.models import Site, Structure

    admin = build.user("admin")
    person = build.person(build.user("accueil"), first_name="Honorine", last_name="Invisiblenav")
    with app.app_context():
        version_before = charter.current_version().version

    login(page, admin)
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration de Passerelle")
    checked(page)
    for name in ("Honorine", "Invisiblenav"):
        expect(page.locator("body")).not_to_contain_text(name, ignore_case=True)
    nav = page.get_by_role("navigation", name="Navigation principale")

    # A site: an empty form is refused with its errors, then the site is created.
    _follow(page, nav.get_by_role("link", name="Sites", exact=True))
    checked(page)
    _follow(page, page.get_by_role("link", name="Nouveau site"))
    checked(page)
    _follow(page, page.get_by_role("button", name="Enregistrer"))
    checked(page)
    expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
    expect(page.get_by_label("Nom", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Nom", exact=True).fill("Maison des solidarités Navigateur")
    page.get_by_label("Type de site").select_option(label="Maison départementale des solidarités")
    # Territories are a list (issue 24, item 15): a new one is typed apart and confirmed.
    page.get_by_text("Le territoire n'est pas dans la liste ?").click()
    page.get_by_label("Nouveau territoire", exact=True).fill("Romans")
    page.get_by_label("Je confirme la création de ce nouveau territoire").check()
    page.get_by_label("Horaires d'ouverture").fill("Lundi à vendredi, 9 h – 17 h")
    _follow(page, page.get_by_role("button", name="Enregistrer"))
    checked(page)
    _flash(page, "Le site a été créé.")
    row = page.get_by_role("row").filter(has_text="Maison des solidarités Navigateur")
    expect(row).to_contain_text("Maison départementale des solidarités")
    expect(row).to_contain_text("Romans")
    expect(row).to_contain_text("actif")

    # A structure.
    _follow(page, nav.get_by_role("link", name="Structures", exact=True))
    checked(page)
    _follow(page, page.get_by_role("link", name="Nouvelle structure"))
    checked(page)
    page.get_by_label("Nom", exact=True).fill("Épicerie solidaire Navigateur")
    page.get_by_label("Type de structure").select_option(label="Association")
    page.get_by_label("Alimentation").check()
    page.get_by_label("Budget et dettes").check()
    territories = page.get_by_role("group", name="Territoires")
    territories.get_by_label("Romans", exact=True).check()
    territories.get_by_label("Valence", exact=True).check()
    _follow(page, page.get_by_role("button", name="Enregistrer"))
    checked(page)
    _flash(page, "La structure a été créée.")
    row = page.get_by_role("row").filter(has_text="Épicerie solidaire Navigateur")
    expect(row).to_contain_text("Alimentation")
    expect(row).to_contain_text("Romans, Valence")

    # An account attached to that structure.
    _follow(page, nav.get_by_role("link", name="Comptes", exact=True))
    checked(page)
    _follow(page, page.get_by_role("link", name="Nouveau compte"))
    checked(page)
    page.get_by_label("Adresse électronique", exact=True).fill("benevole.nav@test.passerelle")
    page.get_by_label("Rôle", exact=True).select_option(label="Référent partenaire")
    page.get_by_label("Nom affiché").fill("Bénédicte Navigateur")
    page.get_by_label("Structure (référents partenaires)").select_option(
        label="Épicerie solidaire Navigateur")
    # No password to choose (review finding 4): a one-time link goes to the account's address.
    expect(page.locator('input[type="password"]')).to_have_count(0)
    _follow(page, page.get_by_role("button", name="Enregistrer"))
    checked(page)
    _flash(page, "Le compte a été créé. Un lien pour choisir son mot de passe est envoyé")
    row = page.get_by_role("row").filter(has_text="Bénédicte Navigateur")
    expect(row).to_contain_text("benevole.nav@test.passerelle")
    expect(row).to_contain_text("Référent partenaire")
    expect(row).to_contain_text("Épicerie solidaire Navigateur")

    with app.app_context():
        site = db.session.scalars(sa.select(Site).where(
            Site.name == "Maison des solidarités Navigateur")).one()
        assert (site.kind, site.territory, site.active) == ("mds", "Romans", True)
        structure = db.session.scalars(sa.select(Structure).where(
            Structure.name == "Épicerie solidaire Navigateur")).one()
        assert set(structure.domains) == {"alimentation", "budget"}
        assert list(structure.territories) == ["Romans", "Valence"]
        user = db.session.scalars(sa.select(User).where(
            User.email == "benevole.nav@test.passerelle")).one()
        assert (user.role, user.structure_id, user.active) == ("partenaire", structure.id, True)

    # A new charter version, which the administrator accepts again.
    _follow(page, nav.get_by_role("link", name="Charte", exact=True))
    checked(page)
    expect(page.get_by_text(f"Version en vigueur : {version_before},")).to_be_visible()
    text = "# Charte révisée\n\nLes informations partagées restent couvertes par le secret."
    page.get_by_label("Texte de la nouvelle version").fill(text)
    _follow(page, page.get_by_role("button", name="Publier cette version"))
    checked(page)  # a confirmation first (issue 24, item 11)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Publier une nouvelle version de la charte")
    _follow(page, page.get_by_role("button", name="Publier cette version"))
    checked(page)
    _flash(page, "La nouvelle version de la charte est publiée")
    expect(page.get_by_text(f"Version en vigueur : {version_before + 1},")).to_be_visible()
    with app.app_context():
        current = charter.current_version()
        assert current.version == version_before + 1 and current.text == text
        assert not charter.has_accepted_current(db.session.get(User, admin.id))

    page.goto("/charter")
    checked(page)
    expect(page.get_by_role("heading", name="Charte révisée")).to_be_visible()
    _follow(page, page.get_by_role("button", name="J'ai lu la charte et je m'engage"))
    checked(page)
    _flash(page, f"vous avez accepté la version {version_before + 1} de la charte")
    with app.app_context():
        assert charter.has_accepted_current(db.session.get(User, admin.id))

    # No person data: the file is refused, the home page names nobody.
    answer = page.goto(f"/persons/{person.id}")
    checked(page)
    assert answer.status in (403, 404), answer.status
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(answer.status))
    for name in ("Honorine", "Invisiblenav", person.reception_number):
        expect(page.locator("body")).not_to_contain_text(name, ignore_case=True)
    page.goto("/")
    checked(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration de Passerelle")
    for name in ("Honorine", "Invisiblenav", person.reception_number):
        expect(page.locator("body")).not_to_contain_text(name, ignore_case=True)


def test_a_new_account_chooses_its_password_through_the_emailed_link(app, page, build, checked):
    """Review finding 4: the owner of an account an administrator created chooses the password
    on the page of the one-time link, then logs in with it."""
    from types import SimpleNamespace

    from app.admin import services as admin_services
    from app.auth.models import User
    from app.core.db import db
    from app.notifications.models import OutboxMessage

    admin = build.user("admin")
    site = build.site()
    with app.app_context():
        admin_services.create_account({
            "email": "nouvelle.nav@test.passerelle", "role": "accueil",
            "display_name": "Nouvelle Navigatrice", "site": str(site.id)},
            actor=db.session.get(User, admin.id))
        db.session.commit()
        [body] = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "auth.set_password"))]
    link = re.search(r"http://passerelle\.test(/account/set-password/\S+)", body).group(1)

    page.goto(link)
    checked(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisir votre mot de passe")
    chosen = "une phrase que je suis seule a connaitre"
    page.get_by_label("Nouveau mot de passe", exact=True).fill("court")
    page.get_by_label("Confirmez le nouveau mot de passe").fill("court")
    _follow(page, page.get_by_role("button", name="Enregistrer"))
    checked(page)
    expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
    page.get_by_label("Nouveau mot de passe", exact=True).fill(chosen)
    page.get_by_label("Confirmez le nouveau mot de passe").fill(chosen)
    _follow(page, page.get_by_role("button", name="Enregistrer"))
    checked(page)
    _flash(page, "Votre mot de passe est enregistré")
    login(page, SimpleNamespace(email="nouvelle.nav@test.passerelle", password=chosen))
    checked(page)
    expect(page).not_to_have_url(re.compile(r"/account/password"))  # nothing temporary
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(link)
    checked(page)
    expect(page.get_by_role("alert")).to_contain_text("n'est plus valable")
