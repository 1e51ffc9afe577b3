#!/usr/bin/env python3
"""Check a document against a borderwatch ledger, without borderwatch: Python 3.11+ and ``cryptography`` only.

    python bw_ledger_verify.py DOCUMENT --issuer-key ISSUER.key --log-key 'origin+hash+base64' \
        (--bundle PROOF.json | --log https://agency.example) [--witness VKEY ...] [--min-witnesses K]

It computes the document's fingerprint (HMAC-SHA-256 of its SHA-256 under the issuer's key), finds the
entry that records it (in the proof bundle, or asked of the log), checks that the entry holds that
fingerprint, that the checkpoint is signed by the log's key (C2SP signed note, Ed25519), that the entry is
in the tree of that checkpoint (RFC 9162 inclusion proof), and that at least K of the given witnesses
cosigned the checkpoint (C2SP tlog-cosignature).
Exit status: 0 registered and proven, 1 not registered, 2 a check failed (the message says which).

This file is written to stand alone (copy it anywhere); ``borderwatch ledger export-verifier`` writes it out.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import struct
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class VerifyError(Exception):
    pass


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    if len(leaf_hash) != 32 or len(root) != 32 or any(len(p) != 32 for p in proof):
        raise VerifyError("a hash of the wrong length")
    if not 0 <= index < size:
        raise VerifyError(f"index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise VerifyError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise VerifyError("the inclusion proof does not lead to the checkpoint's root")


def _b64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4 or not text:
        raise VerifyError(f"not base64: {text[:20]!r}")
    return base64.b64decode(text, validate=True)


def parse_vkey(vkey: str) -> tuple[str, int, int, Ed25519PublicKey]:
    """(name, key id, key type, public key) of a ``name+hash+base64`` verifier key."""
    name, _, rest = vkey.strip().partition("+")
    hash16, _, key64 = rest.partition("+")
    key = _b64(key64)
    if not re.fullmatch(r"[0-9a-f]{8}", hash16) or not name or len(key) != 33 or key[0] not in (1, 4):
        raise VerifyError(f"malformed verifier key {vkey!r}")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] != bytes.fromhex(hash16):
        raise VerifyError(f"verifier key {name}: the key id does not match the key")
    return name, int(hash16, 16), key[0], Ed25519PublicKey.from_public_bytes(key[1:])


def split_note(note: str) -> tuple[str, list[tuple[str, int, bytes]]]:
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise VerifyError("malformed note")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise VerifyError("malformed note: no signatures")
    text, sigs = note[: split + 1], []
    for line in note[split + 2 : -1].split("\n"):
        if not line.startswith("— "):
            raise VerifyError(f"malformed signature line {line[:30]!r}")
        name, _, b64 = line[2:].partition(" ")
        blob = _b64(b64)
        if len(blob) < 5:
            raise VerifyError("malformed signature line")
        sigs.append((name, int.from_bytes(blob[:4], "big"), blob[4:]))
    return text, sigs


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    lines = text.split("\n")
    if len(lines) < 4 or not lines[0] or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise VerifyError("malformed checkpoint")
    root = _b64(lines[2])
    if len(root) != 32:
        raise VerifyError("malformed checkpoint: root hash")
    return lines[0], int(lines[1]), root


def check_checkpoint(
    note: str, log_key: str, witnesses: list[str], min_witnesses: int
) -> tuple[str, int, bytes]:
    """(origin, size, root) of the checkpoint, once its log signature and enough cosignatures hold."""
    text, sigs = split_note(note)
    origin, size, root = parse_checkpoint(text)
    name, key_hash, _, public = parse_vkey(log_key)
    if origin != name:
        raise VerifyError(f"the checkpoint is of the log {origin!r}, the key is of {name!r}")
    signed = [s for s in sigs if s[0] == name and s[1] == key_hash]
    if not signed:
        raise VerifyError("the checkpoint is not signed by the log's key")
    try:
        public.verify(signed[0][2], text.encode())
    except InvalidSignature:
        raise VerifyError("the log's signature of the checkpoint is invalid") from None
    cosigned = set()
    plain = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    for vkey in witnesses:
        w_name, w_hash, w_type, w_public = parse_vkey(vkey)
        for s_name, s_hash, blob in sigs:
            if (s_name, s_hash) != (w_name, w_hash) or w_type != 4 or len(blob) != 72:
                continue
            (timestamp,) = struct.unpack(">Q", blob[:8])
            message = f"cosignature/v1\ntime {timestamp}\n{plain}".encode()
            try:
                w_public.verify(blob[8:], message)
            except InvalidSignature:
                raise VerifyError(f"the cosignature of witness {w_name} is invalid") from None
            cosigned.add((w_name, w_hash))
    if len(cosigned) < min_witnesses:
        found = len(cosigned)
        raise VerifyError(f"{found} of the witnesses given cosigned the checkpoint, {min_witnesses} needed")
    return origin, size, root


def check_bundle(
    bundle: dict[str, Any], fingerprint: str, log_key: str, witnesses: list[str], min_witnesses: int
) -> dict[str, Any]:
    """The entry of ``bundle`` once every check holds; :class:`VerifyError` otherwise."""
    try:
        data = base64.b64decode(bundle["entry"], validate=True)
        proof = [base64.b64decode(p, validate=True) for p in bundle["inclusion_proof"]]
        index, note = int(bundle["index"]), str(bundle["checkpoint"])
        entry = json.loads(data)
    except (KeyError, TypeError, ValueError) as error:
        raise VerifyError(f"malformed proof bundle: {error}") from None
    if not isinstance(entry, dict) or not hmac.compare_digest(str(entry.get("fingerprint")), fingerprint):
        raise VerifyError("the entry does not hold this document's fingerprint")
    _, size, root = check_checkpoint(note, log_key, witnesses, min_witnesses)
    verify_inclusion(hashlib.sha256(b"\x00" + data).digest(), index, size, proof, root)
    return {"index": index, "tree_size": size, **entry}


def fetch_bundles(log_url: str, fingerprint: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"fingerprint": fingerprint})
    url = f"{log_url.rstrip('/')}/api/ledger/lookup?{query}"
    with urllib.request.urlopen(url, timeout=30) as response:
        bundles = json.loads(response.read())["bundles"]
    return list(bundles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("document")
    parser.add_argument("--issuer-key", required=True, help="the issuer's fingerprint key file (base64)")
    parser.add_argument("--log-key", required=True, help="the log's verifier key, or a file holding it")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", help="a proof bundle (JSON) from 'borderwatch ledger register'")
    source.add_argument("--log", help="the log's base URL, asked for the entries of this fingerprint")
    parser.add_argument("--witness", action="append", default=[], help="a witness's verifier key (repeat)")
    parser.add_argument("--min-witnesses", type=int, default=0)
    args = parser.parse_args(argv)
    log_key = args.log_key
    if "+" not in log_key:
        log_key = Path(log_key).read_text().strip()
    key = base64.b64decode(Path(args.issuer_key).read_text().strip(), validate=True)
    digest = hashlib.sha256(Path(args.document).read_bytes()).digest()
    fingerprint = hmac.new(key, digest, hashlib.sha256).hexdigest()
    try:
        if args.bundle:
            bundles = [json.loads(Path(args.bundle).read_text())]
        else:
            bundles = fetch_bundles(args.log, fingerprint)
        if not bundles:
            print(f"NOT REGISTERED: no entry of the log holds the fingerprint {fingerprint}")
            return 1
        entries = [check_bundle(b, fingerprint, log_key, args.witness, args.min_witnesses) for b in bundles]
    except VerifyError as error:
        print(f"INVALID: {error}")
        return 2
    for entry in entries:
        print(
            f"REGISTERED: entry {entry['index']} of a tree of {entry['tree_size']}: {entry.get('type')} "
            f"{entry.get('number')} of {entry.get('issuer')}, logged {entry.get('time')} "
            f"by {entry.get('submitter')}"
        )
    if len(entries) > 1:
        print(f"NOTE: registered {len(entries)} times")
    return 0


if __name__ == "__main__":
    sys.exit(main())
