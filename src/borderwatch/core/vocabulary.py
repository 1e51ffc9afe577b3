"""The words stages exchange, defined once: lanes, the bases of a lane decision, the roles of a party.

Data, not logic: scoring, lanes, screening, entities, ingest and the web read these instead of spelling them.
"""

from __future__ import annotations

from typing import Final, Literal

Lane = Literal["red", "yellow", "green"]
# Most severe first, as lists and menus show them.
LANES: Final[tuple[Lane, ...]] = ("red", "yellow", "green")
# Greater is more severe: a declaration several rules force takes the most severe lane.
LANE_SEVERITY: Final[dict[str, int]] = {"green": 1, "yellow": 2, "red": 3}

# Why a declaration got its lane (``lane_decisions.basis``).
BASIS_MANDATORY: Final = "mandatory rule"
BASIS_CONTROL: Final = "control sample"
BASIS_RED_CAPACITY: Final = "expected value within red capacity"
BASIS_YELLOW_BAND: Final = "next band within yellow capacity"
BASIS_BELOW: Final = "below the selected bands"
BASIS_OVERRIDE: Final = "supervisor override"
LANE_BASES: Final[tuple[str, ...]] = (
    BASIS_MANDATORY,
    BASIS_CONTROL,
    BASIS_RED_CAPACITY,
    BASIS_YELLOW_BAND,
    BASIS_BELOW,
    BASIS_OVERRIDE,
)

PartyRole = Literal["importer", "declarant", "seller", "courier"]
# The parties of a declaration, in the order of the KCS layout.
PARTY_ROLES: Final[tuple[PartyRole, ...]] = ("importer", "declarant", "seller", "courier")

# What a check of a declaration's documents against the document ledger can find (``scoring.documents``):
# a document already presented with another declaration, one whose issuer registered a different version,
# one missing from the ledger though its issuer registers all theirs.
DocumentFinding = Literal["reused", "altered", "unregistered"]
DOCUMENT_FINDINGS: Final[tuple[DocumentFinding, ...]] = ("reused", "altered", "unregistered")

# What reconciling declarations with the carriers' manifests can find (``features.reconcile``): a consignment
# or a container reported by the carrier and declared by nobody, a declared net mass that the manifested gross
# mass cannot hold (or far below it), goods of an HS chapter the manifest does not carry, a container number
# failing its ISO 6346 check digit, the same full container declared by two importers.
ManifestDiscrepancy = Literal[
    "undeclared_consignment",
    "undeclared_container",
    "weight_gap",
    "hs_conflict",
    "container_check_digit",
    "container_conflict",
]
MANIFEST_DISCREPANCIES: Final[tuple[ManifestDiscrepancy, ...]] = (
    "undeclared_consignment",
    "undeclared_container",
    "weight_gap",
    "hs_conflict",
    "container_check_digit",
    "container_conflict",
)
