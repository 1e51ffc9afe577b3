"""kill -9 during appends: no acknowledged entry lost, the log goes on, every checkpoint stays consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from borderwatch.ledger import service, verify_consistency
from borderwatch.ledger.merkle import leaf_hash, root_from_leaf_hashes
from borderwatch.ledger.note import generate_key, open_checkpoint, parse_vkey

WORKER = Path(__file__).with_name("ledger_crash_worker.py")
ORIGIN = "borderwatch.test/durable"


def run_until_killed(url: str, skey: Path, start: int, acks_wanted: int) -> list[tuple[int, str]]:
    process = subprocess.Popen(
        [sys.executable, str(WORKER), url, str(skey), "a", str(start)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acks: list[tuple[int, str]] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while len(acks) < acks_wanted and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        _, index, fp = line.split()
        acks.append((int(index), fp))
    # Killed while it appends: its writer holds a batch in flight, its main thread submits the next.
    process.send_signal(signal.SIGKILL)
    process.wait()
    for line in process.stdout:  # acknowledgements printed before the kill count too
        _, index, fp = line.split()
        acks.append((int(index), fp))
    assert len(acks) >= acks_wanted, "the worker did not acknowledge enough entries"
    return acks


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_entry(engine: Engine, database_url: str, tmp_path: Path) -> None:
    signer = generate_key(ORIGIN)
    skey = tmp_path / "log.skey"
    skey.write_text(signer.skey)
    service.ensure_log(engine, agency="a", origin=ORIGIN)
    acks: list[tuple[int, str]] = []
    for round_number in range(2):
        acks += run_until_killed(database_url, skey, start=round_number * 100_000, acks_wanted=300)
    # The log continues after the last crash.
    after = service.append(engine, agency="a", entries=[])
    assert after == []
    newest = service.publish_checkpoint(engine, agency="a", signer=signer)
    log = service.log_info(engine, agency="a")
    assert newest.size == log.size >= len(acks)
    stored_entries = service.entries_range(engine, agency="a", start=0, stop=log.size)
    assert [e.index for e in stored_entries] == list(range(log.size))
    for index, fp in acks:
        assert stored_entries[index].fingerprint == fp
    # The tree stored equals the tree of the entries stored: no batch half-written.
    leaves = [leaf_hash(e.data) for e in stored_entries]
    assert root_from_leaf_hashes(leaves) == log.root
    verifier = parse_vkey(signer.vkey)
    published = service.all_checkpoints(engine, agency="a")
    # Checkpoints are published every 20 ms while the workers run, so how many depends on the machine's load;
    # at least one per crashed round and the newest must be there.
    assert len(published) >= 3
    for stored in published:
        checkpoint, _ = open_checkpoint(stored.note, [verifier], origin=ORIGIN)
        if checkpoint.size:
            proof = service.consistency(engine, agency="a", size1=checkpoint.size, size2=newest.size)
            verify_consistency(checkpoint.size, newest.size, proof, checkpoint.root, newest.root)
