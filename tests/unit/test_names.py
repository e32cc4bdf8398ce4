"""Normalisation and the French phonetic key on real name variants."""

from __future__ import annotations

import pytest

from app.core.names import normalise, phonetic_key, tokens


@pytest.mark.parametrize("a, b", [
    ("Lefèvre", "LEFEBVRE"), ("Dupond", "Dupont"), ("Gauthier", "Gautier"),
    ("Philippe", "Filipe"), ("Catherine", "Katherine"), ("Mohamed", "Mohammed"),
    ("Mohamed", "Mouhamed"), ("Françoise", "Francoise"), ("Le Goff", "Legoff"),
    ("Nguyen", "N'Guyen"), ("Lefebvre", "Lefevre"), ("Thérèse", "Therese"),
])
def test_variants_share_a_phonetic_key(a, b):
    assert phonetic_key(a) == phonetic_key(b) != ""


@pytest.mark.parametrize("a, b", [
    ("Martin", "Dupont"), ("Bernard", "Bertrand"), ("Petit", "Durand"), ("Leroy", "Moreau"),
    ("Marie", "Martin"), ("Simon", "Laurent"),
])
def test_different_names_keep_different_keys(a, b):
    assert phonetic_key(a) != phonetic_key(b)


@pytest.mark.parametrize("raw, expected", [
    ("  Lefèvre ", "lefevre"), ("LEFÈVRE", "lefevre"), ("Jean-Pierre", "jean pierre"),
    ("O’Brien", "o brien"), ("N'Guyen", "n guyen"), ("Œdipe", "oedipe"), ("a\t\tb", "a b"),
    ("", ""), (None, ""), ("Émilie--Rose", "emilie rose"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_tokens_are_unique_and_ordered():
    assert tokens("Marie Marie-Claire Dupont") == ["marie", "claire", "dupont"]


def test_empty_and_symbol_only_names():
    assert phonetic_key("") == "" and phonetic_key("---") == ""
