"""What a crawl remembers across its pages: the page budget spent so far, and "first seen" maps
(canonical URL -> the request that reached it first, content fingerprint -> the URL that had it
first) that the duplicate pipelines consult.

A plain crawl keeps them in its one process; a crawl that is one worker of a shared run keeps
them in Redis (`SharedRun.claim` and `SharedRun.take_budget`), so they hold over all the run's
workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


class RunMemory(Protocol):
    def claim(self, name: str, key: str, value: str) -> str:
        """The first value ever claimed for `key` in map `name` (this one if it is the first)."""
        ...

    def take_budget(self) -> int:
        """Count one more page request against the budget; the count so far."""
        ...


class LocalRunMemory:
    """A crawl's memory in its one process (no Redis)."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[str, str]] = {}
        self.budget = 0

    def claim(self, name: str, key: str, value: str) -> str:
        return self.maps.setdefault(name, {}).setdefault(key, value)

    def take_budget(self) -> int:
        self.budget += 1
        return self.budget


def run_memory(settings: BaseSettings) -> RunMemory:
    """The crawl's memory: in Redis when the crawl is shared (HYPEWATCH_REDIS_URL), else in this process."""
    url = settings.get("HYPEWATCH_REDIS_URL")
    if not url:
        return LocalRunMemory()
    from crawler.shared_run import SharedRun  # Redis: imported by a shared crawl only

    return SharedRun.connect(url, settings.get("HYPEWATCH_REDIS_PREFIX"), settings.getint("HYPEWATCH_RUN_ID"))
