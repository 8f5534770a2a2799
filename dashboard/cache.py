"""A small in-process cache keyed by the database's data stamp.

The stamp (`facts.read_stamp`: the highest page, version, prediction, label and run ids) moves
whenever anything the dashboard shows changes; it is read at most every couple of seconds, and
at once after the dashboard itself writes. Entries (search results, and the figures each screen
counts: `screens.Reader.figure`) remember the stamp they were
computed at and are recomputed as soon as it moves.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

STAMP_TTL_SECONDS = 2.0
T = TypeVar("T")
S = TypeVar("S", bound=Hashable)


class AggregateCache:
    def __init__(self, max_entries: int = 256, max_age: float = 600.0):
        self.max_entries = max_entries
        self.max_age = max_age
        self._entries: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._stamp: tuple[float, Any] | None = None

    def stamp(self, read_stamp: Callable[[], S]) -> S:
        """The data stamp, read at most every STAMP_TTL_SECONDS (reading it costs a few index lookups)."""
        now = time.monotonic()
        with self._lock:
            if self._stamp and now - self._stamp[0] < STAMP_TTL_SECONDS:
                return self._stamp[1]
        value = read_stamp()
        with self._lock:
            self._stamp = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._stamp = None
            self._entries.clear()

    def get(self, key: Hashable, stamp: Hashable, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry[0] == stamp and now - entry[1] < self.max_age:
                self._entries.move_to_end(key)
                return entry[2]
        value = compute()
        with self._lock:
            self._entries[key] = (stamp, now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value
