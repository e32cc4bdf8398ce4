"""What later features let the person share with an orientation's structure, chosen at the
consent step beside the fields and the needs: the person's documents (app/documents registers
itself here from its init_app, so that orientation never imports it).

A share names the key of the consent it reads (``consent.shared_documents``), offers its choices
for the form, cleans the choice, saves it once the orientation exists, carries it over to the
new orientation of a redirect the person accepted, and says what an orientation shares (API,
export, the orientation's page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConsentShare:
    name: str                                             # the consent's key
    choices: Callable[[Any], list[tuple[str, str]]]       # person -> [(value, label)]
    # (errors, person, value, actor) -> values; the actor may be refused what they may not list
    clean: Callable[[Any, Any, Any, Any], list[str]]
    save: Callable[[Any, list[str], Any], None]           # (orientation, values, actor)
    carry: Callable[[Any, Any], None]                     # (old orientation, new one)
    shared: Callable[[Any], list[str]]                    # orientation -> values shared
    # orientation, user -> what the orientation's page lists for this reader (dicts)
    listing: Callable[[Any, Any], list[dict[str, Any]]] | None = None


_SHARES: dict[str, ConsentShare] = {}


def register_consent_share(share: ConsentShare) -> None:
    _SHARES[share.name] = share


def consent_shares() -> list[ConsentShare]:
    return list(_SHARES.values())


def get_share(name: str) -> ConsentShare | None:
    return _SHARES.get(name)


def clean_shares(errors: Any, person: Any, consent: Any, actor: Any) -> dict[str, list[str]]:
    """Every share's choice read from the consent (absent: nothing shared), as ``actor`` may
    make it."""
    consent = consent if isinstance(consent, dict) else {}
    return {share.name: share.clean(errors, person, consent.get(share.name), actor)
            for share in _SHARES.values()}


def save_shares(orientation: Any, chosen: dict[str, list[str]], actor: Any) -> None:
    for name, values in chosen.items():
        share = _SHARES.get(name)
        if share is not None:
            share.save(orientation, values, actor)


def carry_shares(old: Any, new: Any) -> None:
    for share in _SHARES.values():
        share.carry(old, new)


def shared_with(orientation: Any) -> dict[str, list[str]]:
    return {share.name: share.shared(orientation) for share in _SHARES.values()}


def listings(orientation: Any, user: Any) -> dict[str, list[dict[str, Any]]]:
    return {share.name: share.listing(orientation, user)
            for share in _SHARES.values() if share.listing is not None}
