"""Pagination of an in-memory list, shaped like Flask-SQLAlchemy's (templates use either), and
the bound of every page number a request may ask for.

Page numbers arrive in parameters named ``page`` or ``…_page`` (``silent_page``), in the query
string or a form, on pages and in the API. A number past ``MAX_PAGE`` is refused for all of them
in one place (``app/core/validation.py``, checked before any view): an offset computed from
``page=99999999999999999999`` no longer reaches the database, where it overflowed.
"""

from __future__ import annotations

MAX_PAGE = 1_000_000


def is_page_parameter(name: str) -> bool:
    return name == "page" or name.endswith("_page")


class ListPage:
    def __init__(self, items: list, page: int, per_page: int):
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(max(1, page), self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start:start + per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1
