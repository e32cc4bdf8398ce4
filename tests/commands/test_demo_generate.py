"""A small smoke test of ``demo generate``: the data is encrypted, indexed and usable."""

from __future__ import annotations

import sqlalchemy as sa


def test_generate_a_few_persons(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--persons", "60", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "60"
    from app.accueil.models import Person, PersonSearchKey, Visit
    from app.core.audit import verify_chain
    from app.core.db import db
    from app.orientation.models import Orientation

    with app.app_context():
        persons = db.session.scalars(sa.select(Person)).all()
        assert len(persons) == 60
        named = [p for p in persons if not p.anonymous]
        assert named and all(p.last_name for p in named)  # decrypts with the app's keys
        raw = db.session.execute(sa.text("SELECT last_name FROM persons WHERE last_name IS NOT NULL"
                                         " LIMIT 1")).scalar()
        assert raw.startswith("v1:") and named[0].last_name not in raw
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) >= 60
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Orientation)) == 60
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonSearchKey)) > 100
        statuses = set(db.session.scalars(sa.select(Orientation.status)))
        assert len(statuses) >= 4
        verify_chain(db.session)
        target = named[0]
    # The app finds a generated person by name, through the blind indexes.
    from tests.helpers import api_token, bearer

    with app.app_context():
        from app.auth.models import User

        agent = db.session.scalars(sa.select(User).where(
            User.role == "accueil", User.site_id == target.created_site_id)).first()
        last_name = target.last_name
    from types import SimpleNamespace

    token = bearer(api_token(client, SimpleNamespace(email=agent.email,
                                                     password="passerelle-demo-2026")))
    client.post("/api/v1/charter/accept", headers=token, json={"version": 1})
    hits = client.get(f"/api/v1/persons?q={last_name}", headers=token).get_json()
    assert str(target.id) in {h["id"] for h in hits}
