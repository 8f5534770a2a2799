"""A crawl frontier shared through Redis: any number of crawl processes, on any machines, work on
one crawl run without fetching a page twice, and the requests a lost worker had taken are crawled
again.

It is scrapy-redis (its request queue, duplicate filter and scheduler) with three additions:

- A reliable queue. scrapy-redis pops a request destructively, so a worker killed mid-request
  loses it. Here one Lua script moves the request from the queue into the worker's in-flight hash;
  the worker deletes it from there (acknowledges it) only once everything the request led to is
  safe: the requests it produced are in the queue and the page it yielded is stored or dropped.
  Every worker keeps a heartbeat key with a time-to-live; `SharedRun.reconcile` (run by the
  other workers and by the process that enqueued the run) puts the in-flight requests of a
  worker whose heartbeat expired back into the queue. Storage is idempotent, so a page crawled
  twice is still stored once.
- A run lifecycle. A run is *drained* when its queue is empty and no worker holds an in-flight
  request (checked atomically); its workers then close their spiders, and the process that
  enqueued the run records it (hypewatch.distributed).
- Run-wide memory: the page budget and the "seen" maps of the duplicate-URL and
  duplicate-content pipelines live in Redis, so they hold across workers (`run_memory`).

Scrapy 2.19 and scrapy-redis 0.9.1: RedisSpider reads its start URLs in start_requests(), which
Scrapy >= 2.16 no longer calls (rmax/scrapy-redis#305), so hypewatch's spiders stay as they are
and the enqueuer pushes the start requests into the request queue itself (`SharedRun.publish`);
the scheduler subclass does its own counting (scrapy-redis passes the deprecated `spider=` to
the stats collector); RedisStatsCollector is not used (it int()s every stored value, which breaks
Scrapy's float timings, and its increments are not atomic), so workers add their counters to a
run hash with HINCRBY when they acknowledge requests. Requests are stored as JSON
(crawler.request_codec), not pickles.

Redis keys, PREFIX being HYPEWATCH_REDIS_PREFIX (the Lua scripts build some key names
themselves, so this needs one Redis server, not a Redis Cluster):

    PREFIX:runs                   hash: run id -> crawl spec (JSON) of every run being crawled
    PREFIX:worker:<w>             worker w's heartbeat; expires after HYPEWATCH_WORKER_HEARTBEAT s
    PREFIX:run:<id>:requests      the request queue (scrapy-redis PriorityQueue, a sorted set)
    PREFIX:run:<id>:dupefilter    fingerprints of the requests queued so far (scrapy-redis RFPDupeFilter)
    PREFIX:run:<id>:inflight:<w>  hash: token -> request worker w took and has not acknowledged
    PREFIX:run:<id>:workers       set: the workers that took requests of the run
    PREFIX:run:<id>:owner         the enqueuer's heartbeat: a run nobody will record is abandoned
    PREFIX:run:<id>:stats         hash: the run's hypewatch/* counters, summed over its workers
    PREFIX:run:<id>:summaries     hash: worker -> what it did (JSON: timings, memory, CPU)
    PREFIX:run:<id>:seen:<name>   run-wide "first seen" maps (canonical URLs, content fingerprints)
    PREFIX:run:<id>:budget        page requests sent so far (the page budget)
    PREFIX:run:<id>:problems      list: messages for the run's record (a worker lacking the model...)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler import request_codec
from crawler import signals as hypewatch_signals
from crawler.extensions import cpu_seconds, peak_rss_mb
from crawler.items import PageItem
from crawler.vocabulary import HANDOFF_META, PARENT_META, TOKEN_META

logger = logging.getLogger(__name__)

ITEM_HOLDS = 2  # a page item is settled once its pipelines are done (links followed) and it is stored
COUNTED_GROUPS = ("fetched", "stored", "dropped", "errors", "skipped")  # the counters a run sums up
POLL_SECONDS = 0.25  # how often an idle worker looks for work (Scrapy's own heartbeat is 5 s)
KEEP_ENDED_RUN_SECONDS = 3600  # an ended run's keys stay this long, for a late look at them
LEAK_GRACE_SECONDS = 30.0  # an idle worker acknowledges what it still counts after this long


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30)


# ---------------------------------------------------------------------------- keys and scripts
def runs_key(prefix: str) -> str:
    return f"{prefix}:runs"


def alive_key(prefix: str, worker: str) -> str:
    return f"{prefix}:worker:{worker}"


@dataclass(frozen=True)
class RunKeys:
    prefix: str
    run_id: int

    @property
    def base(self) -> str:
        return f"{self.prefix}:run:{self.run_id}"

    def _key(self, name: str) -> str:
        return f"{self.base}:{name}"

    queue = property(lambda self: self._key("requests"))
    dupefilter = property(lambda self: self._key("dupefilter"))
    workers = property(lambda self: self._key("workers"))
    owner = property(lambda self: self._key("owner"))
    stats = property(lambda self: self._key("stats"))
    summaries = property(lambda self: self._key("summaries"))
    budget = property(lambda self: self._key("budget"))
    problems = property(lambda self: self._key("problems"))
    tokens = property(lambda self: self._key("tokens"))

    def inflight(self, worker: str = "") -> str:
        return f"{self.base}:inflight:{worker}"

    def seen(self, name: str) -> str:
        return f"{self.base}:seen:{name}"


# Move the best request of the queue into the worker's in-flight hash, as "score request".
_TAKE = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
local token = tostring(redis.call('INCR', KEYS[4]))
redis.call('HSET', KEYS[2], token, top[2] .. ' ' .. top[1])
redis.call('SADD', KEYS[3], ARGV[1])
return {token, top[1]}
"""

