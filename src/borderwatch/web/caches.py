"""Per-application caches of things that are costly to build and change rarely (the watchlist matcher, the
trader network). Each is rebuilt when its source changes or after a short time, never shared between apps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class Cache:
    """A small keyed cache with a time-to-live; ``get`` builds the value on a miss, one builder at a time."""

    def __init__(self, *, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.RLock()  # builders may ask the cache for their inputs

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
            if found is not None and now - found[0] < self.ttl:
                return found[1]
            value = build()
            # drop what has expired, so that keys that are never asked again do not pile up
            self._values = {k: v for k, v in self._values.items() if now - v[0] < self.ttl}
            self._values[key] = (now, value)
            return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
