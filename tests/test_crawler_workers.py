"""crawler.workers: a real process pool, as a crawl runs it."""

import asyncio
import os
import time

from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.workers import ProcessWorkers


def is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_call_that_overruns_is_killed_and_the_other_calls_go_on():
    async def scenario():
        workers = ProcessWorkers(get_crawler(Spider), "test", 2, int)  # int(): an initializer doing nothing
        await workers.open()
        first = {process.pid for process in workers.pool._processes.values()}
        try:
            stuck = asyncio.ensure_future(workers.run(time.sleep, 60, timeout=1))
            meanwhile = asyncio.ensure_future(workers.run(time.sleep, 3, timeout=30))  # the kill breaks it: run again
            overran = await asyncio.gather(stuck, return_exceptions=True)
            finished = await meanwhile
            after = await workers.run(os.getpid, timeout=30)
        finally:
            workers.close()
        return overran[0], finished, first, after

    started = time.monotonic()
    overran, finished, first, after = asyncio.run(scenario())
    assert isinstance(overran, TimeoutError) and finished is None
    assert after not in first and not any(is_running(pid) for pid in first)  # killed, not left working
    assert time.monotonic() - started < 50  # close() did not wait for the 60 s call