# Drained: nothing queued and nothing in flight at any worker, in one atomic look.
_DRAINED = """
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. worker) > 0 then return 0 end
end
return 1
"""

# Put a worker's in-flight requests back into the queue and forget the worker; with ARGV[3] set,
# only if its heartbeat has expired.
_REQUEUE = """
if ARGV[3] == '1' and redis.call('EXISTS', ARGV[2]) == 1 then return -1 end
local entries = redis.call('HVALS', KEYS[2])
for _, entry in ipairs(entries) do
  local space = string.find(entry, ' ', 1, true)
  redis.call('ZADD', KEYS[1], string.sub(entry, 1, space - 1), string.sub(entry, space + 1))
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return #entries
"""


# ---------------------------------------------------------------------------- one shared run
class SharedRun:
    """One crawl run's state in Redis, as the enqueuer and the workers see it."""

    def __init__(self, server: redis.Redis, keys: RunKeys):
        self.server = server
        self.keys = keys
        self._take = server.register_script(_TAKE)
        self._drained = server.register_script(_DRAINED)
        self._requeue = server.register_script(_REQUEUE)

    @classmethod
    def connect(cls, url: str, prefix: str, run_id: int) -> SharedRun:
        return cls(redis_client(url), RunKeys(prefix, run_id))

    # ------------------------------------------------------------------ the enqueuer's side
    def publish(self, spec: Mapping[str, Any], requests: Iterable[Request], spider, *, owner_ttl: float) -> int:
        """Queue the run's start requests, then make the run visible to the workers; how many were queued."""
        self.beat_owner(owner_ttl)
        queue = ReliablePriorityQueue(self.server, spider, self.keys.queue, serializer=request_codec)
        seen = RFPDupeFilter(self.server, self.keys.dupefilter)
        queued = 0
        for request in requests:
            if request.dont_filter or not seen.request_seen(request):
                queue.push(request)
                queued += 1
        self.server.hset(runs_key(self.keys.prefix), str(self.keys.run_id), json.dumps(dict(spec)))
        return queued

    def beat_owner(self, ttl: float) -> None:
        self.server.set(self.keys.owner, "1", px=int(ttl * 1000))

    def owner_alive(self) -> bool:
        return bool(self.server.exists(self.keys.owner))

    def is_active(self) -> bool:
        return bool(self.server.hexists(runs_key(self.keys.prefix), str(self.keys.run_id)))

    def drained(self) -> bool:
        return bool(self._drained(keys=[self.keys.queue, self.keys.workers], args=[self.keys.inflight()]))

    def reconcile(self) -> int:
        """Put back the in-flight requests of workers whose heartbeat expired; how many."""
        requeued = 0
        for raw in self.server.smembers(self.keys.workers):
            worker = raw.decode()
            count = self._requeue(keys=[self.keys.queue, self.keys.inflight(worker), self.keys.workers],
                                  args=[worker, alive_key(self.keys.prefix, worker), "1"])
            if count > 0:
                logger.warning("worker %s stopped beating; its %d in-flight request(s) are queued again", worker, count)
                requeued += count
        if requeued:
            self.server.hincrby(self.keys.stats, "hypewatch/requeued", requeued)
        return requeued

    def counters(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.server.hgetall(self.keys.stats).items()}

    def summaries(self) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.server.hvals(self.keys.summaries)]

    def problems(self) -> list[str]:
        return [p.decode() for p in self.server.lrange(self.keys.problems, 0, -1)]

    def workers(self) -> set[str]:
        return {w.decode() for w in self.server.smembers(self.keys.workers)}

    def queued(self) -> int:
        return self.server.zcard(self.keys.queue)

    def end(self) -> None:
        """Stop the run: its workers close their crawls (see SharedScheduler), its queue goes."""
        pipe = self.server.pipeline()
        pipe.hdel(runs_key(self.keys.prefix), str(self.keys.run_id))
        pipe.delete(self.keys.queue, self.keys.owner)
        pipe.execute()

    def expire(self, keep_seconds: int = KEEP_ENDED_RUN_SECONDS) -> None:
        """Let the ended run's keys go after `keep_seconds` (long enough for a late look at them)."""
        for key in self.server.scan_iter(match=f"{self.keys.base}:*", count=500):
            self.server.expire(key, keep_seconds)

    # ------------------------------------------------------------------ a worker's side
    def register(self, worker: str, ttl: float) -> None:
        pipe = self.server.pipeline()
        pipe.set(alive_key(self.keys.prefix, worker), "1", px=int(ttl * 1000))
        pipe.sadd(self.keys.workers, worker)
        pipe.execute()

    def beat(self, worker: str, ttl: float) -> None:
        self.server.set(alive_key(self.keys.prefix, worker), "1", px=int(ttl * 1000))

    def take(self, worker: str) -> tuple[str, bytes] | None:
        taken = self._take(keys=[self.keys.queue, self.keys.inflight(worker), self.keys.workers, self.keys.tokens],
                           args=[worker])
        return (taken[0].decode(), taken[1]) if taken else None

    def acknowledge(self, worker: str, tokens: list[str], counters: Mapping[str, int]) -> None:
        """Add `counters` to the run's, then drop `tokens` from the in-flight hash, in one transaction."""
        pipe = self.server.pipeline()
        for key, delta in counters.items():
            pipe.hincrby(self.keys.stats, key, delta)
        if tokens:
            pipe.hdel(self.keys.inflight(worker), *tokens)
        pipe.execute()

    def leave(self, worker: str, *, requeue: bool) -> int:
        """Forget `worker`; what it still holds goes back into the queue when `requeue` (else it is dropped)."""
        if requeue:
            count = self._requeue(keys=[self.keys.queue, self.keys.inflight(worker), self.keys.workers],
                                  args=[worker, alive_key(self.keys.prefix, worker), "0"])
        else:
            count = self.server.hlen(self.keys.inflight(worker))
            pipe = self.server.pipeline()
            pipe.delete(self.keys.inflight(worker))
            pipe.srem(self.keys.workers, worker)
            pipe.execute()
        self.server.delete(alive_key(self.keys.prefix, worker))
        return count

    def report(self, worker: str, summary: Mapping[str, Any]) -> None:
        self.server.hset(self.keys.summaries, worker, json.dumps(dict(summary)))

    def problem(self, message: str) -> None:
        self.server.rpush(self.keys.problems, message)

    # ------------------------------------------------------------------ run-wide memory
    def claim(self, name: str, key: str, value: str) -> str:
        """The first value ever claimed for `key` in map `name` (this one if it is the first)."""
        pipe = self.server.pipeline()
        pipe.hsetnx(self.keys.seen(name), key, value)
        pipe.hget(self.keys.seen(name), key)
        return pipe.execute()[1].decode()

    def take_budget(self) -> int:
        """Count one more page request against the run's budget; the count so far."""
        return self.server.incr(self.keys.budget)


