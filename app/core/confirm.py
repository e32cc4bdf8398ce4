"""A confirmation step before an action that is hard to undo (issue 24, item 11).

The action's form posts as usual; without ``confirmed=1`` the view answers a page that says
what will happen and posts the same values again, with ``confirmed=1``, to the same address.
No script is needed, and what was typed is kept: "Annuler" goes back to the page it came from.
"""

from __future__ import annotations

from flask import render_template, request

CONFIRMED = "confirmed"


def confirmed() -> bool:
    return request.form.get(CONFIRMED) == "1"


def confirm_page(*, title: str, message: str | list[str], button: str, cancel_url: str,
                 details: list[tuple[str, str]] | None = None, danger: bool = False):
    """The page asking to confirm the POST being answered: the form's values (but its CSRF
    token, renewed by the page) are posted again to the same address with ``confirmed=1``."""
    values = [(name, value) for name, value in request.form.items(multi=True)
              if name not in ("csrf_token", CONFIRMED)]
    return render_template("confirm.html", title=title,
                           messages=[message] if isinstance(message, str) else message,
                           button=button, cancel_url=cancel_url, values=values,
                           details=details or [], danger=danger, action=request.path)
