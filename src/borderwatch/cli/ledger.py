"""``borderwatch ledger keygen|register|verify|checkpoint|keys|export-verifier|witnesses|cosign``: the
document ledger."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from borderwatch.cli.common import audit_cli_apart, console, fail, open_database, parse_date_option
from borderwatch.core.settings import get_settings
from borderwatch.ledger import flows, service, witnessing
from borderwatch.ledger import standalone_verifier as standalone
from borderwatch.ledger.entries import DocumentType, LedgerError, fingerprint
from borderwatch.ledger.keys import KeyStore, load_issuer_key
from borderwatch.ledger.note import NoteError

ledger_app = typer.Typer(
    help="The tamper-evident document ledger (RFC 9162 log, C2SP checkpoints).", no_args_is_help=True
)


@ledger_app.command("keygen")
def keygen(
    origin: Annotated[
        str | None, typer.Option(help="the log's origin (default: borderwatch.local/AGENCY)")
    ] = None,
    witness: Annotated[
        str | None, typer.Option(help="create this borderwatch's witness key under this name")
    ] = None,
) -> None:
    """Create the log's signing key outside the database (again: rotation; old verifier keys stay)."""
    settings = get_settings()
    keys = KeyStore(settings.data_dir)
    if witness:
        console.print(f"witness key: {keys.witness_signer(witness).vkey}", soft_wrap=True)
        return
    engine, _ = open_database(settings)
    try:
        log = service.ensure_log(
            engine, agency=settings.agency, origin=origin or f"borderwatch.local/{settings.agency}"
        )
        signer = keys.generate_log_key(log.origin)
        checkpoint = service.publish_checkpoint(engine, agency=settings.agency, signer=signer)
    except (LedgerError, NoteError) as error:
        fail(str(error))
    audit_cli_apart(
        resource="ledger",
        action="keygen",
        resource_id=signer.vkey,
        detail={"origin": log.origin, "checkpoint_size": checkpoint.size},
    )
    console.print(f"log {log.origin}: signing key written to {keys.keys} (mode 0600)")
    console.print(f"verifier key (publish it): {signer.vkey}", soft_wrap=True)


@ledger_app.command("register")
def register_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the document")],
    doc_type: Annotated[DocumentType, typer.Option("--type", help="the kind of document")],
    issuer: Annotated[
        str, typer.Option(help="who issued it (its fingerprint key is data_dir/ledger/issuers/)")
    ],
    number: Annotated[str, typer.Option(help="the document's number")],
    issued_on: Annotated[str | None, typer.Option(help="issue date, YYYY-MM-DD")] = None,
    out: Annotated[Path | None, typer.Option(help="write the proof bundle here (JSON)")] = None,
) -> None:
    """Register a document's fingerprint: appended durably, covered by a new signed checkpoint."""
    settings = get_settings()
    engine, _ = open_database(settings)
    keys = KeyStore(settings.data_dir)
    when: date | None = parse_date_option(issued_on, "--issued-on")
    try:
        done = flows.register_document(
            engine,
            keys,
            agency=settings.agency,
            document=file.read_bytes(),
            doc_type=doc_type,
            issuer=issuer,
            number=number,
            issued_on=when,
            submitter=settings.agency,
        )
        bundle = flows.proof_bundle(engine, agency=settings.agency, index=done.receipt.index)
    except (LedgerError, NoteError) as error:
        fail(str(error))
    audit_cli_apart(
        resource="ledger",
        action="register",
        resource_id=str(done.receipt.index),
        detail={"issuer": issuer, "number": number, "type": str(doc_type)},
    )
    if out:
        out.write_text(json.dumps(bundle, indent=2))
    console.print(
        f"registered {doc_type} {number} of {issuer}: entry {done.receipt.index}, "
        f"checkpoint of {done.checkpoint.size} entries" + (f", proof bundle {out}" if out else "")
    )


@ledger_app.command("verify")
def verify(  # noqa: PLR0917 - Typer maps parameters to options
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the document")],
    issuer: Annotated[str, typer.Option(help="who issued it")],
    number: Annotated[
        str | None, typer.Option(help="its number: tells an altered document from an unknown one")
    ] = None,
    issuer_key: Annotated[
        Path | None, typer.Option(help="the issuer's key file (default: the local one)")
    ] = None,
    log: Annotated[
        str | None, typer.Option("--log", help="ask this log (base URL) instead of the local one")
    ] = None,
    log_key: Annotated[
        str | None, typer.Option(help="the log's verifier key (default: the local log's)")
    ] = None,
    witness: Annotated[list[str] | None, typer.Option(help="a witness verifier key (repeat)")] = None,
    min_witnesses: Annotated[int, typer.Option(help="cosignatures required")] = 0,
) -> None:
    """Check a document: registered (by whom, when) and proven, altered, or unregistered. Exit 0, 1 or 2."""
    settings = get_settings()
    keys = KeyStore(settings.data_dir)
    try:
        key = load_issuer_key(issuer_key) if issuer_key else keys.issuer_key(issuer)
        vkey = log_key or keys.log_verifiers()[-1].vkey
    except (LedgerError, IndexError) as error:
        fail(str(error) or "no log verifier key: give --log-key")
    fp = fingerprint(key, file.read_bytes())
    engine = None
    if log:
        bundles = standalone.fetch_bundles(log, fp)
    else:
        engine, _ = open_database(settings)
        try:
            found = service.find_by_fingerprint(engine, agency=settings.agency, fingerprint=fp)
            bundles = [flows.proof_bundle(engine, agency=settings.agency, index=e.index) for e in found]
        except LedgerError as error:
            fail(str(error))
    if not log:
        audit_cli_apart(
            resource="ledger",
            action="verify",
            resource_id=fp[:16],
            detail={"issuer": issuer, "found": len(bundles)},
        )
    if not bundles:
        altered = (
            engine is not None
            and number is not None
            and bool(service.find_document(engine, agency=settings.agency, issuer=issuer, number=number))
        )
        if altered:
            console.print(f"[bold red]ALTERED[/]: {issuer} registered {number} with other content")
            raise typer.Exit(2)
        console.print("[yellow]NOT REGISTERED[/]: no entry holds this document's fingerprint")
        raise typer.Exit(1)
    try:
        entries = [standalone.check_bundle(b, fp, vkey, witness or [], min_witnesses) for b in bundles]
    except standalone.VerifyError as error:
        console.print(f"[bold red]INVALID[/]: {error}")
        raise typer.Exit(2) from None
    for entry in entries:
        console.print(
            f"[green]REGISTERED[/]: entry {entry['index']} (proven in a tree of {entry['tree_size']}): "
            f"{entry['type']} {entry['number']} of {entry['issuer']}, by {entry['submitter']} at "
            f"{entry['time']}",
            soft_wrap=True,
        )
    if len(entries) > 1:
        console.print(f"[yellow]registered {len(entries)} times[/]")


