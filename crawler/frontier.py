"""The Scrapy side of a shared crawl run (see `crawler.shared_run` for the run's state in Redis):
the scheduler that makes a crawl process one worker of the run, its queue, and the spider
middleware that tells it when what a request led to is settled.

It is scrapy-redis's scheduler, request queue and duplicate filter, with a reliable pop: a taken
request sits in this worker's in-flight hash until it is acknowledged, which happens only once
everything the request led to is safe: the requests it produced are in the queue and the page it
yielded is stored or dropped (`_Acknowledgements`). The worker closes its spider once the run is
drained or ended.

Scrapy 2.19 and scrapy-redis 0.9.1: RedisSpider reads its start URLs in start_requests(), which
Scrapy >= 2.16 no longer calls (rmax/scrapy-redis#305), so hypewatch's spiders stay as they are,
the enqueuer pushes the start requests into the request queue itself (`SharedRun.publish`), and
`FrontierMiddleware` drops the spider's own; the scheduler subclass does its own counting
(scrapy-redis passes the deprecated `spider=` to the stats collector).

"Worker" here is one crawl process of a shared run (HYPEWATCH_CRAWL_PROCESS_ID), not the extraction and
scoring processes of `crawler.workers`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket
import threading
import time
from collections import deque
from typing import Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.settings import BaseSettings
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler import signals as hypewatch_signals
from crawler.counts import EXTRACTION_PEAK_MB, FETCHED, PREFIX, READY, SUMMED_GROUPS
from crawler.items import PageItem
from crawler.resources import cpu_seconds, peak_rss_mb
from crawler.shared_run import RunKeys, SharedRun
from crawler.vocabulary import HANDOFF_META, PARENT_META, TOKEN_META

logger = logging.getLogger(__name__)

ITEM_HOLDS = 2  # a page item is settled once its pipelines are done (links followed) and it is stored
POLL_SECONDS = 0.25  # how often an idle worker looks for work (Scrapy's own heartbeat is 5 s)
LEAK_GRACE_SECONDS = 30.0  # an idle worker acknowledges what it still counts after this long


def shared_crawl_settings(settings: BaseSettings) -> dict[str, Any]:
    """The Scrapy settings that make a crawl process a worker of the run in HYPEWATCH_RUN_ID."""
    keys = RunKeys(settings.get("HYPEWATCH_REDIS_PREFIX"), settings.getint("HYPEWATCH_RUN_ID"))
    return {
        "SCHEDULER": "crawler.frontier.SharedScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.frontier.ReliablePriorityQueue",
        "SCHEDULER_QUEUE_KEY": keys.queue,
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_SERIALIZER": "crawler.request_codec",
        "SCHEDULER_PERSIST": True,  # a worker that finishes must not clear what the others share
        "REDIS_URL": settings.get("HYPEWATCH_REDIS_URL"),
        "SPIDER_MIDDLEWARES": {**settings.getdict("SPIDER_MIDDLEWARES"), "crawler.frontier.FrontierMiddleware": 10},
    }


class ReliablePriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop records the request in the worker's in-flight hash."""

    run: SharedRun  # set by bind(), before the scheduler pops anything
    worker = ""

    def bind(self, run: SharedRun, worker: str) -> None:
        self.run, self.worker = run, worker

    def pop(self, timeout: int = 0) -> Request | None:
        while (taken := self.run.take(self.worker)) is not None:
            token, data = taken
            try:
                request = self._decode_request(data)
            except Exception:
                logger.exception("unreadable request in the shared queue; dropped")
                self.run.acknowledge(self.worker, [token], {})
                continue
            request.meta[TOKEN_META] = token
            return request
        return None


