"""Generated traffic as the EDIFACT agencies exchange: CUSDEC declarations and the carrier's CUSCAR manifest
beside them, with planted discrepancies and their ground truth.

``write_edifact(declarations, folder, seed=..., rate=...)`` takes declarations in the columns of the
canonical frame (``lrn``, ``declared_on``, ``office``, ``importer_id``, ``declarant_id``, ``seller_id``,
``departure_country``, ``origin_country``, ``item_no``, ``hs_code``, ``net_mass``, ``customs_value``,
``currency``, ``tax_rate``), gives each a bill of lading and a container (a valid ISO 6346 number), writes
``cusdec.edi`` (one message per declaration, all its goods items) and ``cuscar.edi`` (one consignment per
declaration, arriving the day before it, gross mass a little above the declared net mass) and plants, each
on about ``rate`` of the declarations:

- ``undeclared_consignment``: an extra consignment on the manifest that nobody declares;
- ``undeclared_container``: a second container in a declared consignment that its declaration leaves out;
- ``weight_gap``: a manifested gross mass three to five times the declared net mass;
- ``hs_conflict``: the manifest's commodity code of another HS chapter;
- ``container_check_digit``: a container number with a wrong check digit (on both sides: a typo copied);
- ``container_conflict``: a second declaration, of another importer, stating the same full container.

The truth (``truth.json``) lists, per kind, the keys reconciliation should find: the LRN for a finding on a
declaration, ``consignment`` or ``consignment container`` for an alert on the manifest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from borderwatch.core.containers import check_digit
from borderwatch.core.vocabulary import MANIFEST_DISCREPANCIES

_SPECIAL = ":+?'"
_OWNERS = ("MSK", "CSQ", "TGH", "TCL", "HLX", "CMA")


def _esc(value: object) -> str:
    text = "" if value is None else str(value)
    return "".join("?" + c if c in _SPECIAL else c for c in text)


def _container(rng: random.Random, used: set[str]) -> str:
    """A new valid container number (never one already handed out: a shared one would be a planted
    conflict nobody planted)."""
    while True:
        code = f"{rng.choice(_OWNERS)}U{rng.randrange(1_000_000):06d}"
        if code not in used:
            used.add(code)
            return f"{code}{check_digit(code)}"


def _interchange(kind: str, reference: str, messages: list[list[str]], prepared: date) -> str:
    lines = ["UNA:+.? '", f"UNB+UNOC:3+SENDER:ZZZ+CUSTOMS:ZZZ+{prepared:%y%m%d}:0800+{reference}'"]
    for number, body in enumerate(messages, start=1):
        lines.append(f"UNH+{number}+{kind}'")
        lines.extend(body)
        lines.append(f"UNT+{len(body) + 2}+{number}'")
    lines.append(f"UNZ+{len(messages)}+{reference}'")
    return "\n".join(lines) + "\n"


def _cusdec(
    head: dict[str, Any], items: list[dict[str, Any]], bill: str, containers: Iterable[str]
) -> list[str]:
    body = [
        f"BGM+929+{_esc(head['lrn'])}+9'",
        f"DTM+137:{head['declared_on']:%Y%m%d}:102'",
        f"LOC+22+{_esc(head['office'])}'",
    ]
    if head.get("departure_country"):
        body.append(f"LOC+35+{_esc(head['departure_country'])}'")
    if head.get("origin_country"):
        body.append(f"LOC+27+{_esc(head['origin_country'])}'")
    body.append("TDT+20+VOY1+1'")
    body.extend(f"EQD+CN+{_esc(c)}'" for c in containers)
    for qualifier, column in (("IM", "importer_id"), ("DT", "declarant_id"), ("SE", "seller_id")):
        if head.get(column):
            body.append(f"NAD+{qualifier}+{_esc(head[column])}'")
    body += [f"RFF+BM:{_esc(bill)}'", "UNS+D'"]
    for item in items:
        body.append(f"CST+{item['item_no']}+{_esc(item['hs_code'])}:122+40'")
        if item.get("net_mass") is not None:
            body.append(f"MEA+AAE+AAA+KGM:{item['net_mass']:.3f}'")
        body.append(f"MOA+40:{item['customs_value']:.2f}:{_esc(item['currency'])}'")
        if item.get("tax_rate") is not None:
            body.append(f"TAX+1+CUD+++:::{item['tax_rate']:g}'")
    body += ["UNS+S'", f"CNT+5:{len(items)}'"]
    return body


def _consignment(number: int, bill: str, hs_code: str, gross: float, containers: list[str]) -> list[str]:
    body = [f"CNI+{number}+{_esc(bill)}'", "GID+1+10:CT'", f"MEA+AAE+G+KGM:{gross:.3f}'", f"PIA+5+{hs_code}'"]
    body += [f"SGP+{_esc(c)}+1'" for c in containers]
    body += [f"EQD+CN+{_esc(c)}+45G1'" for c in containers]
    return body


def write_edifact(
    declarations: pl.DataFrame, folder: Path, *, seed: int = 7, rate: float = 0.03
) -> dict[str, Any]:
    """Write ``cusdec.edi``, ``cuscar.edi`` and ``truth.json`` into ``folder``; returns the truth."""
    rng = random.Random(seed)
    used: set[str] = set()
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[str]] = {kind: [] for kind in MANIFEST_DISCREPANCIES}
    groups = declarations.sort("lrn", "item_no").partition_by("lrn", maintain_order=True)
    declared: list[list[str]] = []
    by_day: dict[date, list[list[str]]] = {}  # each day's arrivals: one CUSCAR message
    first = min(declarations["declared_on"]) if declarations.height else date(2026, 1, 1)
    conflicts: list[tuple[dict[str, Any], str]] = []
    for group in groups:
        items = group.to_dicts()
        head = items[0]
        lrn, bill = str(head["lrn"]), f"BL{head['lrn']}"
        consignments = by_day.setdefault(head["declared_on"], [])
        container = _container(rng, used)
        net = sum(item["net_mass"] or 0.0 for item in items)
        gross = net * rng.uniform(1.03, 1.2)  # packaging; 0 where no mass is declared (not compared)
        manifest_hs = str(items[0]["hs_code"])[:6]
        containers = [container]
        kind = (
            rng.choice(MANIFEST_DISCREPANCIES) if rng.random() < rate * len(MANIFEST_DISCREPANCIES) else None
        )
        if kind == "weight_gap" and net > 0:
            gross = net * rng.uniform(3, 5)
            truth[kind].append(lrn)
        elif kind == "hs_conflict":
            chapters = {str(item["hs_code"])[:2] for item in items}
            chapter = next(c for c in (f"{n:02d}" for n in rng.sample(range(1, 98), 97)) if c not in chapters)
            manifest_hs = f"{chapter}0000"
            truth[kind].append(lrn)
        elif kind == "container_check_digit":
            container = container[:10] + str((int(container[10]) + rng.randrange(1, 10)) % 10)
            containers = [container]
            truth[kind].append(lrn)
        elif kind == "undeclared_container":
            extra = _container(rng, used)
            truth[kind].append(f"{bill} {extra}")
            consignments.append(
                _consignment(len(consignments) + 1, bill, manifest_hs, gross, [container, extra])
            )
        elif kind == "undeclared_consignment":
            ghost = f"BLX{lrn}"
            truth[kind].append(ghost)
            consignments.append(
                _consignment(len(consignments) + 1, ghost, manifest_hs, gross, [_container(rng, used)])
            )
        elif kind == "container_conflict":
            conflicts.append((head, container))
        if kind != "undeclared_container":
            consignments.append(_consignment(len(consignments) + 1, bill, manifest_hs, gross, containers))
        declared.append(_cusdec(head, items, bill, [container]))
    for number, (head, container) in enumerate(conflicts, start=1):
        twin = {**head, "lrn": f"{head['lrn']}T{number}", "importer_id": f"{head.get('importer_id') or ''}X"}
        items = [{"item_no": 1, "hs_code": head["hs_code"], "net_mass": None, "customs_value": 10.0}]
        items[0] |= {"currency": head["currency"], "tax_rate": None}
        declared.append(_cusdec(twin, items, f"BL{twin['lrn']}T", [container]))
        truth["container_conflict"] += [str(head["lrn"]), str(twin["lrn"])]
    (folder / "cusdec.edi").write_text(
        _interchange("CUSDEC:D:96B:UN", "DEC1", declared, first), encoding="latin-1"
    )
    manifest = [
        [f"BGM+85+MAN{day:%Y%m%d}+9'", f"DTM+132:{day - timedelta(days=1):%Y%m%d}:102'", "TDT+20+VOY1+1'"]
        + [segment for consignment in consignments for segment in consignment]
        for day, consignments in sorted(by_day.items())
    ]
    (folder / "cuscar.edi").write_text(
        _interchange("CUSCAR:D:95B:UN", "MAN1", manifest, first), encoding="latin-1"
    )
    result = {"seed": seed, "rate": rate, "declarations": len(groups), "truth": truth}
    (folder / "truth.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result
