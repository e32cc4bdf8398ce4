"""Browser journey of issue 20, item 5: the reception agent attaches the person's paper, the
person chooses at the consent step to share it with the partner, the partner downloads it; the
download shows in the person's access log."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import login, logout
from tests.documents_samples import pdf_bytes


def agent_attaches_a_document(page, person, tmp_path, checked) -> None:
    page.goto(f"/persons/{person.id}")
    page.get_by_role("link", name="Ajouter un document").click()
    checked(page)
    scan = tmp_path / "avis-expulsion.pdf"
    scan.write_bytes(pdf_bytes("Commandement de quitter les lieux"))
    page.get_by_label("Fichier (PDF, JPEG ou PNG)").set_input_files(str(scan))
    page.get_by_label("Type de document").select_option(label="Avis d'expulsion")
    page.get_by_label("Valable jusqu'au (facultatif)").fill("2030-06-30")
    page.get_by_role("button", name="Ajouter le document").click()
    expect(page.get_by_role("status").first).to_contain_text("ajouté au dossier")
    expect(page.get_by_role("region", name="Documents")).to_contain_text("avis-expulsion.pdf")
    checked(page)


def agent_orients_sharing_the_document(page, person, structure, checked) -> None:
    page.goto(f"/persons/{person.id}/orientations/new")
    checked(page)
    page.get_by_label("Domaine", exact=True).select_option("logement")
    page.get_by_label("Structure partenaire").select_option(value=str(structure.id))
    page.get_by_label("Motif de l'orientation").fill("Menace d'expulsion")
    page.get_by_label(re.compile("La personne est d'accord")).check()
    page.get_by_role("group", name="Documents que la structure pourra télécharger") \
        .get_by_label(re.compile("avis-expulsion.pdf")).check()
    page.get_by_role("button", name="Envoyer l'orientation", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Orientation envoyée")


def partner_downloads_it(page, partner, tmp_path, checked) -> None:
    login(page, partner)
    page.goto("/inbox")
    page.get_by_role("row").get_by_role("link").first.click()
    checked(page)
    documents = page.get_by_role("region", name="Documents transmis avec l'accord de la personne")
    with page.expect_download() as info:
        documents.get_by_role("link", name="avis-expulsion.pdf").click()
    target = tmp_path / "downloaded.pdf"
    info.value.save_as(target)
    assert target.read_bytes() == pdf_bytes("Commandement de quitter les lieux")
    logout(page)


def test_a_document_attached_shared_and_downloaded(app, page, build, checked, tmp_path):
    agent = build.user("accueil")
    structure = build.structure(name="Agence départementale d'information sur le logement",
                                domains=["logement"])
    partner = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent, first_name="Apolline", last_name="Rivière")

    login(page, agent)
    agent_attaches_a_document(page, person, tmp_path, checked)
    agent_orients_sharing_the_document(page, person, structure, checked)
    logout(page)

    partner_downloads_it(page, partner, tmp_path, checked)

    login(page, agent)
    page.goto(f"/persons/{person.id}")
    expect(page.get_by_role("region", name="Qui a consulté ou modifié ce dossier")) \
        .to_contain_text("Téléchargement d'un document")
