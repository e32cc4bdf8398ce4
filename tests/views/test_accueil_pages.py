"""Accueil pages: search, duplicates, visit form, slip, the site's day, break the glass, merge."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from tests.helpers import csrf_token, login, post_form, search_persons


@pytest.fixture
def agent(client, build):
    user = build.user("accueil")
    login(client, user)
    return user


def _form_post(client, path, data):
    token = csrf_token(client, path)
    return client.post(path, data={**data, "csrf_token": token})


def _persons(app):
    from app.accueil.models import Person
    from app.core.db import db

    with app.app_context():
        return db.session.scalars(sa.select(Person)).all()


def test_find_a_returning_person_under_a_misspelled_name(client, build, agent):
    build.person(agent, first_name="Marie", last_name="LEFEBVRE", birth_date="1980-02-03")
    page = search_persons(client, "marie lefevre").get_data(as_text=True)
    assert "LEFEBVRE" in page and "approchant" in page and "1 personne trouvée" in page
    empty = search_persons(client, "zzzyyy").get_data(as_text=True)
    assert "Personne ne correspond" in empty and "Créer un nouveau dossier" in empty


def test_person_outside_the_site_shows_only_name_and_year(client, build, agent):
    other_agent = build.user("accueil")
    person = build.person(other_agent, first_name="Léa", last_name="Moreau",
                          birth_date="1999-09-09", phone="0611223344")
    page = search_persons(client, "moreau").get_data(as_text=True)
    assert "connu(e) sur un autre site" in page and "née en 1999" not in page
    assert "1999" in page and "09/09/1999" not in page and "0611223344" not in page
    assert client.get(f"/persons/{person.id}").status_code == 404
    refused = _form_post(client, f"/persons/{person.id}/break-glass", {"reason": "non"})
    assert refused.status_code == 200 and "10 caractères" in refused.get_data(as_text=True)
    granted = _form_post(client, f"/persons/{person.id}/break-glass",
                         {"reason": "La personne est au guichet et demande son dossier"})
    assert granted.status_code == 302
    file = client.get(f"/persons/{person.id}").get_data(as_text=True)
    assert "0611223344" in file and "Qui a consulté" not in file


def test_create_person_with_duplicate_warning(app, client, build, agent):
    build.person(agent, first_name="Jean", last_name="Dupont", birth_date="1970-01-01")
    data = {"first_name": "Jean", "last_name": "Dupond", "birth_date": "1970-01-01"}
    warned = _form_post(client, "/persons/new", data)
    text = warned.get_data(as_text=True)
    assert warned.status_code == 200 and "peut-être déjà connue" in text
    assert len(_persons(app)) == 1
    token = re.search(r'name="confirm_duplicate"[^>]*value="([^"]*)"', text).group(1)
    confirmed = _form_post(client, "/persons/new", {**data, "confirm_duplicate": token})
    assert confirmed.status_code == 302 and "/visits/new" in confirmed.headers["Location"]
    assert len(_persons(app)) == 2


def test_create_person_bad_input_keeps_what_was_typed(app, client, agent):
    answer = _form_post(client, "/persons/new", {"first_name": "Amandine", "last_name": "",
                                                 "birth_date": "2999-01-01"})
    text = answer.get_data(as_text=True)
    assert "Le formulaire contient des erreurs" in text and 'value="Amandine"' in text
    assert "futur" in text and len(_persons(app)) == 0


def test_anonymous_person(app, client, agent):
    answer = _form_post(client, "/persons/new", {"anonymous": "y", "pseudonym": "Jo"})
    assert answer.status_code == 302
    number = _persons(app)[0].reception_number
    page = search_persons(client, number).get_data(as_text=True)
    assert "Jo" in page and number in page


# The visit form has one entry per domain, in Domain's order: budget is 1, logement 2, sante 4.
BUDGET, LOGEMENT, SANTE = 1, 2, 4


def _need(index, outcome="answered", urgent=False, note=""):
    data = {f"needs-{index}-selected": "y", f"needs-{index}-outcome": outcome,
            f"needs-{index}-note": note}
    if urgent:
        data[f"needs-{index}-urgent"] = "y"
    return data


def test_record_a_visit_with_two_needs_then_print_the_slip(app, client, build, agent):
    person = build.person(agent, first_name="Marie", last_name="Curie")
    path = f"/persons/{person.id}/visits/new"
    form = client.get(path).get_data(as_text=True)
    # One toggle per domain (a real checkbox with its label, in a fieldset), an urgent switch.
    assert 'for="needs-2-selected"' in form and 'role="switch"' in form
    assert form.count('class="need-toggle"') == 12
    answer = _form_post(client, path, {
        "channel": "phone", "answered_actions": ["information"],
        **_need(LOGEMENT, urgent=True, note="Expulsion"), **_need(BUDGET),
        "summary": "Appel de Mme Curie", "next_steps": "Apporter l'avis d'expulsion",
        "then": "slip"})
    assert answer.status_code == 302 and "/slip" in answer.headers["Location"]
    slip = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "Logement et hébergement" in slip and "Budget et dettes" in slip
    assert "Apporter l'avis d'expulsion" in slip and person.reception_number in slip
    assert "Expulsion" not in slip.replace("expulsion", "")  # no notes on the slip
    assert "Appel de Mme Curie" not in slip
    assert 'media="print"' in slip
    file = client.get(f"/persons/{person.id}").get_data(as_text=True)
    assert "Expulsion" in file and "Appel de Mme Curie" in file
    from app.accueil.models import Need, Visit
    from app.core.db import db

    with app.app_context():
        visit = db.session.scalars(sa.select(Visit)).one()
        needs = db.session.scalars(sa.select(Need).order_by(Need.position)).all()
        assert [(n.domain, n.urgency, n.outcome) for n in needs] == [
            ("budget", "standard", "answered"), ("logement", "urgent", "answered")]
        assert visit.outcome == "answered"


def test_answered_actions_and_next_steps_are_kept_and_shown(app, client, build, agent):
    """What was done on the spot is stored, on the file and on the slip (issue 24, item 15):
    a change that lost it would fail here."""
    person = build.person(agent, first_name="Paul", last_name="Valéry")
    answer = _form_post(client, f"/persons/{person.id}/visits/new", {
        "channel": "in_person", "answered_actions": ["information", "online_procedure"],
        **_need(SANTE), **_need(LOGEMENT, outcome="to_orient", note="Dort dans sa voiture"),
        "next_steps": "Revenir avec l'avis d'imposition"})
    # A need to orient: the orientation form comes next, pre-filled from that need.
    assert answer.status_code == 302
    assert "/orientations/new" in answer.headers["Location"]
    assert "domain=logement" in answer.headers["Location"]
    orient = html.unescape(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert re.search(r'<option selected value="logement"|<option value="logement" selected',
                     orient)
    assert "Dort dans sa voiture</textarea>" in orient
    from app.accueil.models import Need, Visit
    from app.core.db import db

    with app.app_context():
        visit = db.session.scalars(sa.select(Visit)).one()
        assert visit.answered_action_list == ["information", "online_procedure"]
        outcomes = {n.domain: n.outcome for n in db.session.scalars(sa.select(Need))}
        assert outcomes == {"sante": "answered", "logement": "to_orient"}
        assert visit.outcome == "oriented"  # derived, for the API's visit-level outcome
        visit_id = visit.id
    # Left without sending: the need stays to orient, and the file says so with its link.
    file = html.unescape(client.get(f"/persons/{person.id}").get_data(as_text=True))
    assert "Information donnée" in file and "Aide à une démarche en ligne" in file
    assert "Revenir avec l'avis d'imposition" in file
    assert "À orienter" in file and "domain=logement" in file
    slip = html.unescape(client.get(f"/visits/{visit_id}/slip").get_data(as_text=True))
    assert "Information donnée" in slip and "Aide à une démarche en ligne" in slip
    assert "Revenir avec l'avis d'imposition" in slip


def test_pending_needs_of_the_site_oldest_first(app, build, agent):
    from app.accueil.visits import pending_needs
    from app.core.db import db

    person = build.person(agent)
    build.visit(person, outcome="pending", needs=[{"domain": "budget", "urgency": "standard"}])
    other = build.user("accueil")  # another site
    build.visit(build.person(other), other,
                needs=[{"domain": "sante", "urgency": "standard"}], outcome="pending")
    with app.app_context():
        from app.auth.models import User

        site_id = db.session.get(User, agent.id).site_id
        found = db.session.scalars(pending_needs(site_id)).all()
        assert [(n.domain, n.outcome) for n in found] == [("budget", "pending")]
        assert found[0].visit.person.id == person.id


def test_a_need_note_without_its_domain_is_not_dropped(app, client, build, agent):
    person = build.person(agent)
    answer = _form_post(client, f"/persons/{person.id}/visits/new", {
        "channel": "in_person", "summary": "Texte saisi",
        "needs-0-note": "Facture d'eau impayée"})
    text = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200 and "Cochez ce domaine ou effacez la précision" in text
    assert "Facture d'eau impayée" in text and "Texte saisi" in text
    assert 'aria-describedby="needs-0-note-error"' in text and 'id="needs-0-note-error"' in text
    from app.accueil.models import Visit
    from app.core.db import db

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 0


def test_site_day_lists_urgent_first_and_counts_channels(client, build, agent):
    calm = build.person(agent, first_name="Calme", last_name="Un")
    urgent = build.person(agent, first_name="Urgent", last_name="Deux")
    build.visit(calm, channel="phone", needs=[{"domain": "numerique", "urgency": "info"}])
    build.visit(urgent, channel="in_person", needs=[{"domain": "violences", "urgency": "urgent"}])
    page = client.get("/site/day").get_data(as_text=True)
    assert page.index("Urgent DEUX") < page.index("Calme UN")
    assert "avec un besoin urgent" in page


def test_identity_rectification(client, build, agent):
    person = build.person(agent, first_name="Jean", last_name="Dupond")
    answer = _form_post(client, f"/persons/{person.id}/edit",
                        {"first_name": "Jean", "last_name": "Dupont"})
    assert answer.status_code == 302
    page = client.get(f"/persons/{person.id}").get_data(as_text=True)
    assert "DUPONT" in page and "Historique des rectifications" in page


def test_export_page_and_json(client, build, agent):
    person = build.person(agent, first_name="Jean", last_name="Export")
    page = client.get(f"/persons/{person.id}/export")
    assert page.status_code == 200 and "Export" in page.get_data(as_text=True)
    data = client.get(f"/persons/{person.id}/export?format=json")
    assert data.mimetype == "application/json" and data.get_json()["person"]["last_name"] == "Export"


def test_merge_and_revert(app, client, build):
    agent = build.user("accueil")
    kept = build.person(agent, first_name="Ana", last_name="Silva", birth_date="1990-01-01")
    duplicate = build.person(agent, first_name="Anna", last_name="Silva", birth_date="1990-01-01")
    build.visit(duplicate)
    coordinator = build.user("coordinateur")
    login(client, coordinator)
    for person in (kept, duplicate):
        _form_post(client, f"/persons/{person.id}/break-glass",
                   {"reason": "Fusion de deux dossiers de la même personne"})
    check = _form_post(client, f"/persons/{kept.id}/merge", {"other": duplicate.reception_number})
    text = check.get_data(as_text=True)
    assert "Confirmer la fusion" in text
    merged = _form_post(client, f"/persons/{kept.id}/merge",
                        {"other": duplicate.reception_number, "confirm": str(duplicate.id)})
    assert merged.status_code == 302
    from app.accueil.models import Person, PersonMerge, Visit
    from app.core.db import db

    with app.app_context():
        assert db.session.get(Person, duplicate.id).merged_into_id == kept.id
        assert {v.person_id for v in db.session.scalars(sa.select(Visit))} == {kept.id}
        merge_id = db.session.scalars(sa.select(PersonMerge.id)).one()
    assert "fusionné" in client.get(f"/persons/{duplicate.id}").get_data(as_text=True)
    reverted = post_form(client, f"/merges/{merge_id}/revert", token_from=f"/persons/{kept.id}")
    assert reverted.status_code == 302
    with app.app_context():
        assert db.session.get(Person, duplicate.id).merged_into_id is None
        assert {v.person_id for v in db.session.scalars(sa.select(Visit))} == {duplicate.id}
    log = client.get("/break-glass").get_data(as_text=True)
    assert "Fusion de deux dossiers" in log


def test_break_glass_is_reviewed_by_the_persons_territory(app, build):
    """Review finding 6: a break-the-glass on a person of another territory showed only to the
    coordinators of the professional's own territory; it belongs to the person's territory."""
    def signed_in(user):
        client = app.test_client()
        login(client, user)
        return client

    diois_site = build.site(territory="Diois")
    diois_agent = build.user("accueil", site=str(diois_site.id))
    person = build.person(diois_agent, first_name="Odile", last_name="Drôme")
    valence_person = build.person(build.user("accueil"))
    valence_coordinator = build.user("coordinateur", territory="Valence")
    by_coordinator = signed_in(valence_coordinator)
    assert _form_post(by_coordinator, f"/persons/{person.id}/break-glass",
                      {"reason": "Signalement urgent reçu par téléphone"}).status_code == 302
    by_agent = signed_in(build.user("accueil"))                  # an agent of a Valence site
    assert _form_post(by_agent, f"/persons/{person.id}/break-glass",
                      {"reason": "Personne venue au guichet de Valence"}).status_code == 302
    assert _form_post(by_agent, f"/persons/{valence_person.id}/break-glass",
                      {"reason": "Dossier ouvert sur un autre site du territoire"}
                      ).status_code == 302

    diois_coordinator = build.user("coordinateur", territory="Diois")
    diois_log = html.unescape(signed_in(diois_coordinator).get("/break-glass")
                              .get_data(as_text=True))
    assert "Signalement urgent reçu par téléphone" in diois_log
    assert "Personne venue au guichet de Valence" in diois_log
    assert person.reception_number in diois_log
    assert "Dossier ouvert sur un autre site" not in diois_log
    valence_log = html.unescape(signed_in(build.user("coordinateur", territory="Valence"))
                                .get("/break-glass").get_data(as_text=True))
    assert "Signalement urgent" not in valence_log and "guichet de Valence" not in valence_log
    assert "Dossier ouvert sur un autre site" in valence_log

    from app.accueil.models import BreakGlassAccess
    from app.auth.models import User
    from app.core.db import db
    from app.core.permissions import can

    with app.app_context():
        grant = db.session.scalars(sa.select(BreakGlassAccess).where(
            BreakGlassAccess.person_id == person.id)).first()
        diois = db.session.get(User, diois_coordinator.id)
        valence = db.session.get(User, valence_coordinator.id)
        assert can(diois, "break_glass.review", grant)
        assert not can(valence, "break_glass.review", grant)


@pytest.mark.parametrize("role", ["partenaire", "admin"])
def test_partners_and_admins_never_see_accueil_pages(client, build, role):
    agent = build.user("accueil")
    person = build.person(agent)
    visit = build.visit(person)
    login(client, build.user(role))
    for path in ("/persons/search", "/persons/new", f"/persons/{person.id}/edit",
                 f"/persons/{person.id}/visits/new", f"/visits/{visit.id}/slip", "/site/day",
                 f"/persons/{person.id}/break-glass", "/break-glass"):
        assert client.get(path).status_code == 403, path
    assert client.get(f"/persons/{person.id}").status_code in (403, 404)


def test_pages_with_personal_data_redirect_to_the_charter(client, build):
    login(client, build.user("accueil", charter=False))
    answer = client.get("/persons/search")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/charter")
    assert client.get("/").status_code == 200  # the home page itself asks, without data
    post_form(client, "/charter/accept", {"next": "/persons/search"}, token_from="/charter")
    assert search_persons(client, "x").status_code == 200


def test_duplicate_confirmation_holds_only_for_the_identity_confirmed(app, client, build, agent):
    build.person(agent, first_name="Jean", last_name="Dupont", birth_date="1970-01-01")
    build.person(agent, first_name="Paul", last_name="Martin", birth_date="1980-05-05")
    data = {"first_name": "Jean", "last_name": "Dupond", "birth_date": "1970-01-01"}
    warned = _form_post(client, "/persons/new", data).get_data(as_text=True)
    token = re.search(r'name="confirm_duplicate"[^>]*value="([^"]*)"', warned).group(1)
    assert token and token != "1"
    # The agent then types another identity, itself a possible duplicate: asked again.
    other = {"first_name": "Paul", "last_name": "Martin", "birth_date": "1980-05-05"}
    again = _form_post(client, "/persons/new", {**other, "confirm_duplicate": token})
    text = again.get_data(as_text=True)
    assert again.status_code == 200 and "peut-être déjà connue" in text and "MARTIN" in text
    assert len(_persons(app)) == 2
    # A spelling that normalises to the same identity keeps the confirmation.
    same = {"first_name": "jean", "last_name": " DUPOND ", "birth_date": "1970-01-01"}
    confirmed = _form_post(client, "/persons/new", {**same, "confirm_duplicate": token})
    assert confirmed.status_code == 302 and len(_persons(app)) == 3


def _oriented_visit(build, agent):
    person = build.person(agent, first_name="Marie", last_name="Slip")
    visit = build.visit(person, outcome="oriented")
    return person, visit


def test_slip_says_the_partner_has_the_request_only_once_sent(client, build, agent):
    person, visit = _oriented_visit(build, agent)
    before = html.unescape(client.get(f"/visits/{visit.id}/slip").get_data(as_text=True))
    assert "Il a reçu votre demande" not in before
    assert "Nous préparons votre orientation" in before
    build.orientation(person, build.structure(name="CCAS Slip"), visit_id=str(visit.id))
    after = html.unescape(client.get(f"/visits/{visit.id}/slip").get_data(as_text=True))
    assert "Il a reçu votre demande" in after and "CCAS Slip" in after
    assert "Nous préparons votre orientation" not in after


def test_slip_in_english(client, build, agent):
    _person, visit = _oriented_visit(build, agent)
    french = client.get(f"/visits/{visit.id}/slip").get_data(as_text=True)
    assert "English version" in french and f"/visits/{visit.id}/slip?lang=en" in french
    english = client.get(f"/visits/{visit.id}/slip?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "What we looked at together" in english and "Housing and shelter" in english
    assert "Version française" in english and "Ce que nous avons vu ensemble" not in english
    # Only for this page: the agent's next page is in French again.
    assert "Ce que nous avons vu ensemble" in client.get(
        f"/visits/{visit.id}/slip?lang=xx").get_data(as_text=True)


def test_search_page_says_when_the_list_is_cut(client, build, agent, monkeypatch):
    from app.accueil import search

    monkeypatch.setattr(search, "MAX_CANDIDATES", 3)
    for _ in range(4):
        build.person(agent, first_name="Luc", last_name="Lefebvre")
    page = html.unescape(search_persons(client, "lefevre").get_data(as_text=True))
    assert "Plus de 3 personnes correspondent" in page
    assert "Ajoutez un prénom ou une date de naissance" in page
    narrow = html.unescape(search_persons(client, "lefevre", "1970-01-01")
                           .get_data(as_text=True))
    assert "Plus de 3 personnes" not in narrow


def test_merging_two_files_with_open_parcours_is_refused_clearly(app, client, build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    kept = build.person(agent, first_name="Ana", last_name="Silva")
    duplicate = build.person(agent, first_name="Anna", last_name="Silva")
    build.parcours(kept, referent)
    build.parcours(duplicate, referent)
    coordinator = build.user("coordinateur")
    login(client, coordinator)
    for person in (kept, duplicate):
        _form_post(client, f"/persons/{person.id}/break-glass",
                   {"reason": "Fusion de deux dossiers de la même personne"})
    answer = _form_post(client, f"/persons/{kept.id}/merge",
                        {"other": duplicate.reception_number, "confirm": str(duplicate.id)})
    assert answer.status_code == 200
    assert "parcours en cours" in html.unescape(answer.get_data(as_text=True))
    from app.accueil.models import Person
    from app.core.db import db

    with app.app_context():
        assert db.session.get(Person, duplicate.id).merged_into_id is None


def test_a_searched_name_never_travels_in_a_url(client, build, agent):
    """Names are sent by POST, pages too, and the "create" button carries the name by POST."""
    for _ in range(3):
        build.person(agent, first_name="Inès", last_name="Garnier")
    page = html.unescape(search_persons(client, "garnier").get_data(as_text=True))
    assert "GARNIER" in page and "garnier" not in " ".join(
        re.findall(r'(?:href|action)="([^"]*)"', page)).lower()
    assert client.get("/persons/search?q=garnier").get_data(as_text=True).count("Garnier") == 0
    prefilled = post_form(client, "/persons/new", {"prefill": "1", "last_name": "Garnier"},
                          token_from="/persons/search")
    assert prefilled.status_code == 200 and 'value="Garnier"' in prefilled.get_data(as_text=True)
    assert "Dossier créé" not in prefilled.get_data(as_text=True)


def test_search_pages_are_asked_by_post(client, build, agent, monkeypatch):
    from app.accueil import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    for first in ("Ana", "Bea", "Cléo"):
        build.person(agent, first_name=first, last_name="Perrin")
    first_page = html.unescape(search_persons(client, "perrin").get_data(as_text=True))
    assert "Page 1 sur 2" in first_page and 'name="page" value="2"' in first_page
    second = html.unescape(search_persons(client, "perrin", page=2).get_data(as_text=True))
    assert "Page 2 sur 2" in second


# -- issue 24, items 11 and 15 ------------------------------------------------------------------
def test_search_results_survive_the_back_button(client, build, agent):
    """Post/redirect/get: the POST redirects to a GET that holds no name; going back to that
    GET shows the same results; the menu's plain search page starts empty."""
    build.person(agent, first_name="Nathalie", last_name="LEFEBVRE")
    posted = post_form(client, "/persons/search", {"q": "nathalie lefebre"},
                       token_from="/persons/search")
    assert posted.status_code == 303
    location = posted.headers["Location"]
    assert "lefeb" not in location.lower() and "nathalie" not in location.lower()
    assert "nathalie" not in (client.get_cookie("session").value or "").lower()
    for _ in range(2):  # the results page, then the same page again (Back)
        page = client.get(location).get_data(as_text=True)
        assert "LEFEBVRE" in page and "1 personne trouvée" in page
        assert 'value="nathalie lefebre"' in page
    assert "personne trouvée" not in client.get("/persons/search").get_data(as_text=True)


def test_the_searched_name_is_split_on_a_new_file(client, agent):
    answer = post_form(client, "/persons/new", {"prefill": "1", "name": "Moussa Traoré"},
                       token_from="/persons/search")
    text = answer.get_data(as_text=True)
    assert re.search(r'id="first_name"[^>]*value="Moussa"', text)
    assert re.search(r'id="last_name"[^>]*value="Traoré"', text)


def test_a_second_file_under_the_same_name_without_birth_date_is_warned(app, client, build,
                                                                        agent):
    build.person(agent, first_name="Nathalie", last_name="Lefèvre")
    warned = _form_post(client, "/persons/new", {"first_name": "Nathalie",
                                                 "last_name": "LEFEVRE"})
    text = warned.get_data(as_text=True)
    assert warned.status_code == 200 and "peut-être déjà connue" in text
    assert len(_persons(app)) == 1
