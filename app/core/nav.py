"""The main navigation: features register their entries, each shown to whoever may use it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_login import current_user

from app.core import permissions


@dataclass(frozen=True)
class NavItem:
    permission: str
    endpoint: str
    label: object
    order: int


_ITEMS: list[NavItem] = []


def register_nav(permission: str, endpoint: str, label: object, order: int = 50) -> None:
    permissions.get(permission)
    if all(item.endpoint != endpoint for item in _ITEMS):
        _ITEMS.append(NavItem(permission, endpoint, label, order))
        _ITEMS.sort(key=lambda item: item.order)


def nav_items() -> list[dict]:
    return [
        {"url": url_for(item.endpoint), "label": item.label}
        for item in _ITEMS
        if permissions.has_role(current_user, item.permission)
    ]
