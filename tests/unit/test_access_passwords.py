"""Issue #22, defect 7: a password is checked against common passwords and a strength estimate, not only
its length."""

from __future__ import annotations

import pytest

from borderwatch.access.service import AccessError, check_password


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",  # long enough, and among the most common
        "qwertyuiop",
        "Password123!",  # a common pattern with the usual substitutions
        "aaaaaaaaaaaa",  # repeats
        "1980-12-31",  # a date
        "kim.inspector",  # the username itself
    ],
)
def test_common_and_guessable_passwords_are_refused(password: str) -> None:
    with pytest.raises(AccessError) as refused:
        check_password(password, user_inputs=("kim.inspector", "agency-a"))
    assert refused.value.field == "password"


def test_short_password_is_refused_and_strong_ones_pass() -> None:
    with pytest.raises(AccessError, match="at least 10"):
        check_password("Xq7#vB2!", user_inputs=())
    for password in ("quay lantern 4 mooring", "Tr0ub4dor&3-harbour", "x" * 3 + "Qz9!mP2$kL7@" + "é" * 300):
        check_password(password, user_inputs=("kim",))
