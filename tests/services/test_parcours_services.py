"""Parcours services: the race on opening, the journal's sequence and immutability, what each
reader counts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.db import db
from app.core.errors import Conflict


@pytest.fixture
def setup(build):
    agent = build.user("accueil")
    referent = build.user("referent_parcours", site=str(agent.site_id))
    structure = build.structure()
    member = build.user("partenaire", structure=str(structure.id))
    person = build.person(agent)
    build.orientation(person, structure)
    return type("Setup", (), dict(agent=agent, referent=referent, member=member, person=person,
                                  structure=structure))


def _open_data(setup) -> dict:
    return {"referent_id": str(setup.referent.id), "member_ids": [str(setup.member.id)],
            "goals": "Retrouver un logement", "consent": {"given": True}}


def test_a_concurrent_opening_is_a_conflict_not_a_silent_loss(app, build, setup, monkeypatch):
    """Another request opened a parcours between the check and the insert: the unique index
    refuses ours, and the service says so instead of answering for a row never saved."""
    from app.accueil.models import Person
    from app.auth.models import User
    from app.referents import services
    from app.referents.models import Parcours

    build.parcours(setup.person, setup.referent, [setup.member])
    monkeypatch.setattr(services, "open_parcours_of", lambda person_id: None)  # the check misses
    with app.app_context():
        person, actor = db.session.get(Person, setup.person.id), db.session.get(User, setup.agent.id)
        with pytest.raises(Conflict):
            services.open_parcours(person, _open_data(setup), actor)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Parcours)) == 1


def _entry(parcours_id, actor_id, **data):
    from app.auth.models import User
    from app.referents import services
    from app.referents.models import Parcours

    body = {"kind": "note", "visibility": "members", "content": "Contenu", **data}
    entry = services.add_entry(db.session.get(Parcours, parcours_id), body,
                               db.session.get(User, actor_id))
    db.session.commit()
    return entry.id


def test_a_concurrent_entry_is_a_conflict_not_a_crash(app, build, setup, monkeypatch):
    """Two writers computed the same number: the second gets 409, never a 500."""
    from app.auth.models import User
    from app.referents import services
    from app.referents.models import Parcours, ParcoursEntry

    parcours = build.parcours(setup.person, setup.referent, [setup.member])
    with app.app_context():
        _entry(parcours.id, setup.referent.id)
        monkeypatch.setattr(services, "_next_seq", lambda parcours_id: 1)  # the other one's
        with pytest.raises(Conflict):
            services.add_entry(db.session.get(Parcours, parcours.id),
                               {"kind": "call", "visibility": "members", "content": "Appel"},
                               db.session.get(User, setup.member.id))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ParcoursEntry)) == 1


def test_writers_lock_the_parcours_before_numbering(app, build, setup):
    from app.auth.models import User
    from app.referents import services
    from app.referents.models import Parcours

    parcours = build.parcours(setup.person, setup.referent, [setup.member])
    locked: list = []

    def spy(state):
        arg = getattr(state.statement, "_for_update_arg", None)
        if arg is not None and "parcours" in {t.name for t in state.statement.get_final_froms()}:
            locked.append(state.statement)

    with app.app_context():
        session = db.session()
        sa.event.listen(session, "do_orm_execute", spy)
        try:
            services.add_entry(db.session.get(Parcours, parcours.id),
                               {"kind": "call", "visibility": "members", "content": "Appel"},
                               db.session.get(User, setup.member.id))
        finally:
            sa.event.remove(session, "do_orm_execute", spy)
        db.session.rollback()
    assert locked, "the parcours row is not locked before the next number is computed"


# -- The journal is append-only --------------------------------------------------------------
@pytest.fixture
def journal(app, build, setup):
    parcours = build.parcours(setup.person, setup.referent, [setup.member])
    with app.app_context():
        entry_id = _entry(parcours.id, setup.referent.id, content="Dossier FSL déposé")
    return type("Journal", (), dict(parcours=parcours, entry_id=entry_id))


@pytest.mark.parametrize("change", [
    lambda e: setattr(e, "content", "Dossier FSL refusé"),
    lambda e: setattr(e, "kind", "decision"),
    lambda e: setattr(e, "visibility", "referent"),
    lambda e: db.session.delete(e),
], ids=["content", "kind", "visibility", "delete"])
def test_entries_cannot_be_changed_or_deleted(app, journal, change):
    from app.referents.models import JournalIsAppendOnly, ParcoursEntry

    with app.app_context():
        change(db.session.get(ParcoursEntry, journal.entry_id))
        with pytest.raises(JournalIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(ParcoursEntry, journal.entry_id).content == "Dossier FSL déposé"


@pytest.mark.parametrize("statement", [
    lambda M: sa.update(M).values(kind="decision"),
    lambda M: sa.update(M).values(content_ct="forged"),
    lambda M: sa.delete(M),
], ids=["bulk-kind", "bulk-content", "bulk-delete"])
def test_entries_cannot_be_changed_in_bulk(app, journal, statement):
    from app.referents.models import JournalIsAppendOnly, ParcoursEntry

    with app.app_context():
        with pytest.raises(JournalIsAppendOnly):
            db.session.execute(statement(ParcoursEntry))
        db.session.rollback()
        assert db.session.get(ParcoursEntry, journal.entry_id).kind == "note"


def test_reencrypting_erasing_and_purging_remain_possible(app, journal):
    from app.referents.models import JOURNAL_PURGE, ParcoursEntry

    with app.app_context():
        entry = db.session.get(ParcoursEntry, journal.entry_id)
        before = entry.content_ct
        entry.content = entry.content  # key rotation: same text, new ciphertext
        db.session.commit()
        entry = db.session.get(ParcoursEntry, journal.entry_id)
        assert entry.content_ct != before and entry.content == "Dossier FSL déposé"
        # Retention erases the content in bulk (or one by one).
        db.session.execute(sa.update(ParcoursEntry).values(content_ct=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(ParcoursEntry, journal.entry_id).content is None
        db.session.get(ParcoursEntry, journal.entry_id).content = None
        db.session.commit()
        # Anything else needs the purge flag, which ends with the transaction.
        db.session.info[JOURNAL_PURGE] = True
        db.session.delete(db.session.get(ParcoursEntry, journal.entry_id))
        db.session.commit()
        assert JOURNAL_PURGE not in db.session.info
        assert db.session.get(ParcoursEntry, journal.entry_id) is None


# -- What each reader counts -----------------------------------------------------------------
def test_members_count_and_date_only_what_they_see(app, build, setup):
    from datetime import timedelta

    from app.auth.models import User
    from app.referents.models import Parcours, ParcoursEntry
    from app.referents.presenters import parcours_view, parcours_views

    parcours = build.parcours(setup.person, setup.referent, [setup.member])
    with app.app_context():
        _entry(parcours.id, setup.referent.id, kind="meeting", person_present="present")
        seen = db.session.scalar(sa.select(ParcoursEntry.created_at))
        _entry(parcours.id, setup.referent.id, kind="meeting", visibility="referent",
               person_present="absent", content="Réunion sans les partenaires")
        # The private entry comes later, whatever the clock's resolution.
        private = db.session.scalars(sa.select(ParcoursEntry).where(
            ParcoursEntry.visibility == "referent")).one()
        row = db.session.get(Parcours, parcours.id)
        row.last_entry_at = seen + timedelta(minutes=5)
        db.session.commit()
        assert private.id
        row = db.session.get(Parcours, parcours.id)
        member, referent = db.session.get(User, setup.member.id), db.session.get(User, setup.referent.id)
        for view in (parcours_view(row, member), parcours_views([row], member)[0]):
            assert view["attendance"] == {"meetings": 1, "present": 1, "represented": 0,
                                          "share": 100}
            assert view["last_entry_at"] == seen
        mine = parcours_view(row, referent)
        assert mine["attendance"]["meetings"] == 2 and mine["attendance"]["share"] == 50
        assert mine["last_entry_at"] == seen + timedelta(minutes=5)


def test_the_next_step_is_the_latest_decision_the_reader_sees(app, build, setup):
    from datetime import date, timedelta

    from app.auth.models import User
    from app.referents.models import Parcours
    from app.referents.presenters import parcours_views

    parcours = build.parcours(setup.person, setup.referent, [setup.member])
    today = date.today()
    with app.app_context():
        _entry(parcours.id, setup.referent.id, kind="decision", content="Demande FSL",
               happened_on=today - timedelta(days=10))
        wrong = _entry(parcours.id, setup.referent.id, kind="decision",
                       content="Rendez-vous CAF le 3", happened_on=today - timedelta(days=2))
        _entry(parcours.id, setup.referent.id, kind="decision", content="Rendez-vous CAF le 4",
               happened_on=today - timedelta(days=2), corrects_id=str(wrong))
        _entry(parcours.id, setup.referent.id, kind="decision", visibility="referent",
               content="Signalement envisagé", happened_on=today - timedelta(days=1))
        _entry(parcours.id, setup.referent.id, kind="note", content="Note plus récente")
        row = db.session.get(Parcours, parcours.id)
        member, referent = db.session.get(User, setup.member.id), db.session.get(User, setup.referent.id)
        assert parcours_views([row], member, detail=True)[0]["next_step"]["content"] == \
            "Rendez-vous CAF le 4"
        assert parcours_views([row], referent, detail=True)[0]["next_step"]["content"] == \
            "Signalement envisagé"
        assert "next_step" not in parcours_views([row], referent)[0]  # the API's view


def test_the_person_is_named_only_to_readers_who_may_see_them(app, build, setup):
    from app.auth.models import User
    from app.referents.models import Parcours
    from app.referents.presenters import parcours_views

    stranger = build.user("partenaire")  # a member whose structure received no orientation
    parcours = build.parcours(setup.person, setup.referent, [setup.member, stranger])
    coordinator = build.user("coordinateur", territory="Valence")
    with app.app_context():
        row = db.session.get(Parcours, parcours.id)
        row.territory = "Valence"
        db.session.commit()

        def person(user_id):
            return parcours_views([row], db.session.get(User, user_id), detail=True)[0]["person"]

        assert person(setup.referent.id) == {"id": setup.person.id,
                                             "display_name": f"Marie {setup.person.last_name.upper()}"}
        # The oriented structure's partner sees the shared names.
        assert person(setup.member.id)["display_name"] == f"Marie {setup.person.last_name.upper()}"
        assert person(stranger.id) is None
        assert person(coordinator.id) is None
