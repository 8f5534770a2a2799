"""crawler.shared_run and crawler.request_codec: the shared queue's bookkeeping, on the local Redis."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from scrapy import Request
from scrapy.utils.request import request_from_dict

from crawler import request_codec
from crawler.shared_run import RunKeys, SharedRun, active_runs, alive_key
from crawler.sources import SourceConfig
from crawler.spiders import start_requests

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("HYPEWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SOURCE = SourceConfig(name="site", kind="site", start_urls=("http://a.example/",), allowed_domains=("a.example",))


@pytest.fixture
def server():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}; shared frontier tests skipped ({exc})")
    yield client
    client.close()


@pytest.fixture
def run(server):
    keys = RunKeys(f"hwtest-{uuid.uuid4().hex[:10]}", 7)
    yield SharedRun(server, keys)
    stale = list(server.scan_iter(match=f"{keys.prefix}:*"))
    if stale:
        server.delete(*stale)


def test_requests_travel_as_json_and_come_back_whole():
    spider, _ = start_requests(SOURCE.to_dict())
    request = spider.page_request("http://a.example/news/1.html", depth=2, priority=40)
    request.meta.update({"redirect_urls": ["http://a.example/n/1"], "download_latency": 0.25, "retry_times": 1})
    retried = request.replace(body=b"\x00\xffraw", headers={b"X-Bytes": [b"\xc3\xa9"]})
    data = request_codec.dumps(retried.to_dict(spider=spider))
    assert b"\x00" not in data and data.startswith(b"{")  # JSON, not a pickle
    back = request_from_dict(request_codec.loads(data), spider=spider)
    assert (back.url, back.callback, back.errback, back.priority) == (retried.url, spider.parse_page, spider.on_error, 40)
    assert back.body == b"\x00\xffraw" and back.headers.getlist(b"X-Bytes") == [b"\xc3\xa9"]
    assert back.meta == retried.meta
    with pytest.raises(TypeError, match="cannot put a object into the shared request queue"):
        request_codec.dumps({"meta": {"bad": object()}})


def test_taken_requests_are_acknowledged_or_queued_again_when_their_worker_is_lost(run):
    spider, _ = start_requests(SOURCE.to_dict())
    requests = [Request(f"http://a.example/{n}", priority=n) for n in range(3)]
    assert run.publish({"source": SOURCE.to_dict()}, [*requests, requests[0].replace()], spider, owner_ttl=5) == 3
    assert run.is_active() and run.owner_alive() and list(active_runs(run.server, run.keys.prefix)) == [7]
    run.register("w1", ttl=60)
    run.register("w2", ttl=60)
    first, second = run.take("w1"), run.take("w2")
    assert b"a.example/2" in first[1] and b"a.example/1" in second[1]  # highest priority first
    run.acknowledge("w1", [first[0]], {"hypewatch/fetched": 1})
    assert not run.drained()  # one queued, one in flight at w2
    third = run.take("w1")
    run.acknowledge("w1", [third[0]], {"hypewatch/fetched": 1})
    assert run.queued() == 0 and not run.drained()  # w2 still holds one
    run.server.delete(alive_key(run.keys.prefix, "w2"))  # w2's heartbeat expires: w2 is lost
    assert run.reconcile() == 1 and run.workers() == {"w1"}
    again = run.take("w1")
    assert again[1] == second[1]  # the same request, with its priority
    run.acknowledge("w1", [again[0]], {"hypewatch/fetched": 1})
    assert run.drained() and run.counters() == {"hypewatch/fetched": 3, "hypewatch/requeued": 1}
    run.end()
    assert not run.is_active() and active_runs(run.server, run.keys.prefix) == {}


def test_a_worker_leaving_puts_back_what_it_holds(run):
    spider, _ = start_requests(SOURCE.to_dict())
    run.publish({}, [Request("http://a.example/1"), Request("http://a.example/2")], spider, owner_ttl=5)
    run.register("w1", ttl=60)
    run.take("w1")
    assert run.leave("w1", requeue=True) == 1 and run.queued() == 2 and run.workers() == set()
    run.take("w1")
    assert run.leave("w1", requeue=False) == 1 and run.queued() == 1  # the run ended: nothing to put back


def test_run_memory_is_shared_and_the_first_claim_wins(run):
    other = SharedRun(run.server, run.keys)  # another worker's view of the same run
    assert run.claim("urls", "http://a.example/1", "http://a.example/1?utm_source=x") == "http://a.example/1?utm_source=x"
    assert other.claim("urls", "http://a.example/1", "http://a.example/1") == "http://a.example/1?utm_source=x"
    assert [run.take_budget(), other.take_budget(), run.take_budget()] == [1, 2, 3]
