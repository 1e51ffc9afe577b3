"""CUSDEC (customs declaration message) → the canonical ``Declaration``, several goods items each.

The mapping follows the UN/EDIFACT CUSDEC segment table (D.96B and later keep these segments and
positions): a header up to ``UNS+D``, one goods item segment group per ``CST`` up to ``UNS+S``, then the
summary (``CNT``, ``MOA``). What borderwatch reads:

| segment | element | canonical |
|---|---|---|
| BGM | 2.1 document number | ``lrn`` |
| DTM+137/182 | 1.2 date (format 1.3) | ``date``; else the ``UNB`` preparation date |
| LOC+22 (else 41, 11) | 2.1 | ``office``; else the ``UNB`` recipient |
| LOC+35 / LOC+27 | 2.1 | departure country / origin country (the header's, else the first item's) |
| CST (header) 2.1, CST (item) 3.1 | customs procedure | ``procedure.process_type`` |
| TDT+20 | 3.1 mode, 8.1 means id | ``transport.mode``, ``transport.means_id`` |
| EQD+CN 2.1, SGP 1.1 | container | ``transport.container_ids`` |
| NAD+IM/DT/SE (CZ, EX as seller) | 2.1 id (else the name), 4 name, 5-8 address, 9 country | ``parties`` |
| RFF | 1.1 qualifier, 1.2 number | ``documents`` (type = the qualifier) |
| CST (item) | 1 item number, 2.1 commodity code | ``item_no``, ``hs_code`` |
| FTX+AAA | 4 text | ``description`` |
| MEA+AAE+AAA (net, KGM) / other units | 3.2 | ``net_mass`` / ``quantity`` + ``quantity_unit`` |
| MOA+40 (else 38) | 1.2 amount, 1.3 currency (else CUX 1.2) | ``customs_value``, ``currency`` |
| TAX+1 (the CUD one, else the first) | 2.1 type, 5.4 rate | ``tax_type``, ``tax_rate`` |
| CNT+5 | 1.2 | must equal the number of goods items |
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from borderwatch.ingest.edifact.mapping import Origin, Walk, interchange_date, sections
from borderwatch.ingest.edifact.syntax import EdifactError, Message, Segment
from borderwatch.ingest.schemas import Declaration


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


SEGMENTS = _codes(
    "UNH BGM CST LOC DTM GIS EQD SEL MEA RFF PAC PCI FII NAD CTA COM MOA CUX TDT TOD TAX GIR FTX DOC DMS"
    " UNS CNT AUT QTY PIA IMD ALI GEI TCC SGP CNI TPL RCS DLI CPS UNT"
)
PARTY_QUALIFIERS = _codes("IM EX CZ CN DT SE BY CB FW CA AE PR MF WH GO DP OS SU UC AG AF DEC")
LOCATION_QUALIFIERS = _codes("1 5 7 8 9 11 13 14 18 20 22 24 25 27 28 35 36 41 42 60 76 88 89 91 125 147 198")
DATE_QUALIFIERS = _codes("3 9 35 94 97 132 133 137 178 182 186")
AMOUNT_QUALIFIERS = _codes("11 28 38 39 40 44 64 98 125 128 129 130 146 161 176 203")
MEASURE_PURPOSES = _codes("AAE WT CT AAI PD")
MEASURE_DIMENSIONS = _codes("AAA AAB AAC AAD AAE AAF AAL AAW AAX ABJ G N T")
TAX_FUNCTIONS = _codes("1 5 7 9")
TEXT_SUBJECTS = _codes("AAA AAB AAI ABL ACB AHN PAC")
TRANSPORT_STAGES = _codes("1 10 11 12 13 20 21 25")
WEIGHT_UNITS = frozenset({"KGM", "KG"})

_ROLES = {"IM": "importer", "DT": "declarant", "AE": "declarant", "SE": "seller"}
_SELLER_FALLBACK = ("CZ", "EX")


def _party(walk: Walk, segment: Segment, role: str) -> dict[str, Any]:
    prefix = f"parties.{role}"
    name = " ".join(p for p in segment.element(4) if p) or " ".join(p for p in segment.element(3) if p)
    party_id = walk.take(f"{prefix}.id", segment, 2) or name
    street = " ".join(p for p in segment.element(5) if p)
    address = ", ".join(p for p in (street, segment.value(6), segment.value(8)) if p)
    country = walk.take(f"{prefix}.country", segment, 9)
    walk.origins[f"{prefix}.name"] = walk.origins[f"{prefix}"] = walk.origins[f"{prefix}.id"]
    return {"id": party_id, "name": name or None, "address": address or None, "country": country or None}


def _item(
    walk: Walk, index: int, segments: list[Segment], currency: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """One goods item segment group → the item's fields, and its item-level locations/procedure."""
    cst = segments[0]
    key = f"items.{index}"
    number = cst.value(1)
    item: dict[str, Any] = {"item_no": number or index + 1, "hs_code": walk.take(f"{key}.hs_code", cst, 2)}
    walk.origins[f"{key}.item_no"] = walk.origins[key] = Origin(cst, 1)
    extra = {"procedure": cst.value(3)}
    value: tuple[Segment, int] | None = None  # the MOA chosen as customs value and its rank
    tax: Segment | None = None
    for segment in segments[1:]:
        tag = segment.tag
        if tag == "FTX" and walk.qualifier(segment, TEXT_SUBJECTS, "text subject qualifier (4451)") == "AAA":
            item["description"] = " ".join(p for p in segment.element(4) if p) or None
        elif tag == "LOC":
            if walk.qualifier(segment, LOCATION_QUALIFIERS, "location qualifier (3227)") == "27":
                extra["origin"] = segment.value(2)
        elif tag == "MEA":
            walk.qualifier(segment, MEASURE_PURPOSES, "measurement purpose qualifier (6311)")
            dimension = walk.qualifier(segment, MEASURE_DIMENSIONS, "measured dimension qualifier (6313)", 2)
            unit = segment.value(3)
            if unit in WEIGHT_UNITS:
                if dimension == "AAA":
                    item["net_mass"] = walk.number(f"{key}.net_mass", segment, 3, 2)
            elif unit:
                item["quantity"] = walk.number(f"{key}.quantity", segment, 3, 2)
                item["quantity_unit"] = unit
        elif tag == "MOA":
            qualifier = walk.qualifier(segment, AMOUNT_QUALIFIERS, "monetary amount qualifier (5025)")
            rank = {"40": 2, "38": 1}.get(qualifier, 0)
            if rank and (value is None or rank > value[1]):
                value = (segment, rank)
        elif tag == "TAX":
            walk.qualifier(segment, TAX_FUNCTIONS, "duty/tax/fee function qualifier (5283)")
            if tax is None or (segment.value(2) == "CUD" and tax.value(2) != "CUD"):
                tax = segment
        elif tag not in SEGMENTS:
            raise walk.fail(segment, f"{tag} is not a segment of CUSDEC")
    if value is None:
        raise walk.fail(cst, "the goods item has no customs value (MOA+40) nor invoice amount (MOA+38)")
    item["customs_value"] = walk.number(f"{key}.customs_value", value[0], 1, 2)
    item["currency"] = walk.take(f"{key}.currency", value[0], 1, 3) or currency
    if tax is not None:
        item["tax_type"] = tax.value(2) or None
        # C243's rate (5278) is element 5 component 4 in the directory; national guides that leave out the
        # assessment basis (5286) put C243 at element 4, as the shared sample does.
        at = 5 if tax.value(5, 4) else 4
        item["tax_rate"] = walk.number(f"{key}.tax_rate", tax, at, 4)
    return item, extra


