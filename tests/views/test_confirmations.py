"""Confirmations before what is hard to undo (issue 24, item 11): deactivating a site, a
structure or an account, publishing a charter (the same text publishes nothing); a page that
says what will happen and posts the same values again, without script."""

from __future__ import annotations

import html

import pytest

from tests.helpers import login, post_form


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


@pytest.fixture
def admin(app, build):
    client = app.test_client()
    login(client, build.user("admin"))
    return client


def _active(app, model, row_id) -> bool:
    from app.core.db import db

    with app.app_context():
        return db.session.get(model, row_id).active


@pytest.mark.parametrize("kind", ["site", "structure", "user"])
def test_deactivating_asks_a_confirmation_reactivating_does_not(app, build, admin, kind):
    from app.auth.models import User
    from app.directory.models import Site, Structure

    row, model, path, back = {
        "site": lambda: (build.site(name="MDS Confirmée"), Site, "/admin/sites/{}/active",
                         "/admin/sites"),
        "structure": lambda: (build.structure(name="CCAS Confirmé"), Structure,
                              "/admin/structures/{}/active", "/admin/structures"),
        "user": lambda: (build.user("accueil", display_name="Agent Confirmé"), User,
                         "/admin/users/{}/deactivate", "/admin/users"),
    }[kind]()
    path = path.format(row.id)
    asked = post_form(admin, path, token_from=back)
    text = _text(asked)
    assert asked.status_code == 200 and "Désactiver" in text and "Confirmé" in text
    assert 'name="confirmed" value="1"' in text and f'href="{back}"' in text
    assert _active(app, model, row.id)
    done = post_form(admin, path, {"confirmed": "1"}, token_from=back)
    assert done.status_code == 302 and not _active(app, model, row.id)
    if kind != "user":  # the same button switches it back on, at once
        again = post_form(admin, path, token_from=back)
        assert again.status_code == 302 and _active(app, model, row.id)


def test_publishing_the_charter_is_confirmed_and_the_same_text_publishes_nothing(app, admin):
    from app.charter import services as charter
    from app.core.db import db

    with app.app_context():
        before = charter.current_version()
        number, text = before.version, before.text
    same = post_form(admin, "/admin/charter", {"text": text.replace("\n", "\r\n") + "\n"},
                     token_from="/admin/charter")
    page = _text(same)
    assert same.status_code == 200 and "rien n'a été publié" in page
    assert "Le formulaire contient des erreurs" in page
    new = "# Charte révisée\n\nUne règle de plus."
    asked = post_form(admin, "/admin/charter", {"text": new}, token_from="/admin/charter")
    assert asked.status_code == 200 and "devra lire et accepter" in _text(asked)
    with app.app_context():
        assert charter.current_version().version == number
    done = post_form(admin, "/admin/charter", {"text": new, "confirmed": "1"},
                     token_from="/admin/charter")
    assert done.status_code == 302
    with app.app_context():
        assert charter.current_version().version == number + 1
        db.session.rollback()
