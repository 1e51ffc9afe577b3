"""The log's side of witnessing: send the newest checkpoint to each partner witness, with a consistency proof
from the size that witness last cosigned, and keep the cosignature it answers (C2SP tlog-cosignature).

A witness is a partner's borderwatch (``POST /api/ledger/witness/add-checkpoint``, :func:`witness.cosign`),
named in ``<data_dir>/ledger/witnesses.json`` (URL, its cosignature verifier key, the API token the partner
issued us; mode 0600). :func:`cosign_round` asks every witness once; ``borderwatch ledger cosign --every N``
repeats it. A cosignature is stored only once it verifies under the witness's key for exactly the checkpoint
sent. The HTTP client is the standard library's (as the single-file verifier's): nothing to install.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select

from borderwatch.ledger import service
from borderwatch.ledger.entries import LedgerError
from borderwatch.ledger.models import LedgerCheckpointRow, LedgerCosignatureRow
from borderwatch.ledger.note import ALG_COSIGNATURE, NoteError, open_note, parse_vkey, split_note

_checkpoints = cast(Table, LedgerCheckpointRow.__table__)
_cosignatures = cast(Table, LedgerCosignatureRow.__table__)
TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Witness:
    url: str
    vkey: str
    token: str

    @property
    def name(self) -> str:
        return parse_vkey(self.vkey).name


@dataclass(frozen=True, slots=True)
class Outcome:
    witness: str
    size: int
    status: str  # cosigned, up to date, refused, unreachable
    detail: str = ""


def witnesses_file(data_dir: Path) -> Path:
    return data_dir / "ledger" / "witnesses.json"


def load_witnesses(data_dir: Path) -> list[Witness]:
    path = witnesses_file(data_dir)
    if not path.exists():
        return []
    try:
        return [Witness(**item) for item in json.loads(path.read_text())]
    except (ValueError, TypeError) as error:
        raise LedgerError(f"{path}: not a list of witnesses ({error})") from None


def save_witnesses(data_dir: Path, witnesses: list[Witness]) -> None:
    """Write the witnesses (their tokens are secrets: mode 0600)."""
    path = witnesses_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([asdict(w) for w in witnesses], handle, indent=2)


def add_witness(data_dir: Path, witness: Witness) -> None:
    """Add (or replace, by URL) a witness; its key must be a cosignature key."""
    if parse_vkey(witness.vkey).alg != ALG_COSIGNATURE:
        raise LedgerError("a witness key must be a cosignature verifier key (type 0x04)")
    kept = [w for w in load_witnesses(data_dir) if w.url.rstrip("/") != witness.url.rstrip("/")]
    save_witnesses(data_dir, [*kept, witness])


def last_cosigned_size(engine: Engine, *, agency: str, witness: str) -> int:
    """The largest checkpoint of the agency's log that ``witness`` cosigned (0 if none)."""
    log = service.log_info(engine, agency=agency)
    with engine.connect() as connection:
        size = connection.execute(
            select(func.max(_checkpoints.c.size))
            .select_from(_cosignatures.join(_checkpoints, _cosignatures.c.checkpoint_id == _checkpoints.c.id))
            .where(_checkpoints.c.log_id == log.id, _cosignatures.c.witness == witness)
        ).scalar()
    return int(size or 0)


def _post(witness: Witness, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # an https or http URL the operator configured
        witness.url.rstrip("/") + "/api/ledger/witness/add-checkpoint",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {witness.token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            payload = json.loads(error.read())
        except ValueError:
            payload = {}
        return error.code, payload if isinstance(payload, dict) else {}


def _cosignature_holds(note: str, line: str, witness: Witness) -> bool:
    """``line`` is the witness's valid cosignature of exactly the checkpoint of ``note``."""
    body, _ = split_note(note)
    try:
        opened = open_note(body + "\n" + line, [parse_vkey(witness.vkey)])
    except NoteError:
        return False
    return any(s.name == witness.name for s in opened.signatures)


def request_cosignature(
    engine: Engine, witness: Witness, *, agency: str, log_vkey: str, checkpoint: service.StoredCheckpoint
) -> Outcome:
    """Send ``checkpoint`` to ``witness`` with the proof from what it last cosigned; store its cosignature."""
    old = last_cosigned_size(engine, agency=agency, witness=witness.name)
    if old >= checkpoint.size:
        return Outcome(witness.name, checkpoint.size, "up to date")
    proof = service.consistency(engine, agency=agency, size1=old, size2=checkpoint.size) if old else []
    body = {
        "log_vkey": log_vkey,
        "checkpoint": checkpoint.note,
        "consistency_proof": [base64.b64encode(h).decode() for h in proof],
    }
    try:
        status, answer = _post(witness, body)
    except (OSError, ValueError) as error:  # refused connection, timeout, not JSON
        return Outcome(witness.name, checkpoint.size, "unreachable", str(error)[:200])
    if status != 200:
        message = str(answer.get("error", {}).get("message", answer))[:300]
        return Outcome(witness.name, checkpoint.size, "refused", f"HTTP {status}: {message}")
    line = str(answer.get("cosignature", ""))
    if not _cosignature_holds(checkpoint.note, line, witness):
        return Outcome(witness.name, checkpoint.size, "refused", "the answer is not its cosignature")
    signature = open_note(split_note(checkpoint.note)[0] + "\n" + line, [parse_vkey(witness.vkey)]).signatures
    service.add_cosignature(engine, checkpoint_id=checkpoint.id, witness=witness.name, signature=signature[0])
    return Outcome(witness.name, checkpoint.size, "cosigned")


def cosign_round(engine: Engine, witnesses: list[Witness], *, agency: str, log_vkey: str) -> list[Outcome]:
    """Ask every witness to cosign the log's newest checkpoint (one that it has not cosigned yet)."""
    checkpoint = service.latest_checkpoint(engine, agency=agency)
    if checkpoint is None:
        raise LedgerError("the log has published no checkpoint yet")
    return [
        request_cosignature(engine, w, agency=agency, log_vkey=log_vkey, checkpoint=checkpoint)
        for w in witnesses
    ]
