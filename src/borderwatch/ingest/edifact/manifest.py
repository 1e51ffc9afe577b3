"""CUSCAR (customs cargo report) and IFTMCS (instruction contract status) → manifest lines.

Both carry the same facts for reconciliation, in the UN/EDIFACT directories' segment groups: the voyage
(``TDT``: voyage number 2, carrier 5.1, means 8.1), the ports (``LOC+9`` loading, ``LOC+11`` discharge), the
arrival (``DTM+132``/``178``, else the message date ``DTM+137``), consignments (CUSCAR: one per ``CNI``, its
transport document number 2.1; IFTMCS: the message is one, its number the ``RFF+BM``/``BN``), their parties
(``NAD+CZ`` consignor, ``NAD+CN`` consignee), goods items (``GID``: item number 1, packages 2.1 and kind
2.2; ``FTX+AAA`` description; ``MEA`` with KGM the gross mass 3.2; ``PIA`` 2.1 the commodity code; ``SGP``
1 the container the item is in) and equipment (``EQD+CN`` 2 the container number). One line per goods item,
or per consignment without items.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from borderwatch.ingest.edifact.mapping import DATE_FORMATS, Origin, Walk, interchange_date
from borderwatch.ingest.edifact.syntax import Message, Segment
from borderwatch.ingest.schemas import ManifestLine

MANIFEST_TYPES = frozenset({"CUSCAR", "IFTMCS"})
TRANSPORT_DOCUMENTS = frozenset(["BM", "BH", "MB", "AWB", "BN", "CN", "ZZZ"])
ARRIVAL_DATES = ("132", "178", "133", "137")
_WEIGHT_UNITS = frozenset({"KGM", "KG"})
_GROSS = frozenset({"G", "AAB", "AAD", "AAF"})


def _name(segment: Segment) -> str | None:
    name = " ".join(p for p in segment.element(4) if p) or " ".join(p for p in segment.element(3) if p)
    return name or segment.value(2) or None


class _Manifest:
    """The state of one manifest message as its segments are walked."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self.header: dict[str, Any] = {}
        self.dates: dict[str, Segment] = {}
        self.consignments: list[dict[str, Any]] = []
        self.top_containers: list[str] = []

    def consignment(self) -> dict[str, Any]:
        if not self.consignments:
            self.consignments.append({"ref": None, "items": [], "containers": [], "segment": None})
        return self.consignments[-1]

    def item(self) -> dict[str, Any] | None:
        current = self.consignments[-1] if self.consignments else None
        return current["items"][-1] if current and current["items"] else None

    def segment(self, segment: Segment, message_type: str) -> None:
        tag, walk = segment.tag, self.walk
        item = self.item()
        if tag == "BGM":
            self.header["manifest_ref"] = segment.value(2)
        elif tag == "DTM":
            self.dates.setdefault(segment.value(1), segment)
        elif tag == "TDT":
            self.header.setdefault("voyage", segment.value(2) or None)
            self.header.setdefault("carrier_id", segment.value(5) or None)
            self.header.setdefault("means_id", segment.value(8) or None)
        elif tag == "LOC" and segment.value(1) in {"9", "11"}:
            self.header.setdefault(
                {"9": "loading_port", "11": "discharge_port"}[segment.value(1)], segment.value(2) or None
            )
        elif tag == "CNI":
            self.consignments.append(
                {
                    "ref": segment.value(2) or segment.value(1),
                    "items": [],
                    "containers": [],
                    "segment": segment,
                }
            )
        elif tag == "RFF" and segment.value(1) in TRANSPORT_DOCUMENTS:
            current = self.consignment()
            if not current["ref"]:
                current["ref"], current["segment"] = segment.value(1, 2), segment
        elif tag == "NAD" and segment.value(1) in {"CZ", "CN"}:
            self.consignment().setdefault(
                {"CZ": "consignor", "CN": "consignee"}[segment.value(1)], _name(segment)
            )
        elif tag == "GID":
            number = segment.value(1)
            current = self.consignment()
            current["items"].append(
                {
                    "item_no": number or len(current["items"]) + 1,
                    "packages": walk.number("packages", segment, 2, 1),
                    "package_type": segment.value(2, 2) or None,
                    "containers": [],
                    "segment": segment,
                }
            )
        elif tag == "FTX" and segment.value(1) == "AAA" and item is not None:
            item.setdefault("description", " ".join(p for p in segment.element(4) if p) or None)
        elif (
            tag == "MEA"
            and item is not None
            and segment.value(3) in _WEIGHT_UNITS
            and segment.value(2) in _GROSS
        ):
            item["gross_mass"] = walk.number("gross_mass", segment, 3, 2)
        elif tag == "PIA" and item is not None and segment.value(2):
            item["hs_code"] = segment.value(2)
        elif tag == "SGP" and item is not None and segment.value(1):
            item["containers"].append(segment.value(1))
        elif tag == "EQD" and segment.value(1) == "CN" and segment.value(2):
            target = self.consignments[-1]["containers"] if self.consignments else self.top_containers
            target.append(segment.value(2))

    def arrival(self, message: Message) -> Any:
        for qualifier in ARRIVAL_DATES:
            if qualifier in self.dates:
                segment = self.dates[qualifier]
                if segment.value(1, 3) and segment.value(1, 3) not in DATE_FORMATS:
                    raise self.walk.fail(
                        segment, f"'{segment.value(1, 3)}' is not a date format this reader knows", 1, 3
                    )
                return self.walk.date("arrival_on", segment)
        return interchange_date(message)


def read_manifest(message: Message) -> list[ManifestLine]:
    """The manifest lines of one CUSCAR or IFTMCS message; raises ``EdifactError`` naming the segment."""
    walk = Walk(message)
    state = _Manifest(walk)
    for segment in message.segments[1:-1]:
        state.segment(segment, message.message_type)
    manifest_ref = state.header.get("manifest_ref") or message.reference
    arrival = state.arrival(message)
    lines: list[ManifestLine] = []
    for index, consignment in enumerate(state.consignments or [{"ref": None, "items": [], "containers": []}]):
        containers = list(
            dict.fromkeys(
                consignment["containers"] or ([] if len(state.consignments) > 1 else state.top_containers)
            )
        )
        ref = consignment["ref"] or f"{manifest_ref}/{index + 1}"
        base = {
            "message_type": message.message_type,
            "manifest_ref": manifest_ref,
            "arrival_on": arrival,
            "consignment_ref": ref,
            "consignor": consignment.get("consignor"),
            "consignee": consignment.get("consignee"),
            **{
                k: state.header.get(k)
                for k in ("voyage", "carrier_id", "means_id", "loading_port", "discharge_port")
            },
        }
        for item in consignment["items"] or [
            {"item_no": 1, "containers": [], "segment": consignment.get("segment")}
        ]:
            data = base | {
                "item_no": item["item_no"],
                "description": item.get("description"),
                "hs_code": item.get("hs_code"),
                "packages": item.get("packages"),
                "package_type": item.get("package_type"),
                "gross_mass": item.get("gross_mass"),
                "container_ids": list(dict.fromkeys(item["containers"] or containers)),
            }
            if item.get("segment") is not None:
                walk.origins["item_no"] = Origin(item["segment"], 1)
            try:
                lines.append(ManifestLine.model_validate(data))
            except ValidationError as error:
                raise walk.refused(error) from None
    return lines