def active_runs(server: redis.Redis, prefix: str) -> dict[int, dict[str, Any]]:
    """The runs being crawled: run id -> the crawl spec the enqueuer published."""
    return {int(k): json.loads(v) for k, v in server.hgetall(runs_key(prefix)).items()}


async def _collect(requests) -> list[Request]:
    return [request async for request in requests]


def start_requests(source: Mapping[str, Any]) -> tuple[Any, list[Request]]:
    """The spider for `source` (without a crawler) and its start requests, to publish a run with."""
    from crawler.spiders import spider_for

    spider = spider_for(source["kind"])(dict(source))
    return spider, asyncio.run(_collect(spider.start()))


# ---------------------------------------------------------------------------- run-wide memory
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


def run_memory(settings) -> LocalRunMemory | SharedRun:
    """What a crawl remembers across its pages: in Redis when the crawl is shared, else in this process."""
    url = settings.get("HYPEWATCH_REDIS_URL")
    if not url:
        return LocalRunMemory()
    return SharedRun.connect(url, settings.get("HYPEWATCH_REDIS_PREFIX"), settings.getint("HYPEWATCH_RUN_ID"))


def shared_crawl_settings(settings) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------- in a worker's crawl
class ReliablePriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop records the request in the worker's in-flight hash."""

    run: SharedRun | None = None
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
            reactor.callLater(0, self.flush)

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
            if not key.startswith("hypewatch/") or key.split("/")[1] not in COUNTED_GROUPS:
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

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.bind(crawler)
        return scheduler

    def bind(self, crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.worker = settings.get("HYPEWATCH_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}"
        self.heartbeat_ttl = settings.getfloat("HYPEWATCH_WORKER_HEARTBEAT")
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
        ready = [float(v) for k, v in stats.get_stats().items() if k.startswith("hypewatch/ready/")]
        return {
            "worker": self.worker, "reason": reason, "opened_at": self.opened_at,
            "ready_at": self.opened_at + max(ready, default=0.0), "closed_at": time.time(),
            "fetched": int(stats.get_value("hypewatch/fetched", 0)), "peak_rss_mb": peak_rss_mb(),
            "workers_peak_rss_mb": stats.get_value("hypewatch/memory/workers_peak_mb", 0),
            "cpu_seconds": cpu_seconds(resource.RUSAGE_SELF),
            "workers_cpu_seconds": cpu_seconds(resource.RUSAGE_CHILDREN),
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
