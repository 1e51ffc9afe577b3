"""Number plates: normalisation per country format, OCR-confusion repair and the confusion key.

A plate is stored as its characters without spaces or separators, upper case (``AB12 CDE`` → ``AB12CDE``);
the text as read is kept beside it. Each country has templates of character classes (``A`` a letter, ``9`` a
digit, ``X`` either): when a read fits a template only after swapping look-alikes (O/0, I/1, B/8, S/5, Z/2,
G/6, Q/D/0), the swaps are made and counted as repairs, and the read's confidence drops with each. Plates of
countries without a template (or of no known country) are cleaned but not repaired.

The *confusion key* maps every look-alike to one character (``O``, ``Q``, ``D`` → ``0``; ``I`` → ``1``...), so
two reads an OCR engine could confuse share a key: hotlist matching and journey joins use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

# Look-alikes an ANPR or OCR engine swaps, in each direction.
TO_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6",
                          "B": "8", "T": "7", "A": "4"})  # fmt: skip
TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"})
KEY_MAP = {"O": "0", "Q": "0", "D": "0", "I": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
_KEY = str.maketrans(KEY_MAP)
_SEPARATORS = re.compile(r"[\s\-_.·•:|/\\]+")
_PLATE = re.compile(r"^[A-Z0-9]{2,12}$")
# Each repair costs this share of the read's confidence: a repaired read is less certain than a clean one.
REPAIR_PENALTY = 0.05
MAX_LENGTH = 12


def _expand(pattern: str) -> tuple[str, ...]:
    """``"A{1,3}9{1,4}"``-style patterns as every fixed template they allow."""
    parts = re.findall(r"([A9X])(?:\{(\d),(\d)\})?", pattern)
    choices = [
        [cls * n for n in range(int(low), int(high) + 1)] if low else [cls] for cls, low, high in parts
    ]
    return tuple(dict.fromkeys("".join(p) for p in product(*choices)))


def _templates(*patterns: str) -> tuple[str, ...]:
    return tuple(t for pattern in patterns for t in _expand(pattern))


# Current formats (most common first: a tie between templates goes to the first). Sources: each country's
# registration rules as published by its licensing authority (DVLA, ANTS, KBA, RDW, DGT, ...).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "GB": _templates("AA99AAA"),
    "FR": _templates("AA999AA"),
    "IT": _templates("AA999AA"),
    "ES": _templates("9999AAA"),
    "PT": _templates("AA99AA", "99AA99", "99AA99", "AA9999"),
    "BE": _templates("9AAA999"),
    "DE": _templates("A{1,3}A{1,2}9{1,4}"),
    "AT": _templates("A{1,2}9{3,5}A{1,2}"),
    "NL": _templates(
        "99AAA9", "9AAA99", "AA999A", "A999AA", "AAA99A", "A99AAA", "9AA999", "999AA9", "99AA99", "AA99AA"
    ),
    "PL": _templates("AA99999", "AA9999A", "AAA9999", "AAA999A", "AA999AA", "AAA99AA"),
    "CZ": _templates("9A99999", "9AA9999"),
    "RO": _templates("A999AAA", "A99AAA", "AA99AAA"),
    "BG": _templates("AA9999AA", "A9999AA"),
    "UA": _templates("AA9999AA"),
    "TR": _templates("99A9999", "99A99999", "99AA999", "99AA9999", "99AAA99", "99AAA999"),
    "RS": _templates("AA999AA", "AA9999AA"),
    "CA": _templates("AAAA999", "AAA999", "999AAA", "AAA9999"),
    "MX": _templates("AAA999A", "AAA9999", "AA99999", "999AAA9"),
    "US": (),  # formats differ by state: cleaned, not repaired
}


@dataclass(frozen=True, slots=True)
class Plate:
    """A read normalised: the plate, its country, what was read, the repairs and the resulting confidence."""

    plate: str
    country: str | None
    original: str
    repairs: tuple[str, ...] = ()
    template: str | None = None
    confidence: float = 1.0

    @property
    def key(self) -> str:
        return confusion_key(self.plate)

    @property
    def fits(self) -> bool:
        """Whether the plate fits one of its country's formats (``False`` too when none is known)."""
        return self.template is not None


class PlateError(ValueError):
    """Text that cannot be a plate (empty, too long, not letters and digits)."""


def clean(text: str) -> str:
    """Upper case, accents and full-width forms folded (NFKD), separators and spaces dropped."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _SEPARATORS.sub("", folded).upper()


def confusion_key(plate: str) -> str:
    """One character per class of look-alikes: reads an OCR engine could confuse share their key."""
    return plate.translate(_KEY)


def _fit(text: str, template: str) -> list[str] | None:
    """The repairs that make ``text`` fit ``template`` (``None`` if it cannot)."""
    repairs = []
    for index, (char, cls) in enumerate(zip(text, template, strict=True)):
        if cls == "A" and char.isdigit():
            new = char.translate(TO_LETTER)
        elif cls == "9" and char.isalpha():
            new = char.translate(TO_DIGIT)
        else:
            continue
        if new == char:
            return None
        repairs.append(f"{index + 1}:{char}>{new}")
    return repairs


def _apply(text: str, repairs: list[str]) -> str:
    chars = list(text)
    for repair in repairs:
        position, change = repair.split(":")
        chars[int(position) - 1] = change[-1]
    return "".join(chars)


@lru_cache(maxsize=200_000)
def _normalise(text: str, country: str | None) -> tuple[str, tuple[str, ...], str | None]:
    cleaned = clean(text)
    if not _PLATE.match(cleaned):
        reason = "is empty" if not cleaned else None
        if reason is None and len(cleaned) > MAX_LENGTH:
            reason = f"is longer than {MAX_LENGTH} characters"
        raise PlateError(reason or "holds characters that are not letters or digits")
    best: tuple[list[str], str] | None = None
    for template in TEMPLATES.get(country or "", ()):
        if len(template) != len(cleaned):
            continue
        repairs = _fit(cleaned, template)
        if repairs is not None and (best is None or len(repairs) < len(best[0])):
            best = (repairs, template)
            if not repairs:
                break
    if best is None:
        return cleaned, (), None
    repairs, template = best
    return _apply(cleaned, repairs), tuple(repairs), template


def normalise(text: str, country: str | None = None, *, confidence: float = 1.0) -> Plate:
    """``text`` as a plate of ``country`` (ISO 3166 alpha-2 or ``None``); ``PlateError`` if it cannot be one.

    Repairs are given as ``position:old>new`` (1-based), e.g. ``3:O>0``.
    """
    country = country.strip().upper() if country else None
    plate, repairs, template = _normalise(text, country or None)
    penalty = (1.0 - REPAIR_PENALTY) ** len(repairs)
    return Plate(
        plate=plate,
        country=country or None,
        original=text,
        repairs=repairs,
        template=template,
        confidence=round(confidence * penalty, 4),
    )


def guess_country(text: str, candidates: tuple[str, ...] = tuple(TEMPLATES)) -> list[tuple[str, int]]:
    """Countries whose formats ``text`` fits, with the repairs each needs, fewest first (for OCR without a
    country band)."""
    found = []
    for country in candidates:
        if not TEMPLATES.get(country):
            continue
        try:
            plate = _normalise(text, country)
        except PlateError:
            return []
        if plate[2] is not None:
            found.append((country, len(plate[1])))
    return sorted(found, key=lambda item: item[1])
