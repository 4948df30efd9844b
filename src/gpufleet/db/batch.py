"""Group commit: submissions from many request threads stored in one transaction each batch.

A commit costs an fsync (SQLite with synchronous=FULL, or PostgreSQL's WAL flush); doing one
per request caps a server at a few hundred submissions a second. One writer thread takes
whatever requests are waiting, stores them together, commits once, and only then answers
each of them, so a job is still durable before its request is acknowledged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from gpufleet.db.records import JobRecord, JobSpec, NewJob
from gpufleet.db.store import Store

log = logging.getLogger("gpufleet.db")
MAX_BATCH = 512

_Item = tuple[NewJob, "Future[tuple[JobRecord, bool]]"]


class GroupCommit:
    """Stores submissions in batches on its own thread; `on_stored` sees each new job, in id
    order, after its commit (the live engine's `submit`)."""

    def __init__(
        self,
        store: Store,
        now: Callable[[], float],
        on_stored: Callable[[JobRecord], None],
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.store = store
        self.now = now
        self.on_stored = on_stored
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(
        self, tenant: str, spec: JobSpec, idempotency_key: str | None = None
    ) -> Future[tuple[JobRecord, bool]]:
        """The future gives (job, True) once stored, or (the key's earlier job, False)."""
        done: Future[tuple[JobRecord, bool]] = Future()
        self._queue.put((NewJob(tenant, spec, idempotency_key), done))
        return done

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("group commit already started")
        self._thread = threading.Thread(target=self._run, name="gpufleet-commit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Store what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[_Item]) -> None:
        try:
            results = self.store.add_jobs([n for n, _ in batch], self.now())
        except Exception as e:
            log.exception("storing %d submissions failed", len(batch))
            for _, done in batch:
                done.set_exception(e)
            return
        for (_, done), (rec, created) in zip(batch, results, strict=True):
            if created:
                self.on_stored(rec)
            done.set_result((rec, created))
