"""Travellers: passenger lists (PAXLST, CSV, JSON Lines), travel documents (MRZ), document checks, risk.

Public surface:

- documents: ``read_mrz(text) -> MrzResult`` (``MrzError`` on a text that is not an MRZ), ``check_digit``,
  ``compose_mrz``, ``transliterate`` (Doc 9303's name transliteration), ``read_document(path)`` (the MRZ of an
  image, offline OCR), ``verify_face(document, live)`` (1:1, decision and distance);
- lists: ``read_paxlst`` / ``write_paxlst`` (``EdifactError`` naming message, segment, position, element),
  ``read_travellers_csv``, ``read_travellers_jsonl``;
- risk: ``assess_movement`` under a ``TravellerPolicy`` (reasons, score, referral), ``TraderContact``;
- storage and views: ``borderwatch.travellers.service`` (ingest, quarantine, lost/stolen list, checks, pages).
"""

from borderwatch.travellers.edifact import EdifactError
from borderwatch.travellers.face import FaceDecision, FaceError
from borderwatch.travellers.face import verify as verify_face
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
from borderwatch.travellers.ocr import DocumentRead, read_document
from borderwatch.travellers.paxlst import read_paxlst, write_paxlst
from borderwatch.travellers.records import Movement, TravelDocument, Traveller, TravellerList
from borderwatch.travellers.risk import Assessment, TraderContact, TravellerPolicy, assess_movement
from borderwatch.travellers.tabular import read_travellers_csv, read_travellers_jsonl

__all__ = [
    "Assessment",
    "DocumentRead",
    "EdifactError",
    "FaceDecision",
    "FaceError",
    "Movement",
    "MrzError",
    "MrzFormat",
    "MrzResult",
    "TraderContact",
    "TravelDocument",
    "Traveller",
    "TravellerList",
    "TravellerPolicy",
    "assess_movement",
    "check_digit",
    "compose_mrz",
    "is_icao_code",
    "nationality_consistent",
    "read_document",
    "read_mrz",
    "read_paxlst",
    "read_travellers_csv",
    "read_travellers_jsonl",
    "transliterate",
    "verify_face",
    "write_paxlst",
]
