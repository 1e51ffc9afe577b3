"""Codes shown with their meaning: transport modes, countries, units of quantity (Jinja filters)."""

from __future__ import annotations

from functools import cache

import pycountry

# Korea Customs' two-digit codes (the KCS layout) and UN/ECE Recommendation 19's one-digit codes (the
# canonical JSON): the same modes, numbered two ways.
TRANSPORT_MODES: dict[str, str] = {
    "10": "sea",
    "20": "rail",
    "30": "road",
    "40": "air",
    "50": "post",
    "90": "other",
    "1": "sea",
    "2": "rail",
    "3": "road",
    "4": "air",
    "5": "post",
    "7": "fixed installation",
    "8": "inland waterway",
    "9": "own propulsion",
}

# Units an inspector counts seized goods in (UN/ECE Recommendation 20 codes, with their names).
QUANTITY_UNITS: tuple[tuple[str, str], ...] = (
    ("PCE", "pieces"),
    ("KGM", "kilograms"),
    ("GRM", "grams"),
    ("LTR", "litres"),
    ("PR", "pairs"),
    ("PK", "packs"),
    ("CT", "cartons"),
    ("MTR", "metres"),
    ("MTQ", "cubic metres"),
)


def transport_mode(code: str | None) -> str:
    """``"10"`` → ``"sea (10)"``; an unknown code stays as it is."""
    if not code:
        return "?"
    name = TRANSPORT_MODES.get(code.strip())
    return f"{name} ({code})" if name else code


@cache
def _country_name(code: str) -> str | None:
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return None
    name: str = getattr(found, "common_name", None) or found.name
    return name


def country(code: str | None) -> str:
    """``"CN"`` → ``"China (CN)"``; an unknown code stays as it is."""
    if not code:
        return "?"
    name = _country_name(code.strip().upper()) if len(code.strip()) == 2 else None
    return f"{name} ({code})" if name else code


def unit(code: str | None) -> str:
    names = dict(QUANTITY_UNITS)
    return names.get(code or "", code or "")


def percent(probability: float | None) -> str:
    """A probability as a percentage with the precision it needs: ``0.8734`` → ``"87.3 %"``."""
    if probability is None:
        return "–"
    return f"{probability * 100:.1f} %" if probability >= 0.001 else f"{probability * 100:.2g} %"
