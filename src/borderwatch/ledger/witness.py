"""Witnessing: cosign another log's checkpoint only if it extends the last one cosigned (C2SP
tlog-cosignature); refuse a fork and keep both checkpoints as the evidence; verify k of n cosignatures.

A split view is two checkpoints that the log's key signed for the same size with different roots, or a newer
checkpoint that is not an extension of an older one: whoever holds both can prove that the log lied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, insert, select, update

from borderwatch.db.session import write_transaction
from borderwatch.ledger.entries import LedgerError
from borderwatch.ledger.merkle import ProofError, verify_consistency
from borderwatch.ledger.models import LedgerAlertRow, WitnessedLogRow
from borderwatch.ledger.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    CosignatureSigner,
    Ed25519Verifier,
    NoteError,
    Signature,
    open_checkpoint,
    open_note,
    parse_vkey,
    sign_note,
)

_witnessed = cast(Table, WitnessedLogRow.__table__)
_alerts = cast(Table, LedgerAlertRow.__table__)


KINDS = {
    "split_view": "split view, two checkpoints of the same size with different roots",
    "rollback": "a checkpoint smaller than the one cosigned before",
    "no_extension_proof": "no proof that the new checkpoint extends the one cosigned before (a fork?)",
}


class SplitViewError(LedgerError):
    """Two checkpoints of one log that cannot both be honest; both notes are attached."""

    def __init__(self, *, origin: str, kind: str, first: str, second: str) -> None:
        self.origin, self.kind, self.first, self.second = origin, kind, first, second
        what = KINDS.get(kind, kind)
        super().__init__(f"log {origin!r}: {what}; checkpoint\n{first}\nand checkpoint\n{second}")


def _alert(engine: Engine, error: SplitViewError) -> SplitViewError:
    with write_transaction(engine) as connection:
        connection.execute(
            insert(_alerts).values(
                origin=error.origin, kind=error.kind, first_note=error.first, second_note=error.second
            )
        )
    return error


def cosign(
    engine: Engine,
    signer: CosignatureSigner,
    *,
    note: str,
    log_vkey: str,
    consistency_proof: Sequence[bytes],
) -> Signature:
    """Cosign the log's checkpoint ``note`` if its log signature holds and it extends the checkpoint this
    witness last cosigned for that log (``consistency_proof`` from that size to the new one). A fork or a
    rollback is refused with :class:`SplitViewError` and recorded as an alert naming both checkpoints."""
    log_verifier = parse_vkey(log_vkey)
    checkpoint, _ = open_checkpoint(note, [log_verifier], origin=log_verifier.name)
    fork: SplitViewError | None = None
    with write_transaction(engine) as connection:
        seen = connection.execute(select(_witnessed).where(_witnessed.c.origin == checkpoint.origin)).first()
        if seen is not None:
            old = Checkpoint(checkpoint.origin, seen.size, bytes(seen.root))
            kind = None
            if checkpoint.size < old.size:
                kind = "rollback"
            elif checkpoint.size == old.size and checkpoint.root != old.root:
                kind = "split_view"
            elif checkpoint.size > old.size and old.size > 0:
                try:
                    proof = list(consistency_proof)
                    verify_consistency(old.size, checkpoint.size, proof, old.root, checkpoint.root)
                except ProofError as error:
                    if "does not lead" not in str(error):
                        raise LedgerError(f"bad consistency proof: {error}") from None
                    kind = "no_extension_proof"
            if kind is not None:
                fork = SplitViewError(origin=checkpoint.origin, kind=kind, first=seen.note, second=note)
            else:
                connection.execute(
                    update(_witnessed)
                    .where(_witnessed.c.origin == checkpoint.origin)
                    .values(
                        size=checkpoint.size, root=checkpoint.root, note=note, updated_at=datetime.now(UTC)
                    )
                )
        else:
            connection.execute(
                insert(_witnessed).values(
                    origin=checkpoint.origin,
                    vkey=log_vkey,
                    size=checkpoint.size,
                    root=checkpoint.root,
                    note=note,
                )
            )
    if fork is not None:
        raise _alert(engine, fork)
    cosigned = sign_note(checkpoint.body(), [signer])
    return open_note(cosigned, [parse_vkey(signer.vkey)]).signatures[0]


def verify_cosigned(
    note: str, *, log_vkey: str, witness_vkeys: Iterable[str], required: int
) -> tuple[Checkpoint, list[str]]:
    """The checkpoint of ``note`` once the log's signature and at least ``required`` of the witnesses'
    cosignatures hold; the names of the witnesses that cosigned. :class:`NoteError` otherwise."""
    log_verifier = parse_vkey(log_vkey)
    witnesses: list[Ed25519Verifier] = [parse_vkey(v) for v in witness_vkeys]
    if any(w.alg != ALG_COSIGNATURE for w in witnesses):
        raise NoteError("a witness key must be a cosignature key (type 0x04)")
    checkpoint, _ = open_checkpoint(note, [log_verifier], origin=log_verifier.name)
    opened = open_note(note, [log_verifier, *witnesses])
    log_id = (log_verifier.name, log_verifier.key_hash)
    names = sorted({s.name for s in opened.signatures if (s.name, s.key_hash) != log_id})
    if len(names) < required:
        raise NoteError(
            f"{len(names)} of the {len(witnesses)} witnesses cosigned the checkpoint, {required} needed"
        )
    return checkpoint, names


def compare(first: str, second: str, *, log_vkey: str) -> None:
    """Raise :class:`SplitViewError` if two checkpoints signed by the log's key differ at one size."""
    verifier = parse_vkey(log_vkey)
    a, _ = open_checkpoint(first, [verifier], origin=verifier.name)
    b, _ = open_checkpoint(second, [verifier], origin=verifier.name)
    if a.size == b.size and a.root != b.root:
        raise SplitViewError(origin=a.origin, kind="split_view", first=first, second=second)


@dataclass(frozen=True, slots=True)
class Alert:
    origin: str
    kind: str
    first_note: str
    second_note: str
    detected_at: datetime


def alerts(engine: Engine) -> list[Alert]:
    with engine.connect() as connection:
        rows = connection.execute(select(_alerts).order_by(_alerts.c.id.desc()))
        return [Alert(r.origin, r.kind, r.first_note, r.second_note, r.detected_at) for r in rows]
