"""C2SP signed notes, tlog checkpoints and tlog cosignatures, as ``golang.org/x/mod/sumdb/note`` defines them.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key id || signature)>``. A key id is the first four bytes of
``SHA-256(key name || 0x0A || key type || public key)``; the key type is 0x01 for Ed25519 signatures of the
note text and 0x04 for tlog cosignatures (an Ed25519 signature of ``cosignature/v1``, the time and the
checkpoint's first three lines, with the time before it in the signature).

Keys are written as Go writes them: ``name+hash+base64(type || public key)`` (a verifier key) and
``PRIVATE+KEY+name+hash+base64(type || 32-byte seed)`` (a signer key), ``hash`` the key id in 8 hex digits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from borderwatch.core.errors import BorderwatchError

ALG_ED25519 = 0x01
ALG_COSIGNATURE = 0x04
SIG_PREFIX = "— "
MAX_SIGNATURES = 100
COSIGNATURE_HEADER = "cosignature/v1\n"


class NoteError(BorderwatchError):
    """A signed note, key, checkpoint or signature that cannot be accepted; the message says why."""


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, key: bytes) -> int:
    """The 4-byte key id of ``key`` (its type byte then its public key) under ``name``, as an integer."""
    digest = hashlib.sha256(name.encode() + b"\n" + key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode(text: str) -> bytes:
    # Go's StdEncoding: padded, the standard alphabet only.
    if not text or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        raise ValueError("not standard padded base64")
    return base64.b64decode(text, validate=True)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class Signer(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def key_hash(self) -> int: ...
    def sign(self, text: bytes) -> bytes: ...


class Verifier(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def key_hash(self) -> int: ...
    def verify(self, text: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    name: str
    key_hash: int
    private_key: Ed25519PrivateKey
    alg: int = ALG_ED25519

    def sign(self, text: bytes) -> bytes:
        return self.private_key.sign(text)

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.private_key.public_key())

    @property
    def vkey(self) -> str:
        return encode_vkey(self.name, self.alg, self.public_key)

    @property
    def skey(self) -> str:
        seed = self.private_key.private_bytes_raw()
        blob = base64.b64encode(bytes([self.alg]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_hash:08x}+{blob}"


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    name: str
    key_hash: int
    public_key: Ed25519PublicKey
    alg: int = ALG_ED25519

    def verify(self, text: bytes, signature: bytes) -> bool:
        if self.alg == ALG_COSIGNATURE:
            if len(signature) != 8 + 64:
                return False
            (timestamp,) = struct.unpack(">Q", signature[:8])
            try:
                message = cosignature_message(parse_checkpoint(text.decode()), timestamp)
            except (NoteError, UnicodeDecodeError):
                return False
            text, signature = message, signature[8:]
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature:
            return False
        return True

    @property
    def vkey(self) -> str:
        return encode_vkey(self.name, self.alg, _raw_public(self.public_key))


@dataclass(frozen=True, slots=True)
class CosignatureSigner:
    """A witness's key: signs the checkpoint's first three lines with the time (C2SP tlog-cosignature)."""

    inner: Ed25519Signer
    clock: float | None = None
    """A fixed time for tests; None signs with the current time."""

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def key_hash(self) -> int:
        return self.inner.key_hash

    @property
    def vkey(self) -> str:
        return self.inner.vkey

    def sign(self, text: bytes) -> bytes:
        timestamp = int(self.clock if self.clock is not None else time.time())
        message = cosignature_message(parse_checkpoint(text.decode()), timestamp)
        return struct.pack(">Q", timestamp) + self.inner.private_key.sign(message)


def encode_vkey(name: str, alg: int, public_key: bytes) -> str:
    key = bytes([alg]) + public_key
    return f"{name}+{key_id(name, key):08x}+{base64.b64encode(key).decode()}"


def generate_key(name: str, *, alg: int = ALG_ED25519) -> Ed25519Signer:
    """A new Ed25519 key under ``name`` (alg 0x04 for a witness's cosignature key)."""
    if not _valid_name(name):
        raise NoteError(f"key name {name!r} is not valid: it must be non-empty, without spaces or '+'")
    private = Ed25519PrivateKey.generate()
    return Ed25519Signer(name, key_id(name, bytes([alg]) + _raw_public(private.public_key())), private, alg)


def parse_vkey(vkey: str) -> Ed25519Verifier:
    """A verifier from its ``name+hash+base64`` text; raises :class:`NoteError` on any mangling."""
    name, _, rest = vkey.partition("+")
    hash16, _, key64 = rest.partition("+")
    try:
        key = _b64decode(key64)
        key_hash = int(hash16, 16)
    except (ValueError, binascii.Error):
        raise NoteError(f"malformed verifier key {vkey!r}") from None
    if len(hash16) != 8 or not re.fullmatch(r"[0-9a-fA-F]{8}", hash16) or not _valid_name(name) or not key:
        raise NoteError(f"malformed verifier key {vkey!r}")
    if key_id(name, key) != key_hash:
        raise NoteError(f"verifier key {name}+{hash16}: the key id does not match the key")
    alg, raw = key[0], key[1:]
    if alg not in (ALG_ED25519, ALG_COSIGNATURE):
        raise NoteError(f"verifier key {name}+{hash16}: unknown key type {alg:#04x}")
    if len(raw) != 32:
        raise NoteError(f"verifier key {name}+{hash16}: an Ed25519 key is 32 bytes, not {len(raw)}")
    return Ed25519Verifier(name, key_hash, Ed25519PublicKey.from_public_bytes(raw), alg)


def parse_skey(skey: str) -> Ed25519Signer:
    """A signer from its ``PRIVATE+KEY+name+hash+base64`` text; raises :class:`NoteError` on any mangling."""
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise NoteError("malformed signer key: it must start with PRIVATE+KEY+")
    _, _, name, hash16, key64 = parts
    try:
        key = _b64decode(key64)
        key_hash = int(hash16, 16)
    except (ValueError, binascii.Error):
        raise NoteError(f"malformed signer key for {name!r}") from None
    if len(hash16) != 8 or not re.fullmatch(r"[0-9a-fA-F]{8}", hash16) or not _valid_name(name) or not key:
        raise NoteError(f"malformed signer key for {name!r}")
    alg, seed = key[0], key[1:]
    if alg not in (ALG_ED25519, ALG_COSIGNATURE) or len(seed) != 32:
        raise NoteError(f"signer key {name}+{hash16}: not an Ed25519 key")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    if key_id(name, bytes([alg]) + _raw_public(private.public_key())) != key_hash:
        raise NoteError(f"signer key {name}+{hash16}: the key id does not match the key")
    return Ed25519Signer(name, key_hash, private, alg)


@dataclass(frozen=True, slots=True)
class Signature:
    name: str
    key_hash: int
    base64: str

    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {self.base64}\n"


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    signatures: tuple[Signature, ...] = ()
    """Verified by one of the verifiers given."""
    unverified: tuple[Signature, ...] = field(default=())
    """By keys not among the verifiers given (kept, not trusted)."""


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("malformed note: the text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("malformed note: control characters in the text")


def sign_note(text: str, signers: Sequence[Signer], *, keep: Iterable[Signature] = ()) -> str:
    """The note ``text`` signed by each of ``signers``; signatures in ``keep`` by other keys stay first."""
    _check_text(text)
    raw = text.encode()
    lines: list[str] = []
    replaced = {(s.name, s.key_hash) for s in signers}
    for sig in keep:
        if (sig.name, sig.key_hash) not in replaced:
            lines.append(sig.line())
    for signer in signers:
        if not _valid_name(signer.name):
            raise NoteError(f"invalid signer name {signer.name!r}")
        blob = base64.b64encode(struct.pack(">I", signer.key_hash) + signer.sign(raw)).decode()
        lines.append(f"{SIG_PREFIX}{signer.name} {blob}\n")
    return text + "\n" + "".join(lines)


def split_note(message: str | bytes) -> tuple[str, list[Signature]]:
    """The text and the signature lines of a signed note, checked for syntax only."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("malformed note: not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in message):
        raise NoteError("malformed note: control characters")
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed note: no signature lines, or the last does not end with a newline")
    signatures: list[Signature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed note: {line[:40]!r} is not a signature line")
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        try:
            blob = _b64decode(b64)
        except (ValueError, binascii.Error):
            raise NoteError(f"malformed note: the signature of {name!r} is not base64") from None
        if not _valid_name(name) or len(blob) < 5:
            raise NoteError(f"malformed note: bad signature line for {name!r}")
        signatures.append(Signature(name, int.from_bytes(blob[:4], "big"), b64))
        if len(signatures) > MAX_SIGNATURES:
            raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    return text, signatures


def open_note(message: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Check a signed note against ``verifiers``: every signature by a known key must verify, and at least
    one must; signatures by unknown keys are returned apart. Raises :class:`NoteError` otherwise."""
    text, signatures = split_note(message)
    known: dict[tuple[str, int], list[Verifier]] = {}
    for verifier in verifiers:
        known.setdefault((verifier.name, verifier.key_hash), []).append(verifier)
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    seen_unknown: set[Signature] = set()
    for sig in signatures:
        key = (sig.name, sig.key_hash)
        candidates = known.get(key, [])
        if not candidates:
            if sig not in seen_unknown:
                seen_unknown.add(sig)
                unverified.append(sig)
            continue
        if len({id(v) for v in candidates}) > 1:
            raise NoteError(f"ambiguous key {sig.name}+{sig.key_hash:08x}")
        if key in seen:
            continue
        seen.add(key)
        if not candidates[0].verify(text.encode(), _b64decode(sig.base64)[4:]):
            raise NoteError(f"invalid signature for key {sig.name}+{sig.key_hash:08x}")
        verified.append(sig)
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return Note(text, tuple(verified), tuple(unverified))


# --- C2SP tlog-checkpoint ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def parse_checkpoint(body: str) -> Checkpoint:
    """A checkpoint from its note text; raises :class:`NoteError` naming what is wrong."""
    if not body.endswith("\n"):
        raise NoteError("malformed checkpoint: it must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(f"malformed checkpoint: {len(lines)} lines, at least 3 are needed")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise NoteError("malformed checkpoint: empty origin line")
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text) or int(size_text) >= 1 << 64:
        raise NoteError(f"malformed checkpoint: tree size {size_text!r} is not a decimal number")
    try:
        root = _b64decode(root_text)
    except (ValueError, binascii.Error):
        raise NoteError(f"malformed checkpoint: root hash {root_text!r} is not base64") from None
    if len(root) != 32:
        raise NoteError(f"malformed checkpoint: the root hash is {len(root)} bytes, not 32")
    if any(not line for line in extensions):
        raise NoteError("malformed checkpoint: empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def cosignature_message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    """What a tlog cosignature signs: the header, the time, and the checkpoint without its extensions."""
    plain = Checkpoint(checkpoint.origin, checkpoint.size, checkpoint.root)
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{plain.body()}".encode()


def cosignature_time(signature: Signature) -> int:
    """The time (POSIX seconds) a cosignature states."""
    blob = _b64decode(signature.base64)
    return int(struct.unpack(">Q", blob[4:12])[0])


def open_checkpoint(
    message: str | bytes, log_verifiers: Iterable[Verifier], *, origin: str
) -> tuple[Checkpoint, Note]:
    """A checkpoint signed by one of the log's keys, for the log ``origin``; raises :class:`NoteError`."""
    note = open_note(message, log_verifiers)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != origin:
        raise NoteError(f"checkpoint is for the log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint, note