def _header(walk: Walk, header: list[Segment], data: dict[str, Any]) -> dict[str, str]:
    """Read the header segments into ``data``; returns the header's locations and references."""
    found: dict[str, str] = {}
    transport, parties, documents = data["transport"], data["parties"], data["documents"]
    for segment in header:
        tag = segment.tag
        if tag == "BGM":
            data["lrn"] = walk.take("lrn", segment, 2)
        elif tag == "DTM":
            qualifier = walk.qualifier(segment, DATE_QUALIFIERS, "date/time qualifier (2005)")
            if qualifier in {"137", "182"} and "date" not in data:
                data["date"] = walk.date("date", segment)
        elif tag == "LOC":
            qualifier = walk.qualifier(segment, LOCATION_QUALIFIERS, "location qualifier (3227)")
            found.setdefault(f"loc{qualifier}", segment.value(2))
            walk.origins.setdefault(f"loc{qualifier}", Origin(segment, 2))
        elif tag == "CST":
            found["procedure"] = segment.value(2)
        elif tag == "TDT":
            walk.qualifier(segment, TRANSPORT_STAGES, "transport stage qualifier (8051)")
            transport["mode"] = walk.take("transport.mode", segment, 3) or None
            transport["means_id"] = walk.take("transport.means_id", segment, 8) or None
        elif tag == "EQD":
            if segment.value(2):
                transport["container_ids"].append(
                    walk.take(f"transport.container_ids.{len(transport['container_ids'])}", segment, 2)
                )
        elif tag == "NAD":
            code = walk.qualifier(segment, PARTY_QUALIFIERS, "party function code qualifier (3035)")
            role = _ROLES.get(code)
            if role is not None and role not in parties:
                parties[role] = _party(walk, segment, role)
            elif code in _SELLER_FALLBACK:
                found.setdefault("seller_fallback", str(header.index(segment)))
        elif tag == "RFF" and segment.value(1, 2):
            walk.origins[f"documents.{len(documents)}"] = Origin(segment, 1, 2)
            documents.append({"type": segment.value(1), "number": segment.value(1, 2)})
        elif tag == "MOA":
            walk.qualifier(segment, AMOUNT_QUALIFIERS, "monetary amount qualifier (5025)")
            found.setdefault("currency", segment.value(1, 3))
        elif tag == "CUX":
            found.setdefault("cux", segment.value(1, 2))
        elif tag == "MEA":
            walk.qualifier(segment, MEASURE_PURPOSES, "measurement purpose qualifier (6311)")
            walk.qualifier(segment, MEASURE_DIMENSIONS, "measured dimension qualifier (6313)", 2)
        elif tag not in SEGMENTS:
            raise walk.fail(segment, f"{tag} is not a segment of CUSDEC")
    if "seller" not in parties and "seller_fallback" in found:
        parties["seller"] = _party(walk, header[int(found["seller_fallback"])], "seller")
    return found


