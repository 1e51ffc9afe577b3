"""Batched appends with bounded latency: submitters wait for the commit of the batch holding their entry.

A single thread takes what was submitted, up to ``max_batch`` entries or whatever arrived within ``max_delay``
seconds of the first one, appends it as one durable transaction (:func:`service.append`) and only then
answers each submitter with its receipt (or the error). A checkpoint is signed at most ``checkpoint_interval``
seconds after an entry was appended (after a batch when the last one is older than that, otherwise when the
interval ends with no further batch), and when the writer closes; :meth:`LogWriter.checkpoint_covering` waits
for the first one that covers a given size.

Every writer of a process comes from one :class:`WriterPool` (one writer per agency's log): each log has
one appending thread, so batches are as large as the load allows and never race for the log's lock.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Engine

from borderwatch.ledger import service
from borderwatch.ledger.entries import DocumentEntry
from borderwatch.ledger.note import Signer

WAIT_SECONDS = 30.0  # how long a caller waits for its entry to be durable (or its checkpoint) at most


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
        self._appended = 0  # the log's size after this writer's newest batch
        self._signed = 0  # the size of the newest checkpoint this writer signed
        self._waiters: list[tuple[int, Future[service.StoredCheckpoint]]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"ledger-writer-{agency}", daemon=True)
        self._thread.start()

    def submit(self, entry: DocumentEntry) -> Future[service.Receipt]:
        """Queue ``entry``; the future resolves with its receipt once its batch is durable."""
        future: Future[service.Receipt] = Future()
        self._queue.put(_Pending(entry, future))
        return future

    def checkpoint_covering(self, size: int) -> Future[service.StoredCheckpoint]:
        """A future resolved with the first checkpoint this writer signs of at least ``size`` entries."""
        future: Future[service.StoredCheckpoint] = Future()
        if self.signer is None:
            future.set_exception(ValueError("this writer signs no checkpoints"))
            return future
        with self._lock:
            self._waiters.append((size, future))
        return future

    def close(self) -> None:
        """Append what is queued, sign a last checkpoint, stop."""
        self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _next(self, timeout: float | None) -> _Pending | None:
        """The next queued item (None: close); raises ``queue.Empty`` when ``timeout`` passes first."""
        if timeout is not None and timeout <= 0:
            return self._queue.get_nowait()
        return self._queue.get(timeout=timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            unsigned = self.signer is not None and self._appended > self._signed
            due = self._last_checkpoint + self.checkpoint_interval - time.monotonic() if unsigned else None
            try:
                first = self._next(due)
            except queue.Empty:  # entries appended, none since, and the checkpoint interval is over
                self._checkpoint(force=True)
                continue
            if first is None:
                break
            batch = [first]
            deadline = time.monotonic() + self.max_delay
            while len(batch) < self.max_batch:
                try:
                    item = self._next(deadline - time.monotonic())
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
        self._appended = receipts[-1].index + 1
        for pending, receipt in zip(batch, receipts, strict=True):
            pending.future.set_result(receipt)
        self._checkpoint(force=False)

    def _checkpoint(self, *, force: bool) -> None:
        if self.signer is None:
            return
        now = time.monotonic()
        if not (force or now - self._last_checkpoint >= self.checkpoint_interval):
            return
        try:
            checkpoint = service.publish_checkpoint(self.engine, agency=self.agency, signer=self.signer)
        except Exception as error:  # whoever waits for a checkpoint learns why
            self._resolve(lambda size: True, error=error)
            self._last_checkpoint = now
            return
        self._last_checkpoint = now
        self._signed = checkpoint.size
        self._resolve(lambda size: size <= checkpoint.size, checkpoint=checkpoint)

    def _resolve(
        self,
        covered: Callable[[int], bool],
        *,
        checkpoint: service.StoredCheckpoint | None = None,
        error: Exception | None = None,
    ) -> None:
        with self._lock:
            done = [(size, future) for size, future in self._waiters if covered(size)]
            self._waiters = [waiter for waiter in self._waiters if waiter not in done]
        for _, future in done:
            if checkpoint is not None:
                future.set_result(checkpoint)
            else:
                future.set_exception(error or RuntimeError("no checkpoint"))


class WriterPool:
    """One :class:`LogWriter` per agency's log, made on first use, all closed together.

    ``signer`` is asked for the log's signing key when an agency's writer is made (the key lives in files
    that may be written after the process started, by ``borderwatch ledger keygen``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        signer: Callable[[], Signer],
        max_delay: float = 0.02,
        checkpoint_interval: float = 0.25,
    ) -> None:
        self.engine = engine
        self._signer = signer
        self._max_delay = max_delay
        self._interval = checkpoint_interval
        self._writers: dict[str, LogWriter] = {}
        self._lock = threading.Lock()

    def writer(self, agency: str) -> LogWriter:
        with self._lock:
            found = self._writers.get(agency)
            if found is None:
                found = LogWriter(
                    self.engine,
                    agency=agency,
                    signer=self._signer(),
                    max_delay=self._max_delay,
                    checkpoint_interval=self._interval,
                )
                self._writers[agency] = found
            return found

    def close(self) -> None:
        with self._lock:
            writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            writer.close()
