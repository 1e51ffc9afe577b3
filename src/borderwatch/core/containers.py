"""ISO 6346 freight container numbers: the check digit, shared by reconciliation (``features.reconcile``) and
the synthetic generator (which may import only core).

Written here, not taken from PyPI: the packages that do it (iso6346-containers, iso-container, freightid,
container-validator-client) are young single-maintainer releases for ten lines of the standard's arithmetic.
"""

from __future__ import annotations

from typing import Final

# Letter values: A=10 upwards, skipping the multiples of 11 (11, 22, 33).
LETTER_VALUES: Final[dict[str, int]] = {}
_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:
        _value += 1
    LETTER_VALUES[_letter] = _value
    _value += 1


def check_digit(code: str) -> int:
    """The check digit of the first ten characters of a container number (owner, category, serial)."""
    total = sum(
        (LETTER_VALUES[char] if char.isalpha() else int(char)) << position
        for position, char in enumerate(code[:10])
    )
    return total % 11 % 10


def is_container_number(container_id: str) -> bool:
    """Whether ``container_id`` is an ISO 6346 container number with a right check digit: three letters of
    the owner, an equipment category (U, J or Z), six digits and the check digit (spaces, dashes ignored)."""
    code = container_id.replace(" ", "").replace("-", "").upper()
    if len(code) != 11 or not code.isascii() or not code[:3].isalpha() or code[3] not in "UJZ":
        return False
    if not code[4:].isdigit():
        return False
    return check_digit(code) == int(code[10])
