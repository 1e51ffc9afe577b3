"""Travellers: passenger lists (PAXLST, CSV, JSON Lines), travel documents (MRZ), document checks, risk.

Public surface: ``read_mrz(text) -> MrzResult`` (raises ``MrzError`` on a text that is not an MRZ),
``check_digit``, ``compose_mrz`` and ``transliterate`` (Doc 9303's name transliteration).
"""

from borderwatch.travellers.mrz import (
    MrzError,
    MrzFormat,
    MrzResult,
    check_digit,
    compose_mrz,
    is_icao_code,
    nationality_consistent,
    read_mrz,
    transliterate,
)

__all__ = [
    "MrzError",
    "MrzFormat",
    "MrzResult",
    "check_digit",
    "compose_mrz",
    "is_icao_code",
    "nationality_consistent",
    "read_mrz",
    "transliterate",
]
