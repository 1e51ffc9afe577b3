"""A synthetic list collection of any size (up to millions of entries), to measure screening at scale.

Entries look like a consolidated sanctions collection: persons (60 %) with given, middle and family names
from several naming traditions plus generated family names (so names repeat as often as real ones do, but
not all), organisations (35 %) of two or three words and a legal form, vessels (5 %) with a valid IMO
number; a third of the entries have one or two aliases (another spelling or order). Streamed, seeded, and
writable as FollowTheMoney JSON lines so the streaming reader and the loader see a real file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from borderwatch.screening.entries import Alias, Identifier, WatchEntry

_GIVEN = [
    "mohammad",
    "ali",
    "ahmad",
    "hassan",
    "hussein",
    "omar",
    "abdullah",
    "ibrahim",
    "yusuf",
    "khalid",
    "mustafa",
    "said",
    "karim",
    "tariq",
    "samir",
    "nasser",
    "ivan",
    "sergei",
    "dmitri",
    "alexei",
    "mikhail",
    "nikolai",
    "andrei",
    "vladimir",
    "oleg",
    "yuri",
    "pavel",
    "igor",
    "viktor",
    "anatoly",
    "boris",
    "wei",
    "jun",
    "li",
    "ming",
    "hui",
    "jian",
    "hong",
    "xiao",
    "lei",
    "yong",
    "chen",
    "hua",
    "kim",
    "min",
    "jae",
    "sung",
    "young",
    "chol",
    "hyun",
    "john",
    "james",
    "robert",
    "michael",
    "david",
    "william",
    "richard",
    "joseph",
    "thomas",
    "charles",
    "maria",
    "anna",
    "elena",
    "olga",
    "fatima",
    "aisha",
    "carlos",
    "jose",
    "luis",
    "juan",
    "miguel",
    "jorge",
    "pedro",
    "manuel",
    "antonio",
    "rafael",
    "reza",
    "mehdi",
    "hamid",
    "ali-reza",
    "javad",
    "majid",
]
_FAMILY = [
    "smith",
    "johnson",
    "garcia",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "perez",
    "sanchez",
    "ramirez",
    "torres",
    "flores",
    "ivanov",
    "petrov",
    "sidorov",
    "smirnov",
    "kuznetsov",
    "popov",
    "volkov",
    "sokolov",
    "morozov",
    "novikov",
    "fedorov",
    "orlov",
    "wang",
    "li",
    "zhang",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "kim",
    "lee",
    "park",
    "choi",
    "jung",
    "kang",
    "cho",
    "al-rashid",
    "al-hassan",
    "haddad",
    "khoury",
    "nasser",
    "mansour",
    "saleh",
    "hamdan",
    "darwish",
    "karimi",
    "hosseini",
    "rahimi",
    "moradi",
]
_SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "ha",
    "se",
    "lu",
    "an",
    "to",
    "bi",
    "ne",
    "za",
    "qu",
    "or",
    "di",
    "va",
    "le",
    "ti",
    "so",
    "ra",
    "mi",
    "no",
    "ba",
    "ke",
    "ro",
    "sa",
    "de",
    "gu",
    "fa",
    "li",
    "na",
    "te",
    "ya",
]
_ORG_WORDS = [
    "global",
    "trading",
    "shipping",
    "petro",
    "marine",
    "star",
    "ocean",
    "gulf",
    "eastern",
    "western",
    "united",
    "industrial",
    "energy",
    "metal",
    "steel",
    "logistics",
    "capital",
    "invest",
    "holding",
    "technology",
    "systems",
    "pharma",
    "chemical",
    "export",
    "import",
    "national",
    "alpha",
    "delta",
    "orient",
    "pacific",
    "atlantic",
    "sun",
    "crescent",
    "golden",
    "silver",
    "royal",
    "new",
    "grand",
    "north",
    "south",
]
_LEGAL = ("LLC", "LTD", "CO., LTD.", "JSC", "FZE", "GMBH", "S.A.", "INC", "PLC", "OOO")


def _generated(rng: random.Random) -> str:
    return "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4)))


def _imo(rng: random.Random) -> str:
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(5)]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1), strict=True)) % 10
    return "".join(map(str, digits)) + str(check)


def _person(rng: random.Random) -> tuple[str, list[str]]:
    family = rng.choice(_FAMILY) if rng.random() < 0.5 else _generated(rng)
    given = rng.choice(_GIVEN)
    middle = f" {rng.choice(_GIVEN).title()}" if rng.random() < 0.4 else ""
    name = f"{family.upper()}, {given.title()}{middle}"
    aliases = []
    if rng.random() < 0.33:
        aliases.append(f"{given.title()}{middle} {family.title()}")
        if rng.random() < 0.5:
            vowel = rng.choice("aeiou")
            aliases.append(f"{given.title()} {family.replace(vowel, rng.choice('aeiouy'), 1).title()}")
    return name, aliases


def _organisation(rng: random.Random) -> tuple[str, list[str]]:
    words = [
        rng.choice(_ORG_WORDS) if rng.random() < 0.6 else _generated(rng) for _ in range(rng.randint(2, 3))
    ]
    name = " ".join(words).upper() + " " + rng.choice(_LEGAL)
    aliases = [" ".join(reversed(words)).upper()] if rng.random() < 0.2 else []
    return name, aliases


def synthetic_entries(count: int, *, seed: int = 14, list_name: str = "synthetic") -> Iterator[WatchEntry]:
    """``count`` synthetic entries, one at a time (see the module docstring)."""
    rng = random.Random(seed)
    for number in range(count):
        draw = rng.random()
        identifiers: tuple[Identifier, ...] = ()
        if draw < 0.6:
            kind = "person"
            name, aliases = _person(rng)
        elif draw < 0.95:
            kind = "organization"
            name, aliases = _organisation(rng)
        else:
            kind = "vessel"
            name = f"{rng.choice(_ORG_WORDS).upper()} {_generated(rng).upper()}"
            aliases = []
            identifiers = (Identifier("IMO", _imo(rng)),)
        yield WatchEntry(
            entity_id=f"{list_name}:{number}",
            list_name=list_name,
            kind=kind,
            name=name,
            aliases=tuple(Alias(a) for a in aliases),
            identifiers=identifiers,
        )


_FTM_SCHEMA = {"person": "Person", "organization": "Organization", "vessel": "Vessel"}


def write_ftm_jsonl(entries: Iterable[WatchEntry], path: Path) -> int:
    """Write ``entries`` as FollowTheMoney JSON lines (the OpenSanctions export format); returns the count."""
    written = 0
    with path.open("w", encoding="utf-8") as handle:
        for entry in entries:
            properties: dict[str, list[str]] = {"name": [entry.name]}
            if entry.aliases:
                properties["alias"] = [a.name for a in entry.aliases]
            imo = [i.value for i in entry.identifiers if i.type == "IMO"]
            if imo:
                properties["imoNumber"] = imo
            record = {
                "id": entry.entity_id.split(":", 1)[1],
                "schema": _FTM_SCHEMA.get(entry.kind, "LegalEntity"),
                "datasets": [entry.list_name],
                "properties": properties,
            }
            handle.write(json.dumps(record) + "\n")
            written += 1
    return written
