"""Normalised and phonetic forms of names, the inputs of the blind indexes.

``normalise`` folds case and accents and unifies hyphens, apostrophes and spaces, so that
"Lefèvre", "LEFEVRE" and "lefevre" give one value.

``phonetic_key`` is a French phonetic code of a name. It applies Édouard Bergé's "phonétique"
algorithm for French (http://www.roudoudou.com/phonetic.php, the maintained Python port
``phonetic-fr``), after three documented adaptations to proper names that the algorithm, designed
for words, leaves apart:

1. separators are dropped before coding, so "Le Goff" and "Legoff", "N'Guyen" and "Nguyen" meet;
2. the silent B of the old spelling "-BVRE" is dropped (Lefebvre, Febvre: say "Lefèvre");
3. in the code, every run of vowels is reduced to one vowel class, as Soundex2 does (Brouard,
   1999), so that transliterated first names meet: Mohamed, Mohammed and Mouhamed.

The phonetic key only finds *candidates*; callers rank them after decryption and mark them as
approximate, so a wider net costs a few more candidates, never a wrong identity.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from phonetic_fr import phonetic

_SEPARATORS = re.compile(r"[\s\-‐-―'’`´.,_/]+")
_NOT_LETTER = re.compile(r"[^a-z0-9 ]")
_VOWEL_RUN = re.compile(r"[AEIOUY]+")
# Ligatures that NFKD does not split.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


# -- names that could spoof the display ------------------------------------------------------------
# Format characters (Unicode category Cf) draw nothing but change what is drawn around them: the
# bidi controls (U+202A–202E, U+2066–2069, U+200E/F, U+061C) reorder a line ("Martin" shown for
# "nitraM"), the zero-width ones (U+200B–200D, U+2060) and the BOM (U+FEFF) make two names that
# look the same compare different. No real name needs one in Passerelle. Letters that draw
# nothing (the Hangul fillers) do not count as the visible letter every name must have, and more
# than three combining marks on one letter (Vietnamese needs two) only smear the lines around.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
MAX_COMBINING_RUN = 3
INVISIBLE, NO_LETTER, STACKED_MARKS = "invisible", "no_letter", "stacked_marks"


def display_problem(value: str) -> str | None:
    """Why ``value`` may not be shown as a name (``INVISIBLE``, ``NO_LETTER``,
    ``STACKED_MARKS``), or None."""
    run = 0
    for ch in value:
        if unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_LETTERS:
            return INVISIBLE
        run = run + 1 if unicodedata.combining(ch) else 0
        if run > MAX_COMBINING_RUN:
            return STACKED_MARKS
    if not any(unicodedata.category(ch).startswith("L") for ch in value):
        return NO_LETTER
    return None


def fold(value: str) -> str:
    """Lower case, without accents or ligatures (NFKD then combining marks removed)."""
    value = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    return "".join(ch for ch in value if not unicodedata.combining(ch)).casefold()


def normalise(value: str | None) -> str:
    """Case and accents folded, hyphens/apostrophes/spaces unified into single spaces."""
    if not value:
        return ""
    folded = _SEPARATORS.sub(" ", fold(value))
    return " ".join(_NOT_LETTER.sub("", folded).split())


def tokens(value: str | None) -> list[str]:
    """The normalised words of a value, in order, without duplicates."""
    seen: list[str] = []
    for token in normalise(value).split():
        if token not in seen:
            seen.append(token)
    return seen


def phonetic_key(value: str | None) -> str:
    """French phonetic code of a name (see the module docstring); '' for an empty name."""
    return _phonetic(normalise(value).replace(" ", "").upper())


@lru_cache(maxsize=200_000)
def _phonetic(compact: str) -> str:
    """The coding itself, cached: names repeat, and the algorithm is a long list of rules."""
    if not compact:
        return ""
    compact = compact.replace("BVR", "VR")
    code = phonetic(compact)
    if not code:
        return compact
    return _VOWEL_RUN.sub("A", code)
