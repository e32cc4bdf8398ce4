"""The coordinator's silent-parcours list acts like the stalled list (issue 24, item 13): remind
the référent, hand over (the parcours' handover form), comment (for the référent only); the
coordinators of another territory cannot."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.core.db import db, utcnow
from tests.helpers import csrf_token, login, post_form


def _silent(app, build):
    from app.referents.models import Parcours

    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    person = build.person(agent)
    parcours = build.parcours(person, referent)
    with app.app_context():
        db.session.get(Parcours, parcours.id).opened_at = utcnow() - timedelta(days=100)
        db.session.commit()
    return parcours, referent


def test_the_coordinator_reminds_comments_and_is_offered_the_handover(app, client, build):
    from app.notifications.models import OutboxMessage
    from app.referents.models import Parcours, ParcoursEntry

    parcours, referent = _silent(app, build)
    login(client, build.user("coordinateur", territory="Valence"))
    page = client.get("/pilotage/stalled").get_data(as_text=True)
    silent = page.split('id="silent-title"')[1]
    assert f"/pilotage/parcours/{parcours.id}/remind" in silent
    assert f"/parcours/{parcours.id}#handover-title" in silent
    assert f"/pilotage/parcours/{parcours.id}/comment" in silent
    reminded = post_form(client, f"/pilotage/parcours/{parcours.id}/remind",
                         token_from="/pilotage/stalled")
    assert reminded.status_code == 302
    assert "Relance envoyée au référent du parcours." in client.get(
        "/pilotage/stalled").get_data(as_text=True)
    commented = client.post(f"/pilotage/parcours/{parcours.id}/comment", data={
        "csrf_token": csrf_token(client, "/pilotage/stalled"),
        "reason": "Pouvez-vous faire le point avec la CAF ?"})
    assert commented.status_code == 302
    with app.app_context():
        entry = db.session.scalars(sa.select(ParcoursEntry).where(
            ParcoursEntry.parcours_id == parcours.id)).one()
        assert (entry.kind, entry.visibility) == ("alert", "referent")
        assert entry.content == "Pouvez-vous faire le point avec la CAF ?"
        assert db.session.get(Parcours, parcours.id).last_entry_at is None  # still silent
        sent = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.related_id == parcours.id)).all()
        assert len(sent) >= 2
    empty = client.post(f"/pilotage/parcours/{parcours.id}/comment", data={
        "csrf_token": csrf_token(client, "/pilotage/stalled"), "reason": ""})
    assert empty.status_code == 302
    # the parcours is still listed as silent
    assert f"/pilotage/parcours/{parcours.id}/remind" in client.get(
        "/pilotage/stalled").get_data(as_text=True)


def test_another_territory_gets_404(app, client, build):
    parcours, _referent = _silent(app, build)
    login(client, build.user("coordinateur", territory="Diois"))
    for action in ("remind", "comment"):
        answer = post_form(client, f"/pilotage/parcours/{parcours.id}/{action}",
                           {"reason": "x"}, token_from="/pilotage/stalled")
        assert answer.status_code == 404
