"""Readers of published watchlist formats into ``WatchEntry`` records.

Each reader either returns every entry of its file or raises ``ConfigError`` naming the file and the problem;
it never returns a partial list, so a malformed file cannot replace a good list version.

- OFAC SDN legacy CSV: ``sdn.csv`` (primary records) with ``alt.csv`` (aliases) and ``add.csv`` (addresses)
  beside it; ``-0-`` means empty; weak aliases are the quoted ``a.k.a. '...'`` of the remarks.
- UN Security Council consolidated list XML (parsed with defusedxml: no entities, no external resources).
- BIS Denied Persons List (tab-separated, one row per name and address).
- FollowTheMoney entities as JSON lines (the OpenSanctions export format).
- A plain CSV for an agency's own list: ``id``, ``name`` and optional ``kind``, ``aliases`` (``;``-separated),
  ``date_of_birth``, ``nationality``, ``programme``, ``identifiers`` (``type:value;...``), ``address``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse as safe_parse

from borderwatch.core.errors import ConfigError
from borderwatch.screening.entries import Address, Alias, Identifier, WatchEntry, country_code
from borderwatch.screening.identifiers import imo_numbers_in_text

OFAC_SDN_COLUMNS = 12
OFAC_ALT_COLUMNS = 5
OFAC_ADD_COLUMNS = 6
BIS_COLUMNS = ("Name", "Street_Address", "City", "State", "Country", "Postal_Code")
NATIONAL_COLUMNS = ("id", "name")

_EMPTY = "-0-"
_WEAK_AKA = re.compile(r"a\.k\.a\.\s*'([^']+)'")
_DOB = re.compile(r"^DOB\s+(.+)$")
_ID_REMARK = re.compile(
    r"^(Passport|National ID No\.|Tax ID No\.|Registration Number|Registration ID|IMO|"
    r"Vessel Registration Identification|Cedula No\.|Identification Number|SSN|Business Registration Number|"
    r"Aircraft Tail Number|Aircraft Manufacturer's Serial Number \(MSN\)|Company Number)"
    r"\s+(\S[^()]*?)\s*(?:\(([^)]+)\))?\.?$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}

OFAC_KINDS = {"individual": "person", "vessel": "vessel", "aircraft": "aircraft", "": "organization"}


def _clean(value: str | None) -> str:
    text = (value or "").strip()
    return "" if text == _EMPTY else text


def parse_date_text(text: str) -> list[str]:
    """ISO dates or prefixes from list text: ``10 Dec 1948``, ``1948``, ``circa 1960``, ``1960 to 1962``."""
    text = text.replace("circa", "").replace("Circa", "").strip()
    out: list[str] = []
    for part in re.split(r"\s+to\s+|;|,", text):
        bits = part.strip().split()
        if len(bits) == 3 and bits[1][:3] in _MONTHS and bits[0].isdigit() and bits[2].isdigit():
            out.append(f"{int(bits[2]):04d}-{_MONTHS[bits[1][:3]]:02d}-{int(bits[0]):02d}")
        elif len(bits) == 2 and bits[0][:3] in _MONTHS and bits[1].isdigit():
            out.append(f"{int(bits[1]):04d}-{_MONTHS[bits[0][:3]]:02d}")
        elif len(bits) == 1 and re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", bits[0]):
            out.append(bits[0])
    return out


def _read_csv_rows(path: Path, *, columns: int, delimiter: str = ",") -> list[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            # OFAC files end with a DOS end-of-file mark (0x1A) on a line of its own.
            rows = [r for r in csv.reader(handle, delimiter=delimiter) if any(c.strip("\x1a \t") for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(path=str(path), reason=f"cannot be read ({error})") from error
    for number, row in enumerate(rows, start=1):
        if len(row) < columns:
            raise ConfigError(
                path=str(path), reason=f"line {number} has {len(row)} columns, the format needs {columns}"
            )
    return rows


def _ofac_remarks(remarks: str) -> tuple[list[str], list[str], list[Identifier], list[Alias]]:
    dobs: list[str] = []
    nationalities: list[str] = []
    identifiers: list[Identifier] = []
    weak = [Alias(name=m.strip(), weak=True) for m in _WEAK_AKA.findall(remarks)]
    for clause in remarks.split(";"):
        part = clause.strip().rstrip(".").removeprefix("alt. ").strip()
        if match := _DOB.match(part):
            dobs.extend(parse_date_text(match.group(1)))
        elif part.startswith(("nationality ", "citizen ")):
            code = country_code(part.split(" ", 1)[1])
            if code:
                nationalities.append(code)
        elif match := _ID_REMARK.match(part):
            identifiers.append(
                Identifier(
                    type=match.group(1).rstrip("."), value=match.group(2).strip(), country=match.group(3)
                )
            )
    return dobs, nationalities, identifiers, weak


def _sibling(sdn: Path, part: str) -> Path:
    name = sdn.name.replace("sdn", part) if "sdn" in sdn.name else f"{part}.csv"
    return sdn.with_name(name)


OFAC_PARTS = ("sdn", "alt", "add")
_OFAC_ALIAS_TYPES = frozenset({"aka", "fka", "nka"})


def ofac_part(path: Path) -> str | None:
    """Which file of the OFAC legacy CSV set ``path`` is (``sdn``, ``alt`` or ``add``), from its content.

    The first record decides: an entry number then 12 columns (``sdn``), 5 columns with an alias type
    ``aka``/``fka``/``nka`` (``alt``), or 6 columns (``add``). ``None`` when it is none of them.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                if not any(c.strip("\x1a \t") for c in row):
                    continue
                if not row[0].strip().isdigit():
                    return None
                if len(row) == OFAC_SDN_COLUMNS:
                    return "sdn"
                if len(row) == OFAC_ALT_COLUMNS and _clean(row[2]).lower() in _OFAC_ALIAS_TYPES:
                    return "alt"
                if len(row) == OFAC_ADD_COLUMNS and row[1].strip().isdigit():
                    return "add"
                return None
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def read_ofac(paths: Iterable[Path], *, list_name: str = "ofac_sdn") -> list[WatchEntry]:
    """The OFAC SDN list from its files given in any order and combination (each recognised by content).

    An ``sdn`` file is required; ``alt`` (aliases) and ``add`` (addresses) files are joined to it when given,
    and when only the ``sdn`` file is given its siblings named ``alt``/``add`` are read if present.
    """
    parts: dict[str, Path] = {}
    for path in paths:
        # A file whose content fits no part keeps the part its name says, so its reader names the bad line.
        part = ofac_part(path) or next((p for p in OFAC_PARTS if p in path.name.lower()), None)
        if part is None:
            raise ConfigError(path=str(path), reason="is not an OFAC sdn, alt or add CSV file")
        if part in parts and parts[part] != path:
            raise ConfigError(path=str(path), reason=f"is a second OFAC {part} file (first: {parts[part]})")
        parts[part] = path
    if "sdn" not in parts:
        given = ", ".join(str(p) for p in parts.values())
        raise ConfigError(path=given, reason="an OFAC alt or add file needs its sdn file in the same load")
    sdn = parts["sdn"]
    if len(parts) == 1:
        for part in ("alt", "add"):
            sibling = _sibling(sdn, part)
            if sibling != sdn and sibling.exists() and ofac_part(sibling) == part:
                parts[part] = sibling
    return _read_ofac_parts(sdn, parts.get("alt"), parts.get("add"), list_name=list_name)


