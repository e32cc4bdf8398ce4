"""Translated labels of the orientation statuses and of the stalled reasons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "sent": _l("Transmise"),
    "acknowledged": _l("Prise en compte"),
    "in_charge": _l("Prise en charge"),
    "closed": _l("Clôturée"),
    "refused": _l("Refusée"),
    "redirected": _l("Réorientée"),
    "cancelled": _l("Annulée"),
}

STALL_LABELS = {
    "acknowledgment_overdue": _l("Accusé de réception en retard"),
    "take_charge_overdue": _l("Prise en charge en retard"),
}
