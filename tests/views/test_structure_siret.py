"""A structure's SIRET on the administrator's form (issue 19, item 4): optional, 14 digits
(spaces accepted), refused with a French message otherwise, never half-saved."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from tests.helpers import login, post_form


def _form(name: str, **changes) -> dict:
    data = {"name": name, "kind": "association", "domains": ["logement"],
            "territories": "Valence", "address": "", "phone": "", "contact_email": "",
            "head_contact_email": "", "opening_hours": "", "ack_delay": "",
            "take_charge_delay": "", "siret": ""}
    data.update(changes)
    return data


def _stored(app, structure_id):
    from app.core.db import db
    from app.directory.models import Structure

    with app.app_context():
        row = db.session.get(Structure, structure_id)
        return row.siret, row.address


@pytest.mark.parametrize("bad", ["5347098540001A", "5347098540001", "534709854000145",
                                 "53470985400014;"])
def test_the_form_refuses_a_siret_that_is_not_14_digits(app, client, build, bad):
    structure = build.structure(siret="53470985400014")
    login(client, build.user("admin"))
    path = f"/admin/structures/{structure.id}"
    answer = post_form(client, path, _form(structure.name, siret=bad, address="1 rue Neuve"),
                       token_from=path)
    assert answer.status_code == 200  # the form again, with its error
    page = html.unescape(answer.get_data(as_text=True))
    assert "Un SIRET est fait de 14 chiffres, sans lettres ni signes" in page
    assert 'id="siret-error"' in page
    # Nothing of the form was written.
    assert _stored(app, structure.id) == ("53470985400014", None)


def test_the_form_stores_a_siret_with_spaces_and_clears_it(app, client, build):
    structure = build.structure()
    login(client, build.user("admin"))
    path = f"/admin/structures/{structure.id}"
    page = client.get(path).get_data(as_text=True)
    assert 'name="siret"' in page and 'inputmode="numeric"' in page
    answer = post_form(client, path, _form(structure.name, siret="534 709 854 00014"), token_from=path)
    assert answer.status_code == 302
    assert _stored(app, structure.id)[0] == "53470985400014"
    assert 'value="53470985400014"' in client.get(path).get_data(as_text=True)
    post_form(client, path, _form(structure.name, siret=""), token_from=path)
    assert _stored(app, structure.id)[0] is None


def test_a_new_structure_gets_its_siret(app, client, build):
    from app.core.db import db
    from app.directory.models import Structure

    build.site(territory="Valence")  # a known territory (issue 24, item 15: a list)
    login(client, build.user("admin"))
    answer = post_form(client, "/admin/structures/new",
                       _form("CCAS de Crest", siret="26260001700017"),
                       token_from="/admin/structures/new")
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(Structure.siret).where(
            Structure.name == "CCAS de Crest")).one() == "26260001700017"
