"""Extraction processes: extraction and scoring run there, off the reactor thread.

Each pipeline that needs them owns a `ProcessWorkers`: the extraction pipeline several processes
(one per CPU by default), the scoring pipeline one process holding the model (scoring is a few
milliseconds a page, so one is enough, and the model is loaded once). Workers are spawned, not
forked, because the crawl process runs threads; they start when the spider opens, and the crawl
begins fetching once they are all up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.counts import EXTRACTION_PEAK_MB, READY
from crawler.resources import vmhwm_mb

logger = logging.getLogger(__name__)

MAX_RESTARTS = 3
STARTUP_TIMEOUT = 300.0
WARM_UP_PAGE = b"<html><body><article><p>" + b"warm up text " * 20 + b"</p></article></body></html>"

_model = None  # in a scoring worker: the model this crawl scores with


# ---------------------------------------------------------------------------- in the workers
def start_extraction_worker() -> None:
    from crawler.articles import extract_article  # here, so the scoring worker never imports trafilatura

    extract_article(WARM_UP_PAGE)  # imports and first-use costs, before the first real page


def start_scoring_worker(model_dir: str, model_version: str | None) -> None:
    global _model
    from classifier.registry import ModelRegistry

    _model, _info = ModelRegistry(Path(model_dir)).load(model_version)


def score_text(text: str) -> dict[str, Any]:
    if _model is None:
        raise RuntimeError("this worker has no model")
    return _model.score(text).to_dict()


def _pid() -> int:
    return os.getpid()


def _outcome_seen(call: asyncio.Future) -> None:
    """Marks a call's outcome seen: a call given up for its time fails later, when its pool is killed."""
    if not call.cancelled():
        call.exception()


# ---------------------------------------------------------------------------- in the crawl
class ProcessWorkers:
    """A process pool for one pipeline: started, awaited until ready, replaced if a worker dies."""

    def __init__(self, crawler, name: str, processes: int, initializer: Callable[..., None],
                 initargs: tuple = ()):
        self.crawler = crawler
        self.name = name
        self.processes = processes or os.cpu_count() or 1
        self.initializer = initializer
        self.initargs = initargs
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.ready: list[concurrent.futures.Future] = []
        self.restarts = 0
        self.free = asyncio.Semaphore(self.processes)  # one call a worker at a time
        self.killed: weakref.WeakSet[concurrent.futures.ProcessPoolExecutor] = weakref.WeakSet()  # for overruns
        self.opened_at = 0.0
        self.is_ready = False

    async def open(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start the workers and wait until each is up (imports done, model loaded).

        The crawl fetches nothing before: a crawl whose pages could not be processed should not
        take them from a site, and a worker that cannot start (no model, say) fails the crawl here.
        """
        self.opened_at = time.monotonic()
        self.pool = self._new_pool()
        try:
            await asyncio.wait_for(asyncio.gather(*(asyncio.wrap_future(f) for f in self.ready)), timeout)
        except (concurrent.futures.process.BrokenProcessPool, TimeoutError) as exc:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
            problem = type(exc).__name__
            raise RuntimeError(f"{self.name} workers could not start ({problem}); see the log above") from exc
        self._note_ready()

    def close(self) -> None:
        if self.pool is not None:
            self.crawler.stats.max_value(EXTRACTION_PEAK_MB, self.peak_rss_mb())
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        pool = concurrent.futures.ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("spawn"),
            initializer=self.initializer, initargs=self.initargs,
        )
        self.ready = [pool.submit(_pid) for _ in range(self.processes)]  # start them all now
        return pool

    async def run(self, function, *args, timeout: float):
        """`function(*args)` in a worker, given `timeout` seconds (a new pool's start aside).

        A call that overruns raises TimeoutError, and its pool is killed and replaced: a worker
        stuck in C code (libxml2) cannot be stopped otherwise, and would hold a core and the calls
        queued behind it, and the crawl's end, until it finished. The other calls the kill broke
        run again in the new pool. A pool whose worker died otherwise is replaced (this call
        fails); a pool that keeps dying ends the crawl.
        """
        for _attempt in range(2):
            pool = self.pool
            try:
                async with self.free:  # the time runs from when a worker is free, not while queued
                    pool = self.pool  # the pool now, which a kill may have replaced meanwhile
                    if not self.is_ready or not all(f.done() for f in self.ready):
                        await asyncio.gather(*(asyncio.wrap_future(f) for f in self.ready))
                        self._note_ready()
                    call = asyncio.get_running_loop().run_in_executor(pool, function, *args)
                    call.add_done_callback(_outcome_seen)
                    # Shielded: the call is given up, not cancelled. (Python 3.11's pool, marking a
                    # killed pool's calls failed, dies on one cancelled meanwhile, and so does the
                    # crawl process's exit.)
                    return await asyncio.wait_for(asyncio.shield(call), timeout)
            except TimeoutError:
                if pool is not None and pool is self.pool:
                    self._kill_overrun_pool()
                raise
            except concurrent.futures.process.BrokenProcessPool:
                if pool in self.killed and self.pool is not None:
                    continue  # killed for another call's overrun: this one was fine
                if pool is self.pool:
                    self._replace_broken_pool()
                raise
        raise concurrent.futures.process.BrokenProcessPool("killed twice for other calls' overruns")

    def _kill_overrun_pool(self) -> None:
        assert self.pool is not None
        logger.warning("a call in the %s workers overran its time; killing and replacing them", self.name)
        self.killed.add(self.pool)
        for process in list(getattr(self.pool, "_processes", {}).values()):
            process.kill()
        self.pool.shutdown(wait=False)
        self.pool = self._new_pool()

    def _note_ready(self) -> None:
        if not self.is_ready:
            self.is_ready = True
            seconds = round(time.monotonic() - self.opened_at, 3)
            self.crawler.stats.set_value(READY + self.name, seconds)
            logger.info("%s workers ready after %.1f s", self.name, seconds)

    def _replace_broken_pool(self) -> None:
        self.restarts += 1
        never_started = not all(f.done() and not f.exception() for f in self.ready)
        if self.restarts > MAX_RESTARTS or never_started:
            logger.error("worker processes cannot run (see their error above); ending the crawl")
            asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="workers-failed"))
            return
        logger.error("a worker process died; restarting the pool")
        self.pool = self._new_pool()

    def peak_rss_mb(self) -> float:
        """The largest peak resident memory of this pool's processes (from /proc; 0 elsewhere)."""
        peaks = [vmhwm_mb(process.pid) for process in getattr(self.pool, "_processes", {}).values()]
        return round(max([0.0, *(peak for peak in peaks if peak is not None)]), 1)
