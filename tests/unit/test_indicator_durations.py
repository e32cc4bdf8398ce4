"""No negative duration in the indicators (issue 24, item 12): a median read from a histogram
whose values go below zero (inconsistent rows) counts them as 0 days."""

from __future__ import annotations

import pytest

from app.pilotage.indicators import _median_of


@pytest.mark.parametrize("histogram, expected", [
    ([(2, 1), (4, 1), (9, 1)], 4.0),
    ([(1, 2), (3, 2)], 2.0),
    ([(-5, 1), (-1, 1), (3, 1)], 0.0),
    ([(-2, 3)], 0.0),
    ([(-4, 1), (6, 1)], 3.0),
])
def test_a_median_duration_is_never_negative(histogram, expected):
    assert _median_of(histogram) == expected
