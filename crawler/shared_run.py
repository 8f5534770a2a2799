"""One crawl run shared through Redis: its keys, its Lua scripts, and the state the process that
publishes the run and the crawl processes working on it (the run's workers) read and write.

Any number of crawl processes, on any machines, work on one run without fetching a page twice,
and the requests a lost worker had taken are crawled again:

- A reliable queue. scrapy-redis pops a request destructively, so a worker killed mid-request
  loses it. Here one Lua script moves the request from the queue into the worker's in-flight hash;
  the worker deletes it from there (acknowledges it) only once everything the request led to is
  safe (`crawler.frontier` decides when). Every worker keeps a heartbeat key with a time-to-live;
  `SharedRun.reconcile` (run by the other workers and by the process that enqueued the run) puts
  the in-flight requests of a worker whose heartbeat expired back into the queue. Storage is
  idempotent, so a page crawled twice is still stored once.
- A run lifecycle. A run is *drained* when its queue is empty and no worker holds an in-flight
  request (checked atomically); its workers then close their spiders, and the process that
  enqueued the run records it (hypewatch.distributed).
- Run-wide memory: the page budget and the "seen" maps of the duplicate-URL and
  duplicate-content pipelines live in Redis, so they hold across workers (`SharedRun.claim` and
  `SharedRun.take_budget`, chosen by `crawler.run_memory`).

Workers add their counters to a run hash with HINCRBY when they acknowledge requests (scrapy-redis's
RedisStatsCollector is not used: it int()s every stored value, which breaks Scrapy's float
timings, and its increments are not atomic). Requests are stored as JSON (crawler.request_codec),
not pickles.

Redis keys, PREFIX being HYPEWATCH_REDIS_PREFIX (the Lua scripts build some key names
themselves, so this needs one Redis server, not a Redis Cluster):

    PREFIX:runs                   hash: run id -> crawl spec (JSON) of every run being crawled
    PREFIX:worker:<w>             worker w's heartbeat; expires after HYPEWATCH_CRAWL_HEARTBEAT s
    PREFIX:run:<id>:requests      the request queue (scrapy-redis PriorityQueue, a sorted set)
    PREFIX:run:<id>:dupefilter    fingerprints of the requests queued so far (scrapy-redis RFPDupeFilter)
    PREFIX:run:<id>:tokens        the last in-flight token handed out (a counter)
    PREFIX:run:<id>:inflight:<w>  hash: token -> request worker w took and has not acknowledged
    PREFIX:run:<id>:workers       set: the workers that took requests of the run
    PREFIX:run:<id>:owner         the enqueuer's heartbeat: a run nobody will record is abandoned
    PREFIX:run:<id>:stats         hash: the run's hypewatch/* counters, summed over its workers
    PREFIX:run:<id>:summaries     hash: worker -> what it did (JSON: timings, memory, CPU)
    PREFIX:run:<id>:seen:<name>   run-wide "first seen" maps (canonical URLs, content fingerprints)
    PREFIX:run:<id>:budget        page requests sent so far (the page budget)
    PREFIX:run:<id>:problems      list: messages for the run's record (a worker lacking the model...)

"Worker" here is one crawl process working on a shared run (HYPEWATCH_CRAWL_PROCESS_ID), not the
extraction and scoring processes of `crawler.workers`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue

from crawler import request_codec
from crawler.counts import REQUEUED

logger = logging.getLogger(__name__)

KEEP_ENDED_RUN_SECONDS = 3600  # an ended run's keys stay this long, for a late look at them


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30)


def _text(value: bytes | str) -> str:
    # The client is made without decode_responses, so Redis hands back bytes.
    return value.decode() if isinstance(value, bytes) else value


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
    def publish(self, spec: Mapping[str, Any], requests: Iterable[Request], spider: Spider, *, owner_ttl: float) -> int:
        """Queue the run's start requests, then make the run visible to the workers; how many were queued."""
        self.beat_owner(owner_ttl)
        # The workers' queue class (frontier.ReliablePriorityQueue) differs only in how it pops.
        queue = PriorityQueue(self.server, spider, self.keys.queue, serializer=request_codec)
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
            worker = _text(raw)
            count = self._requeue(keys=[self.keys.queue, self.keys.inflight(worker), self.keys.workers],
                                  args=[worker, alive_key(self.keys.prefix, worker), "1"])
            if count > 0:
                logger.warning("worker %s stopped beating; its %d in-flight request(s) are queued again", worker, count)
                requeued += count
        if requeued:
            self.server.hincrby(self.keys.stats, REQUEUED, requeued)
        return requeued

    def counters(self) -> dict[str, int]:
        return {_text(k): int(v) for k, v in self.server.hgetall(self.keys.stats).items()}

    def summaries(self) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.server.hvals(self.keys.summaries)]

    def problems(self) -> list[str]:
        return [_text(p) for p in self.server.lrange(self.keys.problems, 0, -1)]

    def workers(self) -> set[str]:
        return {_text(w) for w in self.server.smembers(self.keys.workers)}

    def queued(self) -> int:
        return self.server.zcard(self.keys.queue)

    def end(self) -> None:
        """Stop the run: its workers close their crawls (see frontier.SharedScheduler), its queue goes."""
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

    # ------------------------------------------------------------------ run-wide memory (crawler.run_memory)
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
