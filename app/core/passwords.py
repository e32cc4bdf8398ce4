"""Password hashing (argon2id through argon2-cffi) and the password rules.

Nothing else in the code base hashes or checks a password.
"""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so that the answer takes the
# same time whether the e-mail is known or not.
_DUMMY_HASH = _hasher.hash("passerelle-timing-equaliser")


def use_cheapest_parameters_for_tests() -> None:
    """The test suite hashes hundreds of passwords: only it may trade strength for speed."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY_HASH = _hasher.hash("passerelle-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends the time of one verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
