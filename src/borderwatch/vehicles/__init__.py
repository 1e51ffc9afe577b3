"""Vehicles at the border: plate reads (ANPR), hotlists, journeys and the patterns smugglers leave.

Public surface:

- plates: ``normalise(text, country) -> Plate`` (per-country formats, look-alike repair, confidence),
  ``confusion_key``, ``PlateError``;
- reads: ``check_records`` (CSV, JSON Lines, HTTP or pipeline records → ``ReadBatch`` of ``PlateRead`` and
  ``Rejected``), ``Camera``;
- hotlists: ``HotlistIndex`` (look-alike and one-edit tolerant matching), ``Listed``, ``HotlistHit``;
- storage and views: ``borderwatch.vehicles.service`` (cameras, ``process_reads`` for a worker or the HTTP
  endpoint, ``ingest_reads`` for files, hotlists, alerts, quarantine).
"""

from borderwatch.vehicles.hotlist import HotlistHit, HotlistIndex, Listed
from borderwatch.vehicles.plates import Plate, PlateError, confusion_key, normalise
from borderwatch.vehicles.reads import Camera, PlateRead, ReadBatch, Rejected, check_records

__all__ = [
    "Camera",
    "HotlistHit",
    "HotlistIndex",
    "Listed",
    "Plate",
    "PlateError",
    "PlateRead",
    "ReadBatch",
    "Rejected",
    "check_records",
    "confusion_key",
    "normalise",
]
