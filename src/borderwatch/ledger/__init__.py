"""The tamper-evident document ledger: an RFC 9162 Merkle log of document fingerprints, C2SP signed
checkpoints, inclusion and consistency proofs, tiles and witnesses."""

from __future__ import annotations

from borderwatch.ledger.merkle import ProofError, verify_consistency, verify_inclusion

__all__ = ["ProofError", "verify_consistency", "verify_inclusion"]
