"""``borderwatch ledger``: keygen, register, verify (registered, altered, unregistered), key rotation, and the
single-file verifier run as a separate process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borderwatch.cli.main import app
from borderwatch.core.settings import get_settings


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("BORDERWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("BORDERWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BORDERWATCH_AGENCY", "nl-customs")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_register_verify_rotate_and_the_standalone_verifier(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["ledger", "keygen", "--origin", "customs.example/ledger"])
    assert result.exit_code == 0, result.output
    vkey = result.output.split("verifier key (publish it): ")[1].split()[0]
    doc = tmp_path / "co.pdf"
    doc.write_bytes(b"certificate of origin CO-1, steel coils, origin VN")
    bundle = tmp_path / "co.json"
    result = cli.invoke(
        app,
        [
            "ledger",
            "register",
            str(doc),
            "--type",
            "certificate_of_origin",
            "--issuer",
            "chamber-vn",
            "--number",
            "CO-1",
            "--issued-on",
            "2026-11-30",
            "--out",
            str(bundle),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "entry 0" in result.output
    result = cli.invoke(app, ["ledger", "verify", str(doc), "--issuer", "chamber-vn"])
    assert result.exit_code == 0 and "REGISTERED" in result.output and "nl-customs" in result.output
    # Rotation: a new key signs new checkpoints, the old checkpoint and bundle still verify.
    assert cli.invoke(app, ["ledger", "keygen"]).exit_code == 0
    assert len(cli.invoke(app, ["ledger", "keys"]).output.split()) == 2
    issuer_key = tmp_path / "data" / "ledger" / "issuers" / "chamber-vn.key"
    assert issuer_key.stat().st_mode & 0o777 == 0o600
    verifier = tmp_path / "bw_ledger_verify.py"
    assert cli.invoke(app, ["ledger", "export-verifier", str(verifier)]).exit_code == 0

    def standalone(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-I",
                str(verifier),
                str(doc),
                "--issuer-key",
                str(issuer_key),
                "--log-key",
                vkey,
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    ran = standalone("--bundle", str(bundle))
    assert ran.returncode == 0 and "REGISTERED: entry 0" in ran.stdout, ran.stdout + ran.stderr
    # Altered: same issuer and number, other bytes.
    doc.write_bytes(b"certificate of origin CO-1, steel coils, origin CN")
    result = cli.invoke(app, ["ledger", "verify", str(doc), "--issuer", "chamber-vn", "--number", "CO-1"])
    assert result.exit_code == 2 and "ALTERED" in result.output
    assert standalone("--bundle", str(bundle)).returncode == 2
    result = cli.invoke(app, ["ledger", "verify", str(doc), "--issuer", "chamber-vn"])
    assert result.exit_code == 1 and "NOT REGISTERED" in result.output
    checkpoint = cli.invoke(app, ["ledger", "checkpoint"]).output
    assert checkpoint.startswith("customs.example/ledger\n1\n")
    audit = cli.invoke(app, ["audit", "--resource", "ledger"])
    assert "register" in audit.output, audit.output