def _check_summary(walk: Walk, summary: list[Segment], items: int) -> None:
    for segment in summary:
        if segment.tag == "CNT" and segment.value(1) == "5":
            counted = segment.value(1, 2)
            if not (counted.isdigit() and int(counted) == items):
                raise walk.fail(
                    segment,
                    f"CNT+5 counts {counted or 'nothing'} goods items but the message has {items}",
                    1,
                    2,
                )
        elif segment.tag not in SEGMENTS:
            raise walk.fail(segment, f"{segment.tag} is not a segment of CUSDEC")


def read_cusdec(message: Message) -> Declaration:
    """The canonical declaration of one CUSDEC message; raises ``EdifactError`` naming the segment."""
    walk = Walk(message)
    header, groups, summary = sections(message)
    data: dict[str, Any] = {"transport": {"container_ids": []}, "parties": {}, "documents": []}
    found = _header(walk, header, data)
    if "lrn" not in data or not data["lrn"]:
        raise walk.fail(
            header[0] if header else message.segments[0],
            "the declaration has no BGM document number (its LRN)",
            2,
        )
    if "date" not in data:
        day = interchange_date(message)
        if day is None:
            raise walk.fail(
                message.segments[0], "no DTM+137 and no UNB preparation date: the declaration has no date"
            )
        data["date"] = day
    currency = found.get("currency") or found.get("cux") or None
    items, extras = [], []
    for index, group in enumerate(groups):
        item, extra = _item(walk, index, group, currency)
        items.append(item)
        extras.append(extra)
        for segment in group[1:]:
            if segment.tag == "SGP" and segment.value(1):
                data["transport"]["container_ids"].append(segment.value(1))
    if not items:
        raise walk.fail(message.segments[-1], "the declaration has no goods item (no CST after UNS+D)")
    _check_summary(walk, summary, len(items))
    office_key = next((key for key in ("loc22", "loc41", "loc11") if found.get(key)), None)
    data["office"] = found[office_key] if office_key else message.interchange.recipient
    if office_key:
        walk.origins["office"] = walk.origins[office_key]
    transport = data["transport"]
    transport["container_ids"] = list(dict.fromkeys(transport["container_ids"]))
    if found.get("loc35"):
        transport["departure_country"] = found["loc35"]
        walk.origins["transport.departure_country"] = walk.origins["loc35"]
    origin = found.get("loc27") or next((e["origin"] for e in extras if e.get("origin")), None)
    if origin:
        transport["origin_country"] = origin
    procedure = found.get("procedure") or next((e["procedure"] for e in extras if e.get("procedure")), None)
    data["procedure"] = {"process_type": procedure or None}
    data["items"] = items
    try:
        return Declaration.model_validate(data)
    except ValidationError as error:
        raise walk.refused(error) from None


__all__ = ["SEGMENTS", "EdifactError", "read_cusdec"]
