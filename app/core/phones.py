"""Phone numbers written the French way: "06 11 22 33 44" (the ``phone`` template filter)."""

from __future__ import annotations

import re


def format_phone(value) -> str:
    """A French number in pairs ("0611223344", "06.11.22.33.44" → "06 11 22 33 44"; "+33611223344"
    → "+33 6 11 22 33 44"); anything else (a foreign number, a note) is returned as typed."""
    if not value:
        return ""
    text = str(value).strip()
    digits = re.sub(r"[\s.\-/()]", "", text)
    if re.fullmatch(r"0\d{9}", digits):
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    if re.fullmatch(r"\+33\d{9}", digits):
        rest = digits[3:]
        return "+33 " + rest[0] + " " + " ".join(rest[i:i + 2] for i in range(1, 9, 2))
    return text
