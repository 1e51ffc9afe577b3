"""Appends to a ledger until killed, printing ``ACK <index> <fingerprint>`` once each entry is durable.

Run by test_ledger_durability.py as: python ledger_crash_worker.py DATABASE_URL SKEY_FILE AGENCY START
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from borderwatch.db.session import make_engine
from borderwatch.ledger.entries import DocumentEntry, DocumentType, fingerprint
from borderwatch.ledger.note import parse_skey
from borderwatch.ledger.writer import LogWriter


def main() -> None:
    url, skey_file, agency, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    engine = make_engine(url)
    signer = parse_skey(Path(skey_file).read_text().strip())
    writer = LogWriter(
        engine, agency=agency, signer=signer, max_batch=100, max_delay=0.005, checkpoint_interval=0.02
    )
    n = start
    while True:
        entries = [
            DocumentEntry(
                doc_type=DocumentType.COMMERCIAL_INVOICE,
                issuer="exporter",
                number=f"INV-{n + i}",
                issued_on=date(2026, 12, 1),
                submitter="exporter",
                fingerprint=fingerprint(b"x" * 32, f"invoice {n + i}".encode()),
            )
            for i in range(37)
        ]
        futures = [(e, writer.submit(e)) for e in entries]
        for entry, future in futures:
            receipt = future.result()
            sys.stdout.write(f"ACK {receipt.index} {entry.fingerprint}\n")
        sys.stdout.flush()
        n += len(entries)


if __name__ == "__main__":
    main()