@ledger_app.command("checkpoint")
def checkpoint() -> None:
    """Print the newest signed checkpoint (with its cosignatures)."""
    settings = get_settings()
    engine, _ = open_database(settings)
    try:
        latest = service.latest_checkpoint(engine, agency=settings.agency)
    except LedgerError as error:
        fail(str(error))
    if latest is None:
        fail("the log has published no checkpoint")
    console.print(service.cosigned_note(engine, checkpoint=latest), end="", highlight=False, soft_wrap=True)


@ledger_app.command("keys")
def list_keys() -> None:
    """The log's verifier keys, current and rotated (publish them)."""
    for verifier in KeyStore(get_settings().data_dir).log_verifiers():
        console.print(verifier.vkey, soft_wrap=True, highlight=False)


@ledger_app.command("export-verifier")
def export_verifier(
    path: Annotated[Path, typer.Argument(help="where to write the single-file verifier")],
) -> None:
    """Write the single-file verifier (standard library and cryptography only): for anyone."""
    shutil.copyfile(standalone.__file__, path)
    console.print(
        f"wrote {path}: python {path.name} DOCUMENT --issuer-key KEY --log-key VKEY --bundle|--log ..."
    )


witnesses_app = typer.Typer(
    help="The partner witnesses that cosign this log's checkpoints.", no_args_is_help=True
)
ledger_app.add_typer(witnesses_app, name="witnesses")


@witnesses_app.command("add")
def add_witness(
    url: Annotated[str, typer.Argument(help="the witness's borderwatch, e.g. https://partner.example")],
    key: Annotated[str, typer.Option(help="its cosignature verifier key (name+hash+base64)")],
    token: Annotated[
        str, typer.Option(help="the API token the partner issued this agency", envvar="BW_WITNESS_TOKEN")
    ],
) -> None:
    """Add a witness (or replace the one at that URL); kept in data_dir/ledger/witnesses.json, mode 0600."""
    settings = get_settings()
    try:
        witnessing.add_witness(settings.data_dir, witnessing.Witness(url=url, vkey=key, token=token))
    except (LedgerError, NoteError) as error:
        fail(str(error))
    audit_cli_apart(
        resource="ledger", action="witness_add", resource_id=url, detail={"witness": key.split("+", 1)[0]}
    )
    console.print(f"witness {key.split('+', 1)[0]} at {url} added")


@witnesses_app.command("list")
def list_witnesses() -> None:
    """The witnesses and the newest checkpoint size each has cosigned."""
    settings = get_settings()
    engine, _ = open_database(settings)
    for w in witnessing.load_witnesses(settings.data_dir):
        try:
            size = witnessing.last_cosigned_size(engine, agency=settings.agency, witness=w.name)
        except LedgerError as error:
            fail(str(error))
        console.print(f"{w.name}  {w.url}  cosigned up to size {size}", highlight=False)


@ledger_app.command("cosign")
def cosign(
    every: Annotated[float, typer.Option(help="seconds between rounds; 0: one round")] = 0.0,
    rounds: Annotated[int, typer.Option(help="stop after this many rounds (0: until interrupted)")] = 0,
) -> None:
    """Ask each witness to cosign the newest checkpoint (C2SP tlog-cosignature), once or every N seconds;
    exits non-zero when a witness refused (a fork it saw) in the last round."""
    settings = get_settings()
    engine, _ = open_database(settings)
    witnesses = witnessing.load_witnesses(settings.data_dir)
    if not witnesses:
        fail("no witness: add one with 'borderwatch ledger witnesses add URL --key VKEY --token TOKEN'")
    done, refused = 0, False
    while True:
        try:
            log_vkey = KeyStore(settings.data_dir).log_signer().vkey
            outcomes = witnessing.cosign_round(engine, witnesses, agency=settings.agency, log_vkey=log_vkey)
        except (LedgerError, NoteError) as error:
            fail(str(error))
        for o in outcomes:
            console.print(f"{o.witness}: {o.status} (size {o.size}) {o.detail}".rstrip(), highlight=False)
        refused = any(o.status == "refused" for o in outcomes)
        audit_cli_apart(
            resource="ledger",
            action="cosign_round",
            resource_id=None,
            detail={o.witness: o.status for o in outcomes},
        )
        done += 1
        if every <= 0 or (rounds and done >= rounds):
            break
        time.sleep(every)
    if refused:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
