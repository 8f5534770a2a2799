"""Extensions: the run's counters, and progress lines for the process that started the crawl.

All counts live in Scrapy's stats collector under `hypewatch/`: fetched, stored/<status>,
dropped/<reason>, errors/<kind>, kept (pages below the relevance gate kept because they name MS and
a cell treatment). `run_counts` reads them back as plain dicts.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from typing import Any

from scrapy import signals
from twisted.internet import task

logger = logging.getLogger(__name__)

PREFIX = "hypewatch/"


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program (VmHWM; ru_maxrss would
    include the parent's memory it was forked with)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return round(usage.ru_utime + usage.ru_stime, 3)


def run_counts(stats: dict[str, Any]) -> dict[str, Any]:
    """The hypewatch counters of a stats dict, grouped."""
    counts: dict[str, Any] = {"fetched": 0, "kept": 0, "stored": {}, "dropped": {}, "errors": {}, "skipped": {}, "ready": {}}
    for key, value in stats.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX):]
        group, _, detail = name.partition("/")
        if group in ("fetched", "kept") and not detail:
            counts[group] = int(value)
        elif group in ("stored", "dropped", "errors", "skipped") and detail:
            counts[group][detail] = int(value)
        elif group == "ready" and detail:  # seconds after the spider opened that a worker pool was up
            counts[group][detail] = float(value)
    return counts


class RunStats:
    """Counts every dropped item by its DropItem reason, and pipeline and spider errors by kind."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler.stats)
        crawler.signals.connect(extension.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        crawler.signals.connect(extension.spider_error, signal=signals.spider_error)
        return extension

    def item_dropped(self, item, response, exception, spider) -> None:
        self.stats.inc_value(f"{PREFIX}dropped/{exception}")

    def item_error(self, item, response, spider, failure) -> None:
        self.stats.inc_value(f"{PREFIX}errors/pipeline")

    def spider_error(self, failure, response, spider) -> None:
        self.stats.inc_value(f"{PREFIX}errors/spider")


class ProgressReporter:
    """Writes one JSON line of counts to stdout every HYPEWATCH_PROGRESS_INTERVAL seconds, and a
    final `finished` line with every count, the close reason, timings and peak memory."""

    def __init__(self, crawler, interval: float, stream=None):
        self.crawler = crawler
        self.interval = interval
        self.stream = stream or sys.stdout
        self.loop: task.LoopingCall | None = None
        self.opened_at = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler, crawler.settings.getfloat("HYPEWATCH_PROGRESS_INTERVAL"))
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider) -> None:
        self.opened_at = time.monotonic()
        if self.interval > 0:
            self.loop = task.LoopingCall(self.report)
            self.loop.start(self.interval, now=True)

    def spider_closed(self, spider, reason) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        counts = run_counts(self.crawler.stats.get_stats())
        self._emit({
            "event": "finished",
            "reason": reason,
            "seconds": round(time.monotonic() - self.opened_at, 3),
            "peak_rss_mb": peak_rss_mb(),
            "workers_peak_rss_mb": self.crawler.stats.get_value("hypewatch/memory/workers_peak_mb", 0),
            "cpu_seconds": cpu_seconds(resource.RUSAGE_SELF),
            "workers_cpu_seconds": cpu_seconds(resource.RUSAGE_CHILDREN),  # pools are shut down by now
            **counts,
        })

    def report(self) -> None:
        counts = run_counts(self.crawler.stats.get_stats())
        self._emit({
            "event": "progress",
            "fetched": counts["fetched"],
            "stored": sum(counts["stored"].values()),
            "dropped": sum(counts["dropped"].values()),
            "errors": sum(counts["errors"].values()),
            "seconds": round(time.monotonic() - self.opened_at, 3),
        })

    def _emit(self, event: dict[str, Any]) -> None:
        try:
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the parent went away; the crawl itself goes on
            logger.debug("progress stream closed")
