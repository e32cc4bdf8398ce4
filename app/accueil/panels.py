"""Panels that later features show on a person's file and slip (orientations, parcours),
registered here so that accueil never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Panel:
    name: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


# The slip panel listing the orientations sent from the visit: the slip says the partner has the
# request only when it is there.
SLIP_ORIENTATIONS = "slip_orientations"

Provider = Callable[..., Panel | None]
_PROVIDERS: list[Provider] = []


def register_panel(provider: Provider) -> None:
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def panels_for(person: Any, user: Any, **options: Any) -> list[Panel]:
    """The panels every registered feature has for this person and reader (``slip=True`` for
    the printed slip, ``visit`` for the visit it recaps)."""
    found = (provider(person, user, **options) for provider in _PROVIDERS)
    return [panel for panel in found if panel is not None]
