"""Scrapy extensions: the run's drop and error counters, and progress lines for the process that
started the crawl. The counters' names, and `run_counts` that reads them back, are in `crawler.counts`.
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

from crawler.counts import EXTRACTION_CPU, EXTRACTION_PEAK_MB, PREFIX, run_counts, stat_key
from crawler.resources import cpu_seconds, peak_rss_mb
from crawler.vocabulary import PIPELINE_FAILED, SPIDER_FAILED

logger = logging.getLogger(__name__)


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
        self.stats.inc_value(f"{PREFIX}dropped/{exception}")  # even an empty reason gets its own key

    def item_error(self, item, response, spider, failure) -> None:
        self.stats.inc_value(stat_key("errors", PIPELINE_FAILED))

    def spider_error(self, failure, response, spider) -> None:
        self.stats.inc_value(stat_key("errors", SPIDER_FAILED))


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
            "extraction_peak_rss_mb": self.crawler.stats.get_value(EXTRACTION_PEAK_MB, 0),
            "cpu_seconds": cpu_seconds(resource.RUSAGE_SELF),
            # The extraction processes are the fork server's children, counted when their pool closed.
            "extraction_cpu_seconds": round(cpu_seconds(resource.RUSAGE_CHILDREN)
                                            + self.crawler.stats.get_value(EXTRACTION_CPU, 0.0), 3),
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