def read_ofac_sdn(path: Path, *, list_name: str = "ofac_sdn") -> list[WatchEntry]:
    """OFAC SDN legacy CSV; ``alt`` and ``add`` files beside ``path`` are read when present."""
    return read_ofac([path], list_name=list_name)


def _read_ofac_parts(
    path: Path, alt_path: Path | None, add_path: Path | None, *, list_name: str
) -> list[WatchEntry]:
    aliases: dict[str, list[Alias]] = defaultdict(list)
    if alt_path is not None:
        for row in _read_csv_rows(alt_path, columns=OFAC_ALT_COLUMNS):
            aliases[row[0].strip()].append(Alias(name=_clean(row[3]), type=_clean(row[2]) or "aka"))
    addresses: dict[str, list[Address]] = defaultdict(list)
    if add_path is not None:
        for row in _read_csv_rows(add_path, columns=OFAC_ADD_COLUMNS):
            country = _clean(row[4])
            text = ", ".join(p for p in (_clean(row[2]), _clean(row[3]), country) if p)
            if text:
                addresses[row[0].strip()].append(Address(text=text, country=country_code(country)))
    entries = []
    for row in _read_csv_rows(path, columns=OFAC_SDN_COLUMNS):
        ent_num = row[0].strip()
        if not ent_num.isdigit():
            raise ConfigError(
                path=str(path), item=ent_num, reason="the first column is not an SDN entry number"
            )
        remarks = _clean(row[11])
        dobs, nationalities, identifiers, weak = _ofac_remarks(remarks)
        if _clean(row[5]):  # a vessel's call sign
            identifiers.append(
                Identifier(type="Call Sign", value=_clean(row[5]), country=_clean(row[9]) or None)
            )
        entries.append(
            WatchEntry(
                entity_id=f"ofac:{ent_num}",
                list_name=list_name,
                kind=OFAC_KINDS.get(_clean(row[2]).lower(), "organization"),
                name=_clean(row[1]),
                aliases=tuple(a for a in (*aliases.get(ent_num, ()), *weak) if a.name),
                programmes=tuple(
                    p.strip() for p in _clean(row[3]).replace("] [", ";").split(";") if p.strip()
                ),
                dobs=tuple(dobs),
                nationalities=tuple(dict.fromkeys(nationalities)),
                identifiers=tuple(identifiers),
                addresses=tuple(addresses.get(ent_num, ())),
                remarks=remarks or None,
            )
        )
    if not entries:
        raise ConfigError(path=str(path), reason="holds no SDN records")
    return entries


