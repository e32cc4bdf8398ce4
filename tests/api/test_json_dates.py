"""Dates in JSON answers are ISO 8601 wherever they sit (API.md), never HTTP dates."""

from __future__ import annotations

from datetime import UTC, date, datetime


def test_nested_dates_are_iso_8601(app):
    with app.test_request_context():
        text = app.json.dumps({"d": date(2026, 11, 23),
                               "t": datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
                               "naive": datetime(2026, 11, 23, 9, 30)})
    assert '"d": "2026-11-23"' in text or '"d":"2026-11-23"' in text
    assert "2026-11-23T09:30:00+00:00" in text and "GMT" not in text
