"""The one CSV writer of the application: every export goes through `csv_response`.

Cells come from users and from imported records (a structure's name, an address typed by a
partner, a data·inclusion record): a spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`,
a tab or a carriage return as a formula (`=HYPERLINK(...)` sends the reader elsewhere). Such a
cell gets a leading apostrophe (OWASP's rule for CSV injection), so it is shown as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula; None is an empty cell."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rows(rows: Iterable[Iterable[Any]]) -> str:
    """The rows as French spreadsheets read them: `;` between cells, CRLF, every cell guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def csv_response(header: Iterable[Any], rows: Iterable[Iterable[Any]], filename: str) -> Response:
    """A CSV download in UTF-8 with a BOM (what French spreadsheets expect)."""
    body = "\ufeff" + write_rows([header, *rows])
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})
