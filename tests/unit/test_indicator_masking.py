"""What the indicators publish (review finding 7): small counts and what is computed from them."""

from __future__ import annotations

from datetime import date

from app.pilotage import indicators
from app.pilotage.indicators import MASKED, MASKED_DERIVED, Query, Report, as_json, mask, too_short


def _report(totals, groups=(), channels=()):
    return Report(query=Query(date(2026, 1, 1), date(2026, 1, 31)), totals=totals,
                  groups=list(groups), months=[], refusal_reasons=[], parcours_outcomes=[],
                  domains=[], channels=list(channels))


def test_counts_from_one_to_four_and_their_shares_are_withheld():
    published = mask(_report(
        {"orientations_sent": 3, "refusal_rate": 33.3, "refusals": 1, "visits": 0,
         "persons_welcomed": 7, "anonymous_share": 14.3, "answered_share": None},
        channels=[{"channel": "phone", "count": 4}, {"channel": "desk", "count": 5}]))
    t = published.totals
    assert t["orientations_sent"] is MASKED and t["refusals"] is MASKED
    assert t["refusal_rate"] is MASKED_DERIVED          # a share of a masked count
    assert t["visits"] == 0 and t["persons_welcomed"] == 7 and t["anonymous_share"] == 14.3
    assert t["answered_share"] is None                  # nothing measured stays None
    assert [c["count"] for c in published.channels] == [MASKED, 5]
    assert str(MASKED) == "< 5"


def test_the_api_form_says_what_was_withheld_and_keeps_every_field():
    row = as_json(mask(_report({"orientations_sent": 2, "refusal_rate": 50.0, "visits": 9})
                       ).totals)
    assert row == {"orientations_sent": None, "refusal_rate": None, "visits": 9,
                   "masked": True, "masked_fields": ["orientations_sent", "refusal_rate"]}
    assert as_json({"visits": 9}) == {"visits": 9, "masked": False, "masked_fields": []}


def test_grouped_windows_shorter_than_the_minimum_are_too_short():
    day = date(2026, 3, 2)
    assert too_short(Query(day, day, None, "site"), 7)
    assert too_short(Query(day, date(2026, 3, 7), None, "structure"), 7)      # six days
    assert not too_short(Query(day, date(2026, 3, 8), None, "structure"), 7)  # seven days
    assert not too_short(Query(day, day, None, None), 7)                      # no grouping
    assert indicators.SMALL == 5
