"""An orientation's status: the one type every module spells it with, its translated labels and
its transition table (which action moves it from which statuses to which); and the labels of the
stalled reasons.

The values are the contract: stored in ``orientations.status`` and in the events, answered in
the API's JSON (API.md). A ``StrEnum`` member is its value: it compares, hashes and serialises
as the plain string read back from the database.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class OrientationStatus(StrEnum):
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    IN_CHARGE = "in_charge"
    CLOSED = "closed"
    REFUSED = "refused"
    REDIRECTED = "redirected"
    CANCELLED = "cancelled"


STATUSES = tuple(OrientationStatus)
# Still awaited or followed by the structure; the others are ended.
OPEN_STATUSES = (OrientationStatus.SENT, OrientationStatus.ACKNOWLEDGED,
                 OrientationStatus.IN_CHARGE)
# The structure never took the person in charge, or no longer has a reason to: a tombstone.
TOMBSTONE_STATUSES = (OrientationStatus.REFUSED, OrientationStatus.REDIRECTED,
                      OrientationStatus.CANCELLED)

# action -> (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[OrientationStatus], OrientationStatus]] = {
    "acknowledge": (frozenset({OrientationStatus.SENT}), OrientationStatus.ACKNOWLEDGED),
    "take_charge": (frozenset({OrientationStatus.ACKNOWLEDGED}), OrientationStatus.IN_CHARGE),
    "refuse": (frozenset({OrientationStatus.SENT, OrientationStatus.ACKNOWLEDGED}),
               OrientationStatus.REFUSED),
    "redirect": (frozenset({OrientationStatus.SENT, OrientationStatus.ACKNOWLEDGED}),
                 OrientationStatus.REDIRECTED),
    "cancel": (frozenset({OrientationStatus.SENT}), OrientationStatus.CANCELLED),
    "close": (frozenset({OrientationStatus.IN_CHARGE}), OrientationStatus.CLOSED),
    # After two missed appointments (app/appointments): the partner closes the orientation for
    # that reason, or hands it back to the sender (a refusal with the code
    # ``missed_appointments``: the structure keeps a tombstone, the sender is told).
    "close_missed": (frozenset({OrientationStatus.ACKNOWLEDGED, OrientationStatus.IN_CHARGE}),
                     OrientationStatus.CLOSED),
    "hand_back": (frozenset({OrientationStatus.ACKNOWLEDGED, OrientationStatus.IN_CHARGE}),
                  OrientationStatus.REFUSED),
}

# The one vocabulary of the statuses, in words a visitor understands, used alike on every page
# (the partner's inbox and orientation, the sender's lists, the person's file), on the slip and
# on the person's follow-up page (issue 24, item 7). Labels only: the values above stay the API's.
STATUS_LABELS = {
    OrientationStatus.SENT: _l("Demande envoyée"),
    OrientationStatus.ACKNOWLEDGED: _l("Demande reçue"),
    OrientationStatus.IN_CHARGE: _l("Accompagnement commencé"),
    OrientationStatus.CLOSED: _l("Terminée"),
    OrientationStatus.REFUSED: _l("Demande refusée"),
    OrientationStatus.REDIRECTED: _l("Réorientée"),
    OrientationStatus.CANCELLED: _l("Annulée"),
}

STALL_LABELS = {
    "acknowledgment_overdue": _l("Accusé de réception en retard"),
    "take_charge_overdue": _l("Prise en charge en retard"),
}
