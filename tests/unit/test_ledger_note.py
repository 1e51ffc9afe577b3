"""Signed notes, checkpoints and cosignatures against the published vectors of Go's note package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.ledger.note import (
    ALG_COSIGNATURE,
    ALG_ED25519,
    Checkpoint,
    CosignatureSigner,
    NoteError,
    cosignature_time,
    encode_vkey,
    generate_key,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_skey,
    parse_vkey,
    sign_note,
)
from tests.hypothesis_profiles import examples

V = json.loads((Path(__file__).parents[1] / "fixtures" / "ledger" / "go_note_vectors.json").read_text())


def test_the_go_keys_parse_and_sign_byte_for_byte() -> None:
    verifier = parse_vkey(V["peter_vkey"])
    signer = parse_skey(V["peter_skey"])
    assert verifier.name == signer.name == "PeterNeumann"
    assert f"{verifier.key_hash:08x}" == f"{signer.key_hash:08x}" == V["peter_key_hash"]
    assert signer.vkey == V["peter_vkey"] and signer.skey == V["peter_skey"]
    # Ed25519 is deterministic: the note must be the Go package's output exactly.
    assert sign_note(V["text"], [signer]) == V["text"] + "\n" + V["peter_sig"]
    note = open_note(V["text"] + "\n" + V["peter_sig"], [verifier])
    assert note.text == V["text"] and [s.name for s in note.signatures] == ["PeterNeumann"]


def test_every_mangling_of_a_key_is_refused() -> None:
    vkey, skey = V["peter_vkey"], V["peter_skey"]
    for key, parse in ((vkey, parse_vkey), (skey, parse_skey)):
        for i in range(len(key) + 1):
            for j in range(i + 1, len(key) + 1):
                if (i, j) != (0, len(key)):
                    with pytest.raises(NoteError):
                        parse(key[i:j])
        for i in range(len(key)):
            with pytest.raises(NoteError):
                parse(key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :])
    for bad in V["bad_vkeys"]:
        with pytest.raises(NoteError):
            parse_vkey(bad)


def test_open_as_the_go_package_does() -> None:
    peter, enoch = parse_vkey(V["peter_vkey"]), parse_vkey(V["enoch_vkey"])
    text, psig, esig = V["text"], V["peter_sig"], V["enoch_sig"]
    one = open_note(text + "\n" + psig + esig, [peter])
    assert [s.name for s in one.signatures] == ["PeterNeumann"]
    assert [s.name for s in one.unverified] == ["EnochRoot"]
    both = open_note(text + "\n" + psig + esig, [peter, enoch])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(text + "\n" + psig + esig, [])
    with pytest.raises(NoteError, match="ambiguous key EnochRoot"):
        open_note(text + "\n" + esig, [enoch, peter, parse_vkey(V["enoch_vkey"])])
    with pytest.raises(NoteError, match="malformed"):
        open_note(text + "\n" + psig * 101, [peter])
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann"):
        open_note(text + "\n" + psig[:60] + "ABCD" + psig[60:], [peter])
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(text.replace("cryptography", "cryptographY") + "\n" + psig, [peter])
    bad_messages = [
        text,
        text + "\n",
        text + "\n" + psig[:-1],
        "\x01" + text + "\n" + psig,
        b"\xff" + (text + "\n" + psig).encode(),
        text + "\n" + "— Bad Name " + psig.split(" ")[2].strip(),
        text + "\n" + psig + "Unexpected line.\n",
    ]
    for message in bad_messages:
        with pytest.raises(NoteError, match="malformed"):
            open_note(message, [peter])
    with pytest.raises(NoteError, match="must end with a newline"):
        sign_note("abc", [parse_skey(V["peter_skey"])])


def test_a_published_sumdb_checkpoint_verifies() -> None:
    checkpoint, _ = open_checkpoint(
        V["sumdb_checkpoint"], [parse_vkey(V["sumdb_vkey"])], origin="go.sum database tree"
    )
    assert checkpoint.size == 31700353 and len(checkpoint.root) == 32
    with pytest.raises(NoteError, match=r"not 'other\.example/log'"):
        open_checkpoint(V["sumdb_checkpoint"], [parse_vkey(V["sumdb_vkey"])], origin="other.example/log")
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(
            V["sumdb_checkpoint"].replace("31700353", "31700354"),
            [parse_vkey(V["sumdb_vkey"])],
            origin="go.sum database tree",
        )


def test_malformed_checkpoints_are_refused() -> None:
    root = "qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs="
    for body, reason in [
        (f"example.org/log\n42\n{root}", "newline"),
        ("example.org/log\n42\n", "at least 3"),
        (f"\n42\n{root}\n", "empty origin"),
        (f"example.org/log\n-42\n{root}\n", "not a decimal"),
        (f"example.org/log\n042\n{root}\n", "not a decimal"),
        (f"example.org/log\n4 2\n{root}\n", "not a decimal"),
        ("example.org/log\n42\nthisisnotright\n", "not base64"),
        (f"example.org/log\n42\n{root[:-4]}\n", "bytes, not 32"),
        (f"example.org/log\n42\n{root}\n\n", "empty extension"),
    ]:
        with pytest.raises(NoteError, match=reason):
            parse_checkpoint(body)
    parsed = parse_checkpoint(f"example.org/log\n42\n{root}\nextension line\n")
    assert parsed.extensions == ("extension line",)
    assert parsed.body() == f"example.org/log\n42\n{root}\nextension line\n"


@settings(max_examples=examples(50), deadline=None)
@given(
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    origin=st.from_regex(r"[a-z0-9.]{1,20}/[a-z0-9]{1,10}", fullmatch=True),
)
def test_checkpoints_round_trip(size: int, root: bytes, origin: str) -> None:
    checkpoint = Checkpoint(origin, size, root)
    assert parse_checkpoint(checkpoint.body()) == checkpoint


def test_a_cosignature_verifies_only_its_checkpoint() -> None:
    log = generate_key("example.org/log")
    witness = generate_key("witness.example", alg=ALG_COSIGNATURE)
    body = Checkpoint("example.org/log", 10, bytes(range(32))).body()
    signed = sign_note(body, [log])
    _, note = open_checkpoint(signed, [parse_vkey(log.vkey)], origin="example.org/log")
    cosigned = sign_note(body, [CosignatureSigner(witness, clock=1_700_000_000.0)], keep=note.signatures)
    opened = open_note(cosigned, [parse_vkey(log.vkey), parse_vkey(witness.vkey)])
    assert [s.name for s in opened.signatures] == ["example.org/log", "witness.example"]
    assert cosignature_time(opened.signatures[1]) == 1_700_000_000
    assert witness.vkey.split("+")[2].startswith("B")  # key type 0x04
    # The same cosignature on another checkpoint (another size) is refused.
    other = Checkpoint("example.org/log", 11, bytes(range(32))).body()
    forged = other + "\n" + opened.signatures[1].line()
    with pytest.raises(NoteError, match=r"invalid signature for key witness\.example"):
        open_note(forged, [parse_vkey(witness.vkey)])
    # A witness's cosignature is not a signature of the note text: as the log's key it does not verify.
    as_log_key = parse_vkey(encode_vkey("witness.example", ALG_ED25519, witness.public_key))
    assert as_log_key.key_hash != witness.key_hash  # the key id covers the key type
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(body + "\n" + opened.signatures[1].line(), [as_log_key])