class _Acknowledgements:
    """What each request this worker took still waits for; acknowledged once nothing is left.

    A taken request is held once until the engine is done with it (its callback's output is all
    handed on, or its errback ran); every request and page item that output holds it once more,
    until the request is in the queue, or the item is stored or dropped. Acknowledging also adds
    this worker's new counts to the run's, in the same transaction, so a drained run's counts
    are complete.
    """

    def __init__(self, run: SharedRun, worker: str, stats):
        self.run = run
        self.worker = worker
        self.stats = stats
        self.holds: dict[str, int] = {}
        self.ready: list[str] = []
        self.added: dict[str, int] = {}  # counters already added to the run's
        self.last_change = time.monotonic()
        self._flush_due = False

    def taken(self, token: str) -> None:
        self.holds[token] = 1
        self.last_change = time.monotonic()

    def hold(self, token: str | None, count: int = 1) -> None:
        if token in self.holds:
            self.holds[token] += count

    def release(self, token: str | None, count: int = 1) -> None:
        if token not in self.holds:
            return
        self.holds[token] -= count
        self.last_change = time.monotonic()
        if self.holds[token] <= 0:
            del self.holds[token]
            self.ready.append(token)
            self._schedule_flush()

    def release_all(self) -> list[str]:
        tokens = list(self.holds)
        for token in tokens:
            self.release(token, self.holds[token])
        return tokens

    def _schedule_flush(self) -> None:
        # After the current signal's other handlers (the run's counters) have run.
        if not self._flush_due:
            from twisted.internet import reactor

            self._flush_due = True
            # Twisted's interfaces declare their methods without `self` (zope.interface style), which
            # mypy without the mypy-zope plugin reads as a shifted signature.
            reactor.callLater(0, self.flush)  # type: ignore[arg-type]

    def flush(self) -> None:
        self._flush_due = False
        deltas = self._new_counts()
        if not deltas and not self.ready:
            return
        self.run.acknowledge(self.worker, self.ready, deltas)  # on a Redis error, kept for the next flush
        self.ready = []
        self.added.update({key: self.added.get(key, 0) + delta for key, delta in deltas.items()})

    def _new_counts(self) -> dict[str, int]:
        deltas = {}
        for key, value in self.stats.get_stats().items():
            if not key.startswith(PREFIX) or key.split("/")[1] not in SUMMED_GROUPS:
                continue
            delta = int(value) - self.added.get(key, 0)
            if delta:
                deltas[key] = delta
        return deltas


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler on a run's shared queue, acknowledging what it takes (see the module doc).

    Its crawl process is one worker of the run: it registers and keeps a heartbeat, takes
    requests into its in-flight hash, acknowledges them when they are settled, and closes the
    spider once the run is drained (or ended), putting back anything it still holds.
    """

    df: RFPDupeFilter  # given by scrapy-redis's Scheduler.__init__, or made in open()

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.bind(crawler)
        return scheduler

    def bind(self, crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.worker = settings.get("HYPEWATCH_CRAWL_PROCESS_ID") or f"{socket.gethostname()}:{os.getpid()}"
        self.heartbeat_ttl = settings.getfloat("HYPEWATCH_CRAWL_HEARTBEAT")
        self.run = SharedRun(self.server, RunKeys(settings.get("HYPEWATCH_REDIS_PREFIX"),
                                                  settings.getint("HYPEWATCH_RUN_ID")))
        self.acks = _Acknowledgements(self.run, self.worker, crawler.stats)
        self.handoff: deque[Request] = deque()
        self.closing = False
        self.opened_at = time.time()
        self.last_reconcile = time.monotonic()
        self.poller: task.LoopingCall | None = None
        self.beating = threading.Event()
        connect = crawler.signals.connect
        # Connected after the spider's own handlers, which follow a page's links on the item signals.
        connect(self._item_passed, signals.item_scraped)
        connect(self._item_settled, signals.item_dropped)
        connect(self._item_settled, signals.item_error)
        connect(self._batch_stored, hypewatch_signals.batch_stored)
        connect(self._request_failed, hypewatch_signals.request_failed)
        connect(self._spider_idle, signals.spider_idle)
        connect(self._spider_opened, signals.spider_opened)

    # ------------------------------------------------------------------ scrapy's scheduler interface
    def open(self, spider) -> None:
        self.spider = spider
        self.queue = ReliablePriorityQueue(self.server, spider, self.queue_key, serializer=self.serializer)
        self.queue.bind(self.run, self.worker)
        if not self.df:
            self.df = RFPDupeFilter.from_spider(spider)
        self.opened_at = time.time()  # the worker pools start after this (they are ready at opened_at + ready)
        self.run.register(self.worker, self.heartbeat_ttl)
        threading.Thread(target=self._beat, name="hypewatch-frontier-heartbeat", daemon=True).start()
        logger.info("worker %s joined run %s (%d request(s) queued)", self.worker, self.run.keys.run_id, len(self.queue))

    def close(self, reason: str) -> None:
        self.closing = True
        if self.poller is not None and self.poller.running:
            self.poller.stop()
        self.beating.set()
        self.acks.flush()
        if self.acks.holds:
            logger.warning("closing (%s) with %d request(s) not settled", reason, len(self.acks.holds))
        active = self.run.is_active()
        put_back = self.run.leave(self.worker, requeue=active)
        if put_back and active:
            logger.info("put %d unfinished request(s) back into the shared queue", put_back)
        self.run.report(self.worker, self._summary(reason))

    def enqueue_request(self, request: Request) -> bool:
        if request.meta.pop(HANDOFF_META, False):
            self.handoff.append(request)
            return True
        parent = request.meta.pop(PARENT_META, None)
        own = request.meta.pop(TOKEN_META, None)  # a taken request coming back: a retry or a redirect
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            accepted = False
        else:
            self.queue.push(request)
            self.stats.inc_value("scheduler/enqueued/redis")
            accepted = True
        self.acks.release(parent)
        self.acks.release(own)
        return accepted

    def next_request(self) -> Request | None:
        if self.handoff:
            return self.handoff.popleft()
        if self.closing:
            return None
        request = self.queue.pop()
        if request is not None:
            self.acks.taken(request.meta[TOKEN_META])
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.handoff) or len(self.queue) > 0

    # ------------------------------------------------------------------ holds (FrontierMiddleware)
    def hold(self, token: str | None, count: int = 1) -> None:
        self.acks.hold(token, count)

    def release(self, token: str | None, count: int = 1) -> None:
        self.acks.release(token, count)

    def _item_passed(self, item, **_) -> None:
        self.acks.release(getattr(item, "frontier_token", None))  # the other hold: until it is stored

    def _item_settled(self, item, **_) -> None:
        self.acks.release(getattr(item, "frontier_token", None), ITEM_HOLDS)

    def _request_failed(self, request, **_) -> None:
        self.acks.release(request.meta.get(TOKEN_META))

    def _batch_stored(self, items, **_) -> None:
        for item in items:
            self.acks.release(getattr(item, "frontier_token", None))

    # ------------------------------------------------------------------ idling, draining, heartbeat
    def _spider_opened(self, spider) -> None:
        self.poller = task.LoopingCall(self._poll)
        self.poller.start(POLL_SECONDS, now=False)

    def _spider_idle(self, spider) -> None:
        raise DontCloseSpider  # the run may not be over: other workers may still add requests (see _poll)

    def _poll(self) -> None:
        if self.closing:
            return
        try:
            self._look_around()
        except redis.RedisError as exc:  # Redis unreachable for a moment: keep crawling, try again
            logger.warning("shared frontier unreachable: %s", exc)
        except Exception:  # the poll must go on: it is what ends this crawl
            logger.exception("frontier poll failed")

    def _look_around(self) -> None:
        self.acks.flush()
        if time.monotonic() - self.last_reconcile > self.heartbeat_ttl / 2:
            self.last_reconcile = time.monotonic()
            self.run.reconcile()
        if not self.run.is_active():
            return self._close_spider("run-ended")
        if not self.crawler.engine.spider_is_idle():
            return
        if self.run.drained():
            return self._close_spider("finished")
        if self.acks.holds and time.monotonic() - self.acks.last_change > LEAK_GRACE_SECONDS:
            leaked = self.acks.release_all()  # the engine is idle, so nothing can settle them any more
            logger.warning("acknowledged %d request(s) whose settling was never signalled", len(leaked))
        self._wake()

    def _wake(self) -> None:
        """Hand the engine a request when it idles while others filled the queue (without waiting for
        Scrapy's 5 s heartbeat); the engine then takes the rest itself."""
        request = self.next_request()
        if request is not None:
            request.meta[HANDOFF_META] = True
            self.crawler.engine.crawl(request)

    def _close_spider(self, reason: str) -> None:
        self.closing = True
        logger.info("closing: %s", "the run is drained" if reason == "finished" else "the run has ended")
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))

    def _beat(self) -> None:
        while not self.beating.wait(self.heartbeat_ttl / 3):
            try:
                self.run.beat(self.worker, self.heartbeat_ttl)
            except redis.RedisError as exc:
                logger.warning("heartbeat failed: %s", exc)

    def _summary(self, reason: str) -> dict[str, Any]:
        stats = self.crawler.stats
        ready = [float(v) for k, v in stats.get_stats().items() if k.startswith(READY)]
        return {
            "worker": self.worker, "reason": reason, "opened_at": self.opened_at,
            "ready_at": self.opened_at + max(ready, default=0.0), "closed_at": time.time(),
            "fetched": int(stats.get_value(FETCHED, 0)), "peak_rss_mb": peak_rss_mb(),
            "extraction_peak_rss_mb": stats.get_value(EXTRACTION_PEAK_MB, 0),
            "cpu_seconds": cpu_seconds(resource.RUSAGE_SELF),
            "extraction_cpu_seconds": cpu_seconds(resource.RUSAGE_CHILDREN),
        }


class FrontierMiddleware:
    """Spider middleware of a shared crawl: drops the spider's own start requests (the enqueuer
    queued them), and holds a taken request until what its callback produced is settled."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_start(self, start):
        return
        yield  # an empty asynchronous generator

    async def process_spider_output(self, response, result):
        token = response.meta.get(TOKEN_META)
        scheduler = self.crawler.engine.scheduler
        try:
            async for output in result:
                if token is not None:
                    self._hold(scheduler, token, output)
                yield output
        finally:
            scheduler.release(token)

    @staticmethod
    def _hold(scheduler: SharedScheduler, token: str, output: Any) -> None:
        if isinstance(output, Request):
            output.meta[PARENT_META] = token
            scheduler.hold(token)
        elif isinstance(output, PageItem):
            output.frontier_token = token
            scheduler.hold(token, ITEM_HOLDS)
