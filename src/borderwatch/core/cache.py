"""Per-application caches of things that are costly to build and change rarely (the watchlist matcher, the
trader network, the scoring model and history snapshot). Each is rebuilt when its source changes or after a
time, never shared between apps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class Cache:
    """A small keyed cache with a time-to-live; ``get`` builds the value on a miss, one builder at a time.

    A builder runs under the cache's lock, so it must not write to the database (nor flush a request
    session's pending rows): on SQLite a request holding the write lock may be waiting for this lock."""

    def __init__(self, *, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._values: dict[Hashable, tuple[float, float, Any]] = {}  # key -> (built at, ttl, value)
        self._refreshing: set[Hashable] = set()
        self._lock = threading.RLock()  # builders may ask the cache for their inputs

    def get(
        self,
        key: Hashable,
        build: Callable[[], Any],
        *,
        ttl: float | None = None,
        refresh_after: float | None = None,
        update: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The value of ``key``, built by ``build`` when missing or older than ``ttl`` (default: the cache's).

        With ``refresh_after`` (< ``ttl``), a value older than that is still returned at once while one
        background thread rebuilds it: callers never wait for a rebuild of a value they already had. That
        thread calls ``update(old value)`` when given (which may bring the old value up to date for less
        than a build), else ``build()``.
        """
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
            if found is not None and now - found[0] < found[1]:
                if (
                    refresh_after is not None
                    and now - found[0] >= refresh_after
                    and key not in self._refreshing
                ):
                    self._refreshing.add(key)
                    old, life = found[2], found[1]
                    rebuild = build if update is None else lambda: update(old)
                    threading.Thread(target=self._refresh, args=(key, rebuild, life), daemon=True).start()
                return found[2]
            value = build()
            self._store(key, value, self.ttl if ttl is None else ttl)
            return value

    def _refresh(self, key: Hashable, build: Callable[[], Any], ttl: float) -> None:
        try:
            value = build()  # outside the lock: requests keep being answered from the old value meanwhile
            with self._lock:
                self._store(key, value, ttl)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _store(self, key: Hashable, value: Any, ttl: float) -> None:
        now = time.monotonic()
        # drop what has expired, so that keys that are never asked again do not pile up
        self._values = {k: v for k, v in self._values.items() if now - v[0] < v[1]}
        self._values[key] = (now, ttl, value)

    def live(self) -> list[tuple[Hashable, Any]]:
        """The keys and values not expired yet (without building or refreshing anything)."""
        now = time.monotonic()
        with self._lock:
            return [(key, found[2]) for key, found in self._values.items() if now - found[0] < found[1]]

    def peek(self, key: Hashable) -> Any | None:
        """The value of ``key`` if it is there and not expired, else None; never builds anything."""
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
            return found[2] if found is not None and now - found[0] < found[1] else None

    def put(self, key: Hashable, value: Any, *, ttl: float | None = None) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds (default: the cache's), built by the caller
        outside the cache's lock (so it may read the database)."""
        with self._lock:
            self._store(key, value, self.ttl if ttl is None else ttl)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
