"""A watchlist entry as borderwatch understands it, whatever list and format it came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import pycountry


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    weak: bool = False
    type: str = "aka"


@dataclass(frozen=True, slots=True)
class Identifier:
    type: str
    value: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    text: str
    country: str | None = None


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One listed person, organisation, vessel or aircraft.

    ``entity_id`` is ``<list>:<id in the list>`` and stable across reloads of the same list; ``dobs`` are ISO
    dates or their prefixes (``1965``, ``1965-06``) because lists often know only the year.
    """

    entity_id: str
    list_name: str
    kind: str
    name: str
    aliases: tuple[Alias, ...] = ()
    programmes: tuple[str, ...] = ()
    dobs: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    addresses: tuple[Address, ...] = ()
    remarks: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[Alias]:
        """The primary name (as a strong alias of type ``name``) followed by the aliases."""
        return [Alias(self.name, weak=False, type="name"), *self.aliases]

    def content_hash(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


_COUNTRY_FIXES = {
    "russia": "RU",
    "iran": "IR",
    "syria": "SY",
    "north korea": "KP",
    "korea, north": "KP",
    "south korea": "KR",
    "democratic republic of the congo": "CD",
    "congo, democratic republic of the": "CD",
    "burma": "MM",
    "turkey": "TR",
    "vietnam": "VN",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "palestinian": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "kosovo": "XK",
    "united kingdom": "GB",
    "uk": "GB",
    "united states": "US",
    "usa": "US",
}


@lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 code for a country name or code as lists write it, or ``None`` when unknown."""
    if not value:
        return None
    text = value.strip().strip(".").strip()
    if not text:
        return None
    lowered = text.lower()
    if lowered in _COUNTRY_FIXES:
        return _COUNTRY_FIXES[lowered]
    for key, code in _COUNTRY_FIXES.items():
        if lowered.startswith(key):
            return code
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        pass
    try:
        found = pycountry.countries.search_fuzzy(text)
    except LookupError:
        return None
    return str(found[0].alpha_2) if found else None
