"""Field encryption and blind indexes: round trips, tampering, moved ciphertexts, key rings."""

from __future__ import annotations

import base64
import json

import pytest

from app.core.crypto import (
    DecryptionError,
    KeyConfigurationError,
    KeyRing,
    load_key_ring,
    new_key,
    parse_encryption_keys,
)

K1, K2, IDX = new_key(), new_key(), new_key()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.from_settings(f"k1:{K1}", IDX)


def test_round_trip_and_random_nonce(ring):
    a = ring.encrypt("Lefèvre Marie", "persons:last_name:1")
    b = ring.encrypt("Lefèvre Marie", "persons:last_name:1")
    assert a != b  # a fresh 96-bit nonce each time
    assert a.startswith("v1:k1:")
    assert "Lef" not in a and "Marie" not in a
    assert ring.decrypt(a, "persons:last_name:1") == "Lefèvre Marie"
    raw = base64.urlsafe_b64decode(a.split(":", 2)[2])
    assert len(raw) == 12 + len("Lefèvre Marie".encode()) + 16  # nonce + text + GCM tag


@pytest.mark.parametrize("other_aad", ["persons:last_name:2", "persons:first_name:1",
                                       "visits:last_name:1"])
def test_ciphertext_moved_to_another_row_or_column_fails(ring, other_aad):
    token = ring.encrypt("secret", "persons:last_name:1")
    with pytest.raises(DecryptionError, match="moved from another row"):
        ring.decrypt(token, other_aad)


def test_flipped_byte_fails(ring):
    token = ring.encrypt("secret", "t:c:1")
    prefix, body = token.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[14] ^= 0x01
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, "t:c:1")


@pytest.mark.parametrize("garbage", ["", "plain text", "v1:k1", "v2:k1:AAAA", "v1:k1:!!!"])
def test_malformed_tokens_fail_clearly(ring, garbage):
    with pytest.raises(DecryptionError):
        ring.decrypt(garbage, "t:c:1")


def test_unknown_key_id_fails_clearly(ring):
    other = KeyRing.from_settings(f"k9:{K2}", IDX)
    with pytest.raises(DecryptionError, match="k9"):
        ring.decrypt(other.encrypt("x", "t:c:1"), "t:c:1")


def test_old_keys_still_decrypt_after_rotation():
    old = KeyRing.from_settings(f"k1:{K1}", IDX)
    token = old.encrypt("x", "t:c:1")
    new = KeyRing.from_settings(f"k2:{K2},k1:{K1}", IDX)
    assert new.active_id == "k2"
    assert new.decrypt(token, "t:c:1") == "x"
    assert new.encrypt("x", "t:c:1").startswith("v1:k2:")


@pytest.mark.parametrize("spec", ["", "k1", "k1:notbase64!", f"k1:{base64.b64encode(b'short').decode()}",
                                  f"k1:{K1},k1:{K2}", f"bad id:{K1}"])
def test_bad_key_specs_are_refused(spec):
    with pytest.raises(KeyConfigurationError):
        parse_encryption_keys(spec)


def test_index_key_must_differ_from_encryption_keys():
    with pytest.raises(KeyConfigurationError):
        KeyRing.from_settings(f"k1:{K1}", K1)


def test_blind_index_is_keyed_and_separated_by_purpose(ring):
    other = KeyRing.from_settings(f"k1:{K1}", new_key())
    assert ring.blind_index("name", "lefevre") == ring.blind_index("name", "lefevre")
    assert ring.blind_index("name", "lefevre") != other.blind_index("name", "lefevre")
    assert ring.blind_index("name", "lefevre") != ring.blind_index("phonetic", "lefevre")
    assert len(ring.blind_index("name", "lefevre")) == 64


def test_key_file_and_generation(tmp_path):
    with pytest.raises(KeyConfigurationError):
        load_key_ring(None, None, None, str(tmp_path), allow_generate=False)
    generated = load_key_ring(None, None, None, str(tmp_path), allow_generate=True)
    again = load_key_ring(None, None, None, str(tmp_path), allow_generate=True)
    assert generated.keys == again.keys  # generated once, then reused
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    from_file = load_key_ring(None, None, str(tmp_path / "keys.json"), "/nonexistent", False)
    assert from_file.keys == generated.keys
    (tmp_path / "broken.json").write_text(json.dumps({"encryption_keys": "x"}))
    with pytest.raises(KeyConfigurationError):
        load_key_ring(None, None, str(tmp_path / "broken.json"), "/nonexistent", False)
    with pytest.raises(KeyConfigurationError):
        load_key_ring(f"k1:{K1}", None, None, str(tmp_path), False)
