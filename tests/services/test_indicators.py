"""Indicators against figures computed by hand from known fixtures, including working-day
medians across public holidays; a bounded number of queries whatever the volume."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.core.db import db
from app.pilotage import indicators

PERIOD = indicators.Query(date(2025, 1, 1), date(2026, 11, 20), "Valence")


def _set(model, row_id, **values):
    db.session.execute(sa.update(model).where(model.id == row_id).values(**values))


@pytest.fixture
def fixtures(app, build):
    from app.accueil.models import Visit
    from app.orientation.models import Orientation
    from app.referents.models import Parcours

    valence = build.site(territory="Valence")
    agent = build.user("accueil", site=str(valence.id))
    elsewhere = build.user("accueil", site=str(build.site(territory="Diois").id))
    structure = build.structure(name="CAF Indicateurs")
    p1 = build.person(agent)
    p2 = build.person(agent, anonymous=True)
    p3 = build.person(agent)
    outsider = build.person(elsewhere)
    visits = {
        "p1a": (build.visit(p1, outcome="answered"), date(2025, 3, 1)),
        "p1b": (build.visit(p1, outcome="oriented"), date(2026, 2, 1)),
        "p2": (build.visit(p2, outcome="answered"), date(2026, 2, 10)),
        "p3old": (build.visit(p3, outcome="pending"), date(2024, 5, 5)),
        "p3": (build.visit(p3, outcome="pending"), date(2026, 3, 3)),
        "out": (build.visit(outsider, outcome="answered"), date(2026, 3, 3)),
    }
    orientations = {
        # sent, acknowledged, due: the Christmas holiday and a weekend in between: 2 days
        "xmas": (build.orientation(p1, structure), "acknowledged", date(2025, 12, 23),
                 date(2025, 12, 26), date(2025, 12, 26)),
        # 11 November in between: 2 working days, after the due date
        "armistice": (build.orientation(p1, structure), "acknowledged", date(2026, 11, 10),
                      date(2026, 11, 13), date(2026, 11, 12)),
        "late": (build.orientation(p3, structure), "in_charge", date(2026, 6, 1),
                 date(2026, 6, 8), date(2026, 6, 3)),
        "refused": (build.orientation(p2, structure), "refused", date(2026, 6, 15), None,
                    date(2026, 6, 17)),
    }
    referent = build.user("referent_parcours", site=str(valence.id))
    parcours = [build.parcours(p1, referent), build.parcours(p3, referent)]
    with app.app_context():
        for visit, day in visits.values():
            _set(Visit, visit.id, occurred_on=day)
        for orientation, status, sent, acked, due in orientations.values():
            _set(Orientation, orientation.id, status=status, sent_on=sent, acknowledged_on=acked,
                 acknowledge_due=due, territory="Valence",
                 refusal_code="not_competent" if status == "refused" else None)
        # take-charge 2026-06-15 for "late": 9 working days from 2026-06-01 (no holiday)
        _set(Orientation, orientations["late"][0].id, taken_charge_on=date(2026, 6, 12))
        _set(Parcours, parcours[0].id, first_request_on=date(2026, 1, 1),
             opened_on=date(2026, 1, 21), territory="Valence")
        _set(Parcours, parcours[1].id, first_request_on=date(2026, 2, 1),
             opened_on=date(2026, 3, 13), territory="Valence", status="closed",
             closed_on=date(2026, 5, 1), outcome="resolved")
        db.session.commit()
    return {"structure": structure, "parcours": parcours, "referent": referent}


def test_totals_match_hand_counts(app, fixtures):
    with app.app_context():
        totals = indicators.compute(PERIOD, today=date(2026, 11, 20)).totals
    assert totals["visits"] == 4                 # p1 twice, p2, p3 (2024 and Diois excluded)
    assert totals["persons_welcomed"] == 3
    assert totals["persons_new"] == 2 and totals["persons_returning"] == 1   # p3 came in 2024
    assert totals["anonymous_share"] == 33.3
    assert totals["answered_share"] == 50.0      # p1a and p2 of 4
    assert totals["orientations_sent"] == 4
    assert totals["acknowledged_within_delay"] == 25.0  # only "xmas" of 4 measurable
    assert totals["median_ack_working_days"] == 2.0     # 2 (Christmas), 2 (11 Nov), 5
    assert totals["median_take_charge_working_days"] == 9.0
    assert totals["refusal_rate"] == 25.0 and totals["refusals"] == 1
    assert totals["parcours_opened"] == 2 and totals["parcours_closed"] == 1
    assert totals["median_referent_designation_days"] == 30.0  # 20 and 40 days


def test_groupings(app, fixtures):
    with app.app_context():
        by_structure = indicators.compute(indicators.Query(PERIOD.date_from, PERIOD.date_to,
                                                           "Valence", "structure"),
                                          today=date(2026, 11, 20))
        by_channel = indicators.compute(indicators.Query(PERIOD.date_from, PERIOD.date_to,
                                                         "Valence", "channel"),
                                        today=date(2026, 11, 20))
    [row] = by_structure.groups
    assert row["label"] == "CAF Indicateurs" and row["orientations_sent"] == 4
    # the fixture's orientations were sent without a visit: no channel ("—")
    assert {g["key"]: (g["visits"], g["orientations_sent"]) for g in by_channel.groups} == {
        "in_person": (4, 0), None: (0, 4)}
    assert by_structure.refusal_reasons == [{"code": "not_competent", "count": 1}]
    assert by_structure.parcours_outcomes == [{"outcome": "resolved", "count": 1}]
    months = {m["month"]: m for m in by_structure.months}
    assert months["2026-02"]["visits"] == 2 and months["2025-12"]["orientations"] == 1


def test_the_number_of_queries_does_not_grow_with_the_data(app, build, fixtures):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            indicators.compute(indicators.Query(PERIOD.date_from, PERIOD.date_to, "Valence",
                                                "structure"))
            first = len(statements)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    agent = build.user("accueil")
    for _ in range(5):
        build.orientation(build.person(agent), fixtures["structure"])
    statements.clear()
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            indicators.compute(indicators.Query(PERIOD.date_from, PERIOD.date_to, "Valence",
                                                "structure"))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == first and first <= 30


# -- grouped figures against hand counts ---------------------------------------------------------
@pytest.fixture
def grouped(app, build):
    """Two Valence sites; visits with several needs and channels; orientations from visits.

    site 1: pA  vA1 in_person [logement, budget] answered, vA2 phone [logement] oriented
            pB  vB  phone [budget] oriented
    site 2: pC  vC  in_person [sante] oriented (a visit an orientation is sent from is oriented)
    orientations: oA pA→X logement from vA2 (phone); oB pB→X budget from vB (phone), refused;
                  oC pC→Y sante from vC (in_person); oN pA→Y logement without a visit.
    """
    from app.orientation.models import Orientation

    s1, s2 = build.site(territory="Valence"), build.site(territory="Valence")
    agent1 = build.user("accueil", site=str(s1.id))
    agent2 = build.user("accueil", site=str(s2.id))
    x = build.structure(name="X", domains=["logement", "budget"])
    y = build.structure(name="Y", domains=["sante", "logement"])
    pa, pb, pc = build.person(agent1), build.person(agent1), build.person(agent2)

    def need(domain):
        return {"domain": domain, "urgency": "urgent"}

    va1 = build.visit(pa, channel="in_person", outcome="answered",
                      needs=[need("logement"), need("budget")])
    va2 = build.visit(pa, channel="phone", outcome="oriented", needs=[need("logement")])
    vb = build.visit(pb, channel="phone", outcome="oriented", needs=[need("budget")])
    vc = build.visit(pc, channel="in_person", outcome="oriented", needs=[need("sante")])
    build.orientation(pa, x, visit_id=str(va2.id), domain="logement")
    ob = build.orientation(pb, x, visit_id=str(vb.id), domain="budget")
    build.orientation(pc, y, visit_id=str(vc.id), domain="sante")
    build.orientation(pa, y, domain="logement")
    del va1
    with app.app_context():
        _set(Orientation, ob.id, status="refused", refusal_code="not_competent")
        db.session.commit()
    return {"s1": s1, "s2": s2, "x": x, "y": y}


def _groups(app, by):
    from app.core.db import utcnow
    from app.orientation.deadlines import local_date

    with app.app_context():
        today = local_date(utcnow())
        report = indicators.compute(indicators.Query(date(today.year - 1, today.month, 1), today,
                                                     "Valence", by), today=today)
    return {g["key"]: g for g in report.groups}


def test_by_domain_counts_visits_and_persons_through_needs(app, grouped):
    rows = _groups(app, "domain")
    assert set(rows) == {"logement", "budget", "sante"}
    logement, budget, sante = rows["logement"], rows["budget"], rows["sante"]
    assert (logement["visits"], logement["persons_welcomed"]) == (2, 1)   # vA1, vA2 of pA
    assert logement["answered_share"] == 50.0                              # vA1 of 2
    assert (budget["visits"], budget["persons_welcomed"]) == (2, 2)       # vA1 (pA), vB (pB)
    assert budget["answered_share"] == 50.0                                # vA1 of 2
    assert (sante["visits"], sante["persons_welcomed"], sante["persons_new"]) == (1, 1, 1)
    assert (logement["orientations_sent"], budget["orientations_sent"],
            sante["orientations_sent"]) == (2, 1, 1)
    assert budget["refusal_rate"] == 100.0 and logement["refusal_rate"] == 0.0
    for row in rows.values():   # parcours are not split by domain
        assert row["parcours_opened"] is None and row["meetings"] is None


def test_by_channel_counts_orientations_through_their_visit(app, grouped):
    rows = _groups(app, "channel")
    assert {k: (r["visits"], r["persons_welcomed"], r["orientations_sent"])
            for k, r in rows.items()} == {"in_person": (2, 2, 1),   # vA1, vC; oC
                                          "phone": (2, 2, 2),       # vA2, vB; oA, oB
                                          None: (0, 0, 1)}          # oN, sent without a visit
    assert rows["phone"]["refusals"] == 1 and rows["phone"]["parcours_closed"] is None


def test_by_structure_and_site_and_territory(app, grouped):
    by_structure = _groups(app, "structure")
    assert {k: r["orientations_sent"] for k, r in by_structure.items()} == {
        str(grouped["x"].id): 2, str(grouped["y"].id): 2}
    for row in by_structure.values():   # a visit has no structure
        assert row["visits"] is None and row["persons_welcomed"] is None
        assert row["anonymous_share"] is None and row["parcours_opened"] is None
        assert row["updates_sent"] == 0      # measured per orientation: applies
    by_site = _groups(app, "site")
    s1, s2 = by_site[str(grouped["s1"].id)], by_site[str(grouped["s2"].id)]
    assert (s1["visits"], s1["persons_welcomed"], s1["orientations_sent"]) == (3, 2, 3)
    assert (s2["visits"], s2["persons_welcomed"], s2["orientations_sent"]) == (1, 1, 1)
    assert s1["parcours_opened"] is None
    [valence] = _groups(app, "territory").values()
    assert (valence["visits"], valence["persons_welcomed"], valence["orientations_sent"]) == \
        (4, 3, 4)
    assert valence["parcours_opened"] == 0 and valence["meetings"] == 0   # applies, none


def test_updates_are_split_by_group(app, build, grouped):
    from app.core.db import db as _db
    from app.followup.models import FollowUp
    from app.orientation.models import Orientation

    with app.app_context():
        sante = _db.session.scalars(sa.select(Orientation).where(
            Orientation.domain == "sante")).one()
        _db.session.add(FollowUp(orientation_id=sante.id, code_hash="a" * 64,
                                 updates_channel="email"))
        _db.session.commit()
    rows = _groups(app, "domain")
    assert rows["sante"]["updates_requested_share"] == 100.0
    assert rows["logement"]["updates_requested_share"] == 0.0
