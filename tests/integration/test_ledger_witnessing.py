"""The log asks a partner's borderwatch (a real server on a loopback port) to cosign its checkpoints, through
``borderwatch ledger witnesses add`` and ``borderwatch ledger cosign``; a fork is refused and alerted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings
from borderwatch.db.session import make_engine
from borderwatch.ledger import flows, service, witness, witnessing
from borderwatch.ledger.entries import DocumentEntry, DocumentType, fingerprint
from borderwatch.ledger.keys import KeyStore
from tests.integration.intel_support import add_system, borderwatch_serve, database

ORIGIN = "customs-a.example/ledger"
pytestmark = pytest.mark.xdist_group("witness-server")


def _entries(start: int, n: int, salt: str = "") -> list[DocumentEntry]:
    return [
        DocumentEntry(
            DocumentType.BILL_OF_LADING,
            "carrier",
            f"BL-{i}",
            date(2026, 12, 2),
            "a",
            fingerprint(b"c" * 32, f"bl {i}{salt}".encode()),
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def partner(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """The partner's borderwatch as a witness: its URL, its cosignature verifier key, a token for agency a."""
    directory = tmp_path / "partner"
    directory.mkdir()
    with database("sqlite", directory) as url:
        signer = KeyStore(directory / "data").witness_signer("witness.partner.example")
        token = add_system(url, username="customs-a", agency="a-at-partner")
        with borderwatch_serve(url, directory, agency="partner") as base:
            yield base, signer.vkey, token


def test_scheduled_cosigning_through_the_cli(
    partner: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "log"
    with database("sqlite", tmp_path) as url:
        _log_and_witness(url, data, partner, monkeypatch, tmp_path)


def _log_and_witness(
    url: str, data: Path, partner: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base, witness_vkey, token = partner
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", url)
    monkeypatch.setenv("BORDERWATCH_DATA_DIR", str(data))
    monkeypatch.setenv("BORDERWATCH_AGENCY", "a")
    get_settings.cache_clear()
    cli = CliRunner()
    assert cli.invoke(app, ["ledger", "keygen", "--origin", ORIGIN]).exit_code == 0
    keys = KeyStore(data)
    engine = make_engine(url)
    try:
        flows.append_and_checkpoint(engine, keys, agency="a", entries=_entries(0, 300))
        added = cli.invoke(app, ["ledger", "witnesses", "add", base, "--key", witness_vkey, "--token", token])
        assert added.exit_code == 0, added.output
        assert (data / "ledger" / "witnesses.json").stat().st_mode & 0o777 == 0o600
        first = cli.invoke(app, ["ledger", "cosign"])
        assert first.exit_code == 0 and "witness.partner.example: cosigned (size 300)" in first.output, (
            first.output
        )
        # grown by 5 entries between rounds: the second round sends a consistency proof from 300
        flows.append_and_checkpoint(engine, keys, agency="a", entries=_entries(300, 5))
        looped = cli.invoke(app, ["ledger", "cosign", "--every", "0.1", "--rounds", "2"])
        assert looped.exit_code == 0, looped.output
        assert "cosigned (size 305)" in looped.output and "up to date (size 305)" in looped.output
        latest = service.latest_checkpoint(engine, agency="a")
        assert latest is not None
        note = service.cosigned_note(engine, checkpoint=latest)
        log_vkey = keys.log_signer().vkey
        checkpoint, names = witness.verify_cosigned(
            note, log_vkey=log_vkey, witness_vkeys=[witness_vkey], required=1
        )
        assert (checkpoint.size, names) == (305, ["witness.partner.example"])
        listed = cli.invoke(app, ["ledger", "witnesses", "list"])
        assert "cosigned up to size 305" in listed.output
    finally:
        engine.dispose()
        get_settings.cache_clear()

    # A fork: the same key signs another log of the same origin that does not extend what was cosigned.
    # (a split view: the same size as the checkpoint the witness cosigned, another root)
    with database("sqlite", tmp_path) as fork_url:
        fork = make_engine(fork_url)
        try:
            service.ensure_log(fork, agency="a", origin=ORIGIN)
            flows.append_and_checkpoint(fork, keys, agency="a", entries=_entries(0, 305, salt="forged"))
            (outcome,) = witnessing.cosign_round(
                fork, witnessing.load_witnesses(data), agency="a", log_vkey=keys.log_signer().vkey
            )
        finally:
            fork.dispose()
    assert outcome.status == "refused" and "HTTP 409" in outcome.detail, outcome
