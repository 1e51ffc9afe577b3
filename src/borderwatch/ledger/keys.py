"""Keys of the ledger, kept in files under the data directory, never in the database.

``<data_dir>/ledger/keys/``: the log's signer keys (``*.skey``, mode 0600) and their verifier keys
(``*.vkey``), one pair per key ever generated, and ``active``, the file name of the key that signs new
checkpoints. Rotation adds a key and makes it active; old verifier keys stay, so a checkpoint signed before
the rotation still verifies. ``witness.skey`` is this borderwatch's witness (cosignature) key.
``<data_dir>/ledger/issuers/<issuer>.key``: an issuer's fingerprint (HMAC) key, 32 random bytes in base64,
mode 0600: whoever holds it can compute the fingerprint of a document of that issuer, nobody else can.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path

from borderwatch.ledger.entries import LedgerError
from borderwatch.ledger.note import (
    ALG_COSIGNATURE,
    CosignatureSigner,
    Ed25519Signer,
    Ed25519Verifier,
    generate_key,
    parse_skey,
    parse_vkey,
)

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def _file_name(signer: Ed25519Signer) -> str:
    return f"{_SAFE.sub('_', signer.name)}-{signer.key_hash:08x}"


class KeyStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "ledger"
        self.keys = self.root / "keys"
        self.issuers = self.root / "issuers"

    # --- the log's keys ---

    def generate_log_key(self, name: str) -> Ed25519Signer:
        """A new signing key for the log (``name`` is its origin), made the active one."""
        signer = generate_key(name)
        stem = _file_name(signer)
        _write_secret(self.keys / f"{stem}.skey", signer.skey)
        (self.keys / f"{stem}.vkey").write_text(signer.vkey + "\n")
        (self.keys / "active").write_text(stem + "\n")
        return signer

    def log_signer(self) -> Ed25519Signer:
        active = self.keys / "active"
        if not active.exists():
            raise LedgerError(f"no ledger signing key in {self.keys}: run 'borderwatch ledger keygen'")
        stem = active.read_text().strip()
        return parse_skey((self.keys / f"{stem}.skey").read_text().strip())

    def log_verifiers(self) -> list[Ed25519Verifier]:
        """Every key the log ever signed with (the active one and the rotated ones)."""
        return [parse_vkey(path.read_text().strip()) for path in sorted(self.keys.glob("*.vkey"))]

    # --- this borderwatch as a witness ---

    def witness_signer(self, name: str | None = None) -> CosignatureSigner:
        """The witness key, created under ``name`` on first use."""
        path = self.keys / "witness.skey"
        if not path.exists():
            if name is None:
                raise LedgerError(f"no witness key in {self.keys}: run 'borderwatch ledger keygen --witness'")
            _write_secret(path, generate_key(name, alg=ALG_COSIGNATURE).skey)
        return CosignatureSigner(parse_skey(path.read_text().strip()))

    # --- issuers' fingerprint keys ---

    def issuer_key(self, issuer: str, *, create: bool = False) -> bytes:
        path = self.issuers / f"{_SAFE.sub('_', issuer)}.key"
        if not path.exists():
            if not create:
                raise LedgerError(f"no fingerprint key for issuer {issuer!r} in {self.issuers}")
            _write_secret(path, base64.b64encode(secrets.token_bytes(32)).decode())
        return load_issuer_key(path)


def load_issuer_key(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except (OSError, ValueError) as error:
        raise LedgerError(f"{path}: not an issuer key ({error})") from None
    if len(key) < 16:
        raise LedgerError(f"{path}: an issuer key has at least 16 bytes")
    return key
