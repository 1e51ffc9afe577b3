"""Batched appends with bounded latency: submitters wait for the commit of the batch holding their entry.

A single thread takes what was submitted, up to ``max_batch`` entries or whatever arrived within ``max_delay``
seconds of the first one, appends it as one durable transaction (:func:`service.append`) and only then
answers each submitter with its receipt (or the error). A checkpoint is signed after a batch when the last one
is older than ``checkpoint_interval`` seconds, and when the writer closes.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Engine

from borderwatch.ledger import service
from borderwatch.ledger.entries import DocumentEntry
from borderwatch.ledger.note import Signer


@dataclass(slots=True)
class _Pending:
    entry: DocumentEntry
    future: Future[service.Receipt]


class LogWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        agency: str,
        signer: Signer | None = None,
        max_batch: int = 2000,
        max_delay: float = 0.05,
        checkpoint_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.agency = agency
        self.signer = signer
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.checkpoint_interval = checkpoint_interval
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._last_checkpoint = 0.0
        self._thread = threading.Thread(target=self._run, name=f"ledger-writer-{agency}", daemon=True)
        self._thread.start()

    def submit(self, entry: DocumentEntry) -> Future[service.Receipt]:
        """Queue ``entry``; the future resolves with its receipt once its batch is durable."""
        future: Future[service.Receipt] = Future()
        self._queue.put(_Pending(entry, future))
        return future

    def close(self) -> None:
        """Append what is queued, sign a last checkpoint, stop."""
        self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self.max_delay
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = (
                        self._queue.get(timeout=max(remaining, 0.0))
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._flush(batch)
        self._checkpoint(force=True)

    def _flush(self, batch: list[_Pending]) -> None:
        try:
            receipts = service.append(self.engine, agency=self.agency, entries=[p.entry for p in batch])
        except Exception as error:  # every submitter of the batch learns why
            for pending in batch:
                pending.future.set_exception(error)
            return
        for pending, receipt in zip(batch, receipts, strict=True):
            pending.future.set_result(receipt)
        self._checkpoint(force=False)

    def _checkpoint(self, *, force: bool) -> None:
        if self.signer is None:
            return
        now = time.monotonic()
        if force or now - self._last_checkpoint >= self.checkpoint_interval:
            service.publish_checkpoint(self.engine, agency=self.agency, signer=self.signer)
            self._last_checkpoint = now
