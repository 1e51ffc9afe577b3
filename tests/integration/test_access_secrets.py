"""Password hashing (argon2) and token digests: properties, not examples."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.access.service import digest, hash_password, verify_password
from tests.hypothesis_profiles import examples


@settings(max_examples=examples(4), deadline=None)
@given(password=st.text(min_size=12, max_size=40), other=st.text(min_size=1, max_size=40))
def test_password_verifies_only_itself(password: str, other: str) -> None:
    stored = hash_password(password)
    assert stored.startswith("$argon2id$")
    assert password not in stored  # long enough not to appear in the hash by chance
    assert verify_password(stored, password)
    if other != password:
        assert not verify_password(stored, other)


def test_same_password_hashes_differently() -> None:
    # a random salt per hash: equal passwords do not give equal hashes
    assert hash_password("same password here") != hash_password("same password here")


def test_garbage_hash_does_not_verify() -> None:
    assert not verify_password("not-a-hash", "anything")


@given(secret=st.text(min_size=1, max_size=80))
def test_digest_is_hex_sha256_and_hides_the_secret(secret: str) -> None:
    value = digest(secret)
    assert len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    assert digest(secret) == value
    assert digest(secret + "x") != value