def _text(element: Element | None, tag: str) -> str:
    if element is None:
        return ""
    found = element.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def _un_entry(node: Element, *, person: bool, list_name: str) -> WatchEntry:
    parts = [_text(node, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    name = " ".join(p for p in parts if p)
    prefix = "INDIVIDUAL" if person else "ENTITY"
    aliases = []
    for alias in node.findall(f"{prefix}_ALIAS"):
        alias_name = _text(alias, "ALIAS_NAME")
        if alias_name:
            aliases.append(Alias(name=alias_name, weak=_text(alias, "QUALITY").lower() == "low"))
    original = _text(node, "NAME_ORIGINAL_SCRIPT")
    if original:
        aliases.append(Alias(name=original, type="original script"))
    dobs: list[str] = []
    for dob in node.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        if _text(dob, "DATE"):
            dobs.append(_text(dob, "DATE")[:10])
        elif _text(dob, "YEAR"):
            dobs.append(_text(dob, "YEAR"))
        elif _text(dob, "FROM_YEAR") and _text(dob, "TO_YEAR"):
            dobs.extend(str(y) for y in range(int(_text(dob, "FROM_YEAR")), int(_text(dob, "TO_YEAR")) + 1))
    nationalities = [
        code
        for value in node.findall("NATIONALITY/VALUE")
        if (code := country_code((value.text or "").strip())) is not None
    ]
    identifiers = [
        Identifier(
            type=_text(doc, "TYPE_OF_DOCUMENT") or "document",
            value=_text(doc, "NUMBER"),
            country=country_code(_text(doc, "ISSUING_COUNTRY") or _text(doc, "COUNTRY_OF_ISSUE")),
        )
        for doc in node.findall("INDIVIDUAL_DOCUMENT")
        if _text(doc, "NUMBER")
    ]
    identifiers += [
        Identifier(type="IMO", value=number) for number in imo_numbers_in_text(_text(node, "COMMENTS1"))
    ]
    addresses = []
    for address in node.findall(f"{prefix}_ADDRESS"):
        fields = [_text(address, t) for t in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY")]
        text = ", ".join(f for f in fields if f)
        if text:
            addresses.append(Address(text=text, country=country_code(_text(address, "COUNTRY"))))
    data_id = _text(node, "DATAID")
    if not data_id or not name:
        raise ValueError(f"{prefix} without DATAID or name (reference {_text(node, 'REFERENCE_NUMBER')!r})")
    return WatchEntry(
        entity_id=f"un:{data_id}",
        list_name=list_name,
        kind="person" if person else "organization",
        name=name,
        aliases=tuple(aliases),
        programmes=tuple(p for p in (_text(node, "UN_LIST_TYPE"),) if p),
        dobs=tuple(dict.fromkeys(dobs)),
        nationalities=tuple(dict.fromkeys(nationalities)),
        identifiers=tuple(identifiers),
        addresses=tuple(addresses),
        remarks=_text(node, "COMMENTS1") or None,
        extra={"reference": _text(node, "REFERENCE_NUMBER")},
    )


def read_un_consolidated(path: Path, *, list_name: str = "un_sc") -> list[WatchEntry]:
    """UN Security Council consolidated list XML."""
    try:
        root = safe_parse(str(path)).getroot()
        if root is None:
            raise ParseError("no root element")
    except (ParseError, DefusedXmlException, OSError) as error:
        raise ConfigError(path=str(path), reason=f"is not well-formed, safe XML ({error})") from error
    if root.tag != "CONSOLIDATED_LIST":
        raise ConfigError(
            path=str(path), reason=f"root element is <{root.tag}>, expected <CONSOLIDATED_LIST>"
        )
    entries = []
    try:
        for node in root.findall("INDIVIDUALS/INDIVIDUAL"):
            entries.append(_un_entry(node, person=True, list_name=list_name))
        for node in root.findall("ENTITIES/ENTITY"):
            entries.append(_un_entry(node, person=False, list_name=list_name))
    except ValueError as error:
        raise ConfigError(path=str(path), reason=str(error)) from error
    if not entries:
        raise ConfigError(path=str(path), reason="holds no INDIVIDUAL or ENTITY records")
    return entries


def _dict_rows(path: Path, *, required: Iterable[str], delimiter: str) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in required if c not in header]
            if missing:
                raise ConfigError(path=str(path), reason=f"missing column(s) {', '.join(missing)}")
            return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(path=str(path), reason=f"cannot be read ({error})") from error


def read_bis_dpl(path: Path, *, list_name: str = "bis_dpl") -> list[WatchEntry]:
    """BIS Denied Persons List (tab-separated); rows of the same name become one entry with its addresses."""
    rows = _dict_rows(path, required=BIS_COLUMNS, delimiter="\t")
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["Name"]:
            grouped[row["Name"].strip()].append(row)
    if not grouped:
        raise ConfigError(path=str(path), reason="holds no named records")
    entries = []
    for name, group in grouped.items():
        addresses = []
        for row in group:
            fields = [row.get(c, "") for c in ("Street_Address", "City", "State", "Postal_Code", "Country")]
            text = ", ".join(f for f in fields if f)
            if text:
                addresses.append(Address(text=text, country=country_code(row.get("Country")) or None))
        digest = hashlib.sha1(name.upper().encode()).hexdigest()[:12]
        entries.append(
            WatchEntry(
                entity_id=f"bis:{digest}",
                list_name=list_name,
                kind="person",
                name=name,
                programmes=("Denied Persons",),
                addresses=tuple(dict.fromkeys(addresses)),
                remarks=group[0].get("FR_Citation") or None,
                extra={"effective": group[0].get("Effective_Date", "")},
            )
        )
    return entries


_FTM_KINDS = {
    "Person": "person",
    "Organization": "organization",
    "Company": "organization",
    "LegalEntity": "organization",
    "PublicBody": "organization",
    "Vessel": "vessel",
    "Airplane": "aircraft",
}
_FTM_IDS = (
    "idNumber",
    "passportNumber",
    "registrationNumber",
    "taxNumber",
    "imoNumber",
    "innCode",
    "swiftBic",
)


def _ftm_entry(record: dict[str, Any], *, list_name: str | None, default_list: str) -> WatchEntry | None:
    schema = record["schema"]
    if schema not in _FTM_KINDS:
        return None  # relations (Ownership, Sanction, ...) are not screened
    props: dict[str, list[str]] = record.get("properties") or {}
    entity_id = str(record["id"])
    names = props.get("name") or ([record["caption"]] if record.get("caption") else [])
    if not names:
        raise ValueError("entity has no name")
    dataset = list_name or (record.get("datasets") or [default_list])[0]
    aliases = [Alias(n) for n in names[1:]] + [Alias(n) for n in props.get("alias", [])]
    aliases += [Alias(n, weak=True) for n in props.get("weakAlias", [])]
    return WatchEntry(
        entity_id=f"ftm:{entity_id}",
        list_name=dataset,
        kind=_FTM_KINDS[schema],
        name=names[0],
        aliases=tuple(aliases),
        programmes=tuple(props.get("program", []) + props.get("programId", [])),
        dobs=tuple(d[:10] for d in props.get("birthDate", [])),
        nationalities=tuple(
            c for v in props.get("nationality", []) + props.get("citizenship", []) if (c := country_code(v))
        ),
        identifiers=tuple(Identifier(type=k, value=v) for k in _FTM_IDS for v in props.get(k, [])),
        addresses=tuple(Address(text=a) for a in props.get("address", [])),
        remarks="; ".join(props.get("notes", [])) or None,
    )


def iter_ftm_jsonl(path: Path, *, list_name: str | None = None) -> Iterator[WatchEntry]:
    """FollowTheMoney entities of ``path`` one at a time, reading one line at a time (bounded memory).

    A malformed line raises ``ConfigError`` naming its line number when the iteration reaches it, so a
    caller that writes as it reads must do so in a transaction it can roll back.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = _ftm_entry(json.loads(line), list_name=list_name, default_list=path.stem)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
                    raise ConfigError(
                        path=str(path), item=f"line {number}", reason=f"not an FtM entity ({error})"
                    ) from error
                if entry is not None:
                    yield entry
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path=str(path), reason=f"cannot be read ({error})") from error


def read_ftm_jsonl(path: Path, *, list_name: str | None = None) -> list[WatchEntry]:
    """FollowTheMoney entities, one JSON object a line (OpenSanctions ``entities.ftm.json``)."""
    entries = list(iter_ftm_jsonl(path, list_name=list_name))
    if not entries:
        raise ConfigError(path=str(path), reason="holds no FtM Person, Organization, Company or Vessel")
    return entries


def read_national_csv(path: Path, *, list_name: str | None = None) -> list[WatchEntry]:
    """An agency's own list as plain CSV (see the module docstring for the columns)."""
    rows = _dict_rows(path, required=NATIONAL_COLUMNS, delimiter=",")
    name_of_list = list_name or path.stem
    entries = []
    for number, row in enumerate(rows, start=2):
        if not row["id"] or not row["name"]:
            raise ConfigError(path=str(path), item=f"line {number}", reason="id and name must not be empty")
        identifiers = []
        for item in filter(None, (p.strip() for p in row.get("identifiers", "").split(";"))):
            kind, _, value = item.partition(":")
            identifiers.append(
                Identifier(type=kind.strip() if value else "id", value=(value or kind).strip())
            )
        entries.append(
            WatchEntry(
                entity_id=f"{name_of_list}:{row['id']}",
                list_name=name_of_list,
                kind=row.get("kind") or "person",
                name=row["name"],
                aliases=tuple(Alias(a.strip()) for a in row.get("aliases", "").split(";") if a.strip()),
                programmes=tuple(p for p in (row.get("programme"),) if p),
                dobs=tuple(d for d in (row.get("date_of_birth"),) if d),
                nationalities=tuple(c for c in (country_code(row.get("nationality")),) if c),
                identifiers=tuple(identifiers),
                addresses=tuple(Address(text=a) for a in (row.get("address"),) if a),
            )
        )
    if not entries:
        raise ConfigError(path=str(path), reason="holds no entries")
    return entries


READERS: dict[str, Callable[..., list[WatchEntry]]] = {
    "ofac": read_ofac_sdn,
    "un": read_un_consolidated,
    "bis": read_bis_dpl,
    "ftm": read_ftm_jsonl,
    "csv": read_national_csv,
}


def detect_format(path: Path) -> str:
    """Which reader fits ``path``, from its name and first line (OFAC files from their columns)."""
    name = path.name.lower()
    if name.endswith(".xml"):
        return "un"
    if name.endswith((".json", ".jsonl", ".ndjson")):
        return "ftm"
    try:
        with path.open(encoding="utf-8-sig") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path=str(path), reason=f"cannot be read ({error})") from error
    if "\t" in first and "Name" in first:
        return "bis"
    if ofac_part(path) is not None or "sdn" in name or re.match(r"^\d+,\"", first):
        return "ofac"
    return "csv"


def read_list(path: Path, *, fmt: str | None = None, list_name: str | None = None) -> list[WatchEntry]:
    """Every entry of the list file ``path`` (format detected unless ``fmt`` is given)."""
    if not path.exists():
        raise ConfigError(path=str(path), reason="does not exist")
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise ConfigError(path=str(path), reason=f"unknown list format {fmt!r} (one of {', '.join(READERS)})")
    reader = READERS[fmt]
    return reader(path, list_name=list_name) if list_name else reader(path)


def group_list_files(paths: Sequence[Path], *, fmt: str | None = None) -> list[tuple[str, list[Path]]]:
    """The files of one load grouped into lists: (format, files) in the order first met.

    The OFAC files (``sdn``, ``alt``, ``add``, recognised by content, in any order) form one group; every
    other file is a group of its own.
    """
    groups: list[tuple[str, list[Path]]] = []
    ofac: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(path=str(path), reason="does not exist")
        kind = fmt or detect_format(path)
        if kind == "ofac":
            if not ofac:
                groups.append(("ofac", ofac))
            ofac.append(path)
        else:
            groups.append((kind, [path]))
    return groups


def read_list_files(
    paths: Sequence[Path], *, fmt: str | None = None, list_name: str | None = None
) -> list[WatchEntry]:
    """Every entry of one group of files from ``group_list_files`` (the OFAC set, or one other file)."""
    kind = fmt or detect_format(paths[0])
    if kind == "ofac":
        return read_ofac(paths, list_name=list_name) if list_name else read_ofac(paths)
    if len(paths) != 1:
        raise ConfigError(path=", ".join(map(str, paths)), reason="only OFAC lists span several files")
    return read_list(paths[0], fmt=kind, list_name=list_name)
