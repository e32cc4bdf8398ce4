"""Territories are a list, not free text (issue 24, item 15): the administration forms pick a
known territory; a new one is typed apart and confirmed, so a typo never makes a territory.
Required fields say "obligatoire", never WTForms' "Ce champ est requis."."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from tests.helpers import login, post_form


def _site(name: str, **changes) -> dict:
    return {"name": name, "kind": "cms", "territory": "", "address": "", "phone": "",
            "opening_hours": "", **changes}


def _structure(name: str, **changes) -> dict:
    return {"name": name, "kind": "association", "domains": ["logement"], "territories": [],
            "address": "", "phone": "", "contact_email": "", "head_contact_email": "",
            "opening_hours": "", "ack_delay": "", "take_charge_delay": "", "siret": "", **changes}


def _sites(app) -> dict[str, str]:
    from app.core.db import db
    from app.directory.models import Site

    with app.app_context():
        return {s.name: s.territory for s in db.session.scalars(sa.select(Site))}


def _page(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_a_site_picks_a_known_territory_from_a_list(app, client, build):
    build.site(territory="Drôme Nord", name="CMS Nord")
    build.structure(territories=["Diois"])
    login(client, build.user("admin"))
    page = _page(client.get("/admin/sites/new"))
    assert '<select' in page and 'name="territory"' in page
    for known in ("Drôme Nord", "Diois"):
        assert f'<option value="{known}">{known}</option>' in page
    assert "Le territoire n'est pas dans la liste ?" in page
    answer = post_form(client, "/admin/sites/new", _site("CMS Sud", territory="Diois"),
                       token_from="/admin/sites/new")
    assert answer.status_code == 302
    assert _sites(app)["CMS Sud"] == "Diois"


def test_a_typo_makes_no_territory(app, client, build):
    build.site(territory="Valence", name="CMS Valence")
    build.site(territory="Drôme Nord", name="CMS Nord")
    login(client, build.user("admin"))
    path = "/admin/sites/new"

    # A value that is not in the list (a forged form) is refused.
    page = _page(post_form(client, path, _site("CMS A", territory="Valance"), token_from=path))
    assert "Territoire inconnu : « Valance »" in page
    # A "new" territory that is a known one written otherwise is refused, naming it.
    page = _page(post_form(client, path, _site("CMS A", new_territory="drome-nord",
                                               new_territory_confirmed="y"), token_from=path))
    assert "Ce territoire existe déjà : choisissez « Drôme Nord » dans la liste." in page
    # One letter away: shown, and the box must be ticked again after reading it.
    page = _page(post_form(client, path, _site("CMS A", new_territory="Valance",
                                               new_territory_confirmed="y"), token_from=path))
    assert "« Valance » ressemble à « Valence », déjà connu" in page
    assert 'name="new_territory_warned" type="hidden" value="Valance"' in page
    # A really new territory needs the box ticked.
    page = _page(post_form(client, path, _site("CMS A", new_territory="Royans"), token_from=path))
    assert "Cochez cette case pour créer le territoire « Royans »" in page
    # Neither picked nor created: the field is obligatoire.
    page = _page(post_form(client, path, _site("CMS A"), token_from=path))
    assert "Choisissez un territoire : ce champ est obligatoire." in page
    # Both at once.
    page = _page(post_form(client, path, _site("CMS A", territory="Valence", new_territory="Royans",
                                               new_territory_confirmed="y"), token_from=path))
    assert "pas les deux" in page
    assert "CMS A" not in _sites(app)

    answer = post_form(client, path, _site("CMS A", new_territory=" Royans ",
                                           new_territory_confirmed="y"), token_from=path)
    assert answer.status_code == 302
    assert _sites(app)["CMS A"] == "Royans"
    # Confirmed after the warning, the close name is created too (a real other territory).
    answer = post_form(client, path, _site("CMS B", new_territory="Valance",
                                           new_territory_confirmed="y",
                                           new_territory_warned="Valance"), token_from=path)
    assert answer.status_code == 302
    # From then on the new territory is in the list.
    assert '<option value="Royans">Royans</option>' in _page(client.get(path))


def test_a_structure_ticks_known_territories_and_may_add_one(app, client, build):
    from app.core.db import db
    from app.directory.models import Structure

    build.site(territory="Valence")
    build.site(territory="Diois")
    login(client, build.user("admin"))
    path = "/admin/structures/new"
    page = _page(post_form(client, path, _structure("Asso"), token_from=path))
    assert "Choisissez au moins un territoire : ce champ est obligatoire." in page
    answer = post_form(client, path, _structure("Asso", territories=["Valence", "Diois"],
                                                new_territory="Royans",
                                                new_territory_confirmed="y"), token_from=path)
    assert answer.status_code == 302
    with app.app_context():
        structure = db.session.scalars(sa.select(Structure).where(Structure.name == "Asso")).one()
        assert sorted(structure.territories) == ["Diois", "Royans", "Valence"]
        structure_id = structure.id
    edit = f"/admin/structures/{structure_id}"
    page = _page(client.get(edit))
    for known in ("Diois", "Royans", "Valence"):
        assert re.search(rf'<input checked id="territories-\d" name="territories" '
                         rf'type="checkbox" value="{known}">', page)


def test_a_coordinator_picks_a_known_territory(app, client, build):
    build.site(territory="Valence")
    login(client, build.user("admin"))
    path = "/admin/users/new"
    data = {"display_name": "Coord", "email": "coord.nouveau@test.passerelle",
            "role": "coordinateur", "site": "", "structure": ""}
    page = _page(post_form(client, path, dict(data, territory="Valance"), token_from=path))
    assert "Territoire inconnu : « Valance »" in page
    assert post_form(client, path, dict(data, territory="Valence"),
                     token_from=path).status_code == 302


def test_required_fields_say_obligatoire(app, client, build):
    login(client, build.user("admin"))
    page = _page(post_form(client, "/admin/sites/new", _site(""), token_from="/admin/sites/new"))
    assert "Ce champ est obligatoire." in page
    assert "requis" not in page
