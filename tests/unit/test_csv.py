"""The one CSV writer (review finding 5): no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import ast
from pathlib import Path

from app.core.csv import safe_cell, write_rows

APP = Path(__file__).resolve().parents[2] / "app"


def test_cells_that_start_like_a_formula_get_an_apostrophe():
    for text in ("=1+2", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'):
        assert safe_cell(text) == "'" + text
    assert safe_cell("Bailleur") == "Bailleur" and safe_cell("< 5") == "< 5"
    assert safe_cell(None) == "" and safe_cell(3) == "3" and safe_cell(-1) == "'-1"


def test_written_rows_are_guarded_cell_by_cell():
    text = write_rows([["a", "=cmd|' /C calc'!A0"], ["@x", "b;c"]])
    assert text == "a;'=cmd|' /C calc'!A0\r\n'@x;\"b;c\"\r\n"


def test_no_other_module_writes_csv():
    """Every export goes through app/core/csv.py: no second writer that could forget the guard."""
    writers = []
    for path in APP.rglob("*.py"):
        if path == APP / "core" / "csv.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "csv" for a in node.names):
                writers.append(str(path.relative_to(APP)))
            if isinstance(node, ast.ImportFrom) and node.module == "csv":
                writers.append(str(path.relative_to(APP)))
    assert writers == []
