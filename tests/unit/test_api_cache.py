"""The web application's cache: expiry, and refresh in the background without making callers wait."""

from __future__ import annotations

import threading
import time

from borderwatch.core.cache import Cache


def test_expired_values_are_rebuilt() -> None:
    cache = Cache(ttl_seconds=0.0)
    built = iter(range(10))
    assert cache.get("k", lambda: next(built)) == 0
    assert cache.get("k", lambda: next(built)) == 1
    kept = Cache(ttl_seconds=60.0)
    assert kept.get("k", lambda: "a") == "a"
    assert kept.get("k", lambda: "b") == "a"
    assert kept.get("k", lambda: "c", ttl=0.0) == "a"  # the stored value's own ttl decides


def test_refresh_returns_the_old_value_while_rebuilding() -> None:
    cache = Cache(ttl_seconds=60.0)
    release = threading.Event()

    def slow() -> str:
        release.wait(5)
        return "new"

    assert cache.get("k", lambda: "old", refresh_after=0.0) == "old"
    started = time.monotonic()
    assert cache.get("k", slow, refresh_after=0.0) == "old"  # answered before the rebuild finished
    assert time.monotonic() - started < 1
    release.set()
    deadline = time.monotonic() + 5
    while cache.get("k", slow) != "new" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get("k", slow) == "new"


def test_refresh_updates_the_old_value_when_told_how() -> None:
    cache = Cache(ttl_seconds=60.0)
    assert cache.get("k", lambda: 1) == 1
    assert cache.get("k", lambda: 1, refresh_after=0.0, update=lambda old: old + 10) == 1
    deadline = time.monotonic() + 5
    while cache.get("k", lambda: 1) == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get("k", lambda: 1) == 11  # updated from the old value, not built again


def test_peek_never_builds_and_put_keeps_a_value_for_its_ttl() -> None:
    import time

    cache = Cache(ttl_seconds=60.0)
    assert cache.peek("k") is None
    cache.put("k", 41, ttl=0.05)
    assert cache.peek("k") == 41
    time.sleep(0.06)
    assert cache.peek("k") is None
