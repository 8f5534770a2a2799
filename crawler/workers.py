"""Extraction processes: extraction and scoring run there, off the reactor thread.

One pool of processes per crawl process (one per CPU by default), shared by the extraction and
the scoring pipelines (`ExtractionProcesses`, a Scrapy extension). Each process extracts pages and
scores their texts with the crawl's model, so both use every core.

The processes are forked from a fork server (multiprocessing's "forkserver"), not from the crawl
process, which runs threads. `start_fork_server` starts it first thing in the crawl process: while
the crawl process imports Scrapy, the server imports trafilatura and scikit-learn, warms the
extraction up and loads the model, once (`crawler.preload`). Every extraction process forked from
it starts at once and shares that memory (copy-on-write) instead of importing and loading its own
copy. A worker whose server could not load the model loads it itself, and fails the same way.
The crawl begins fetching once every worker is up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.counts import EXTRACTION_CPU, EXTRACTION_PEAK_MB, READY
from crawler.resources import process_cpu_seconds, vmhwm_mb

logger = logging.getLogger(__name__)

MAX_RESTARTS = 3
STARTUP_TIMEOUT = 300.0
WARM_UP_PAGE = b"<html><body><article><p>" + b"warm up text " * 20 + b"</p></article></body></html>"
POOL_NAME = "extraction"  # its startup is counted as READY + this
PRELOAD_MODULE = "crawler.preload"
# What the fork server preloads: the model of the crawl that started it (see start_fork_server).
MODEL_DIR_VARIABLE = "HYPEWATCH_PRELOAD_MODEL_DIR"
MODEL_VERSION_VARIABLE = "HYPEWATCH_PRELOAD_MODEL_VERSION"

# In a worker (or the fork server): what it is ready for.
_model = None  # the model this crawl scores with
_model_key: tuple[str, str | None] | None = None  # (model directory, version asked for)
_warm = False


# ---------------------------------------------------------------------------- in the workers
def start_worker(model_dir: str, model_version: str | None) -> None:
    """Ready a process to extract and score: trafilatura warmed up, the model loaded (both are
    already done in a process forked from a fork server that preloaded them)."""
    global _model, _model_key, _warm
    if not _warm:
        from crawler.articles import extract_article

        extract_article(WARM_UP_PAGE)  # imports and first-use costs, before the first real page
        _warm = True
    if _model is None or _model_key != (model_dir, model_version):
        from classifier.registry import ModelRegistry

        _model, _info = ModelRegistry(Path(model_dir)).load(model_version)
        _model_key = (model_dir, model_version)


def preload() -> None:
    """In the fork server: `start_worker` for the model named in its environment, if it can.

    A model that cannot be loaded is left to the workers, whose initializer then fails with the
    reason (and fails the crawl's start) as it would without a fork server."""
    model_dir = os.environ.get(MODEL_DIR_VARIABLE)
    if not model_dir:
        return
    try:
        start_worker(model_dir, os.environ.get(MODEL_VERSION_VARIABLE) or None)
    except Exception:  # reported by the workers, which try again
        logger.debug("the fork server could not preload the model", exc_info=True)
    # What is loaded now stays shared with the workers: the garbage collector, which writes to
    # every object it visits, leaves these objects alone (else each worker copies their pages).
    gc.freeze()


def extract_page(body: bytes, url: str | None, charset: str | None):
    """`crawler.articles.extract_article`, imported here so the crawl process never imports trafilatura."""
    from crawler.articles import extract_article

    return extract_article(body, url, charset)


@dataclass(frozen=True)
class TextScore:
    scores: dict[str, Any]  # the model's (`HypeScores.to_dict()`)
    names_topic: bool | None = None  # for a text the gate finds not relevant: whether it names MS and a cell treatment


def score_text(text: str) -> TextScore:
    """The model's scores of `text`, and (for a text its gate finds not relevant) whether the text
    names the topic (`classifier.topic.mentions_topic`), both here, off the reactor thread."""
    if _model is None:
        raise RuntimeError("this worker has no model")
    scores = _model.score(text).to_dict()
    if scores["relevant"]:
        return TextScore(scores)
    from classifier.topic import mentions_topic

    return TextScore(scores, mentions_topic(text))


def _pid() -> int:
    return os.getpid()


def _outcome_seen(call: asyncio.Future) -> None:
    """Marks a call's outcome seen: a call given up for its time fails later, when its pool is killed."""
    if not call.cancelled():
        call.exception()


# ---------------------------------------------------------------------------- in the crawl
def start_fork_server(model_dir: str, model_version: str | None) -> None:
    """Start the fork server the extraction processes will be forked from, now (it does its
    imports and loads the model while the caller goes on). Call it before the crawl starts threads."""
    os.environ[MODEL_DIR_VARIABLE] = model_dir
    os.environ[MODEL_VERSION_VARIABLE] = model_version or ""
    multiprocessing.get_context("forkserver").set_forkserver_preload([PRELOAD_MODULE])
    multiprocessing.forkserver.ensure_running()


class ProcessWorkers:
    """A process pool: started, awaited until ready, replaced if a worker dies."""

    def __init__(self, crawler, name: str, processes: int, initargs: tuple = ()):
        self.crawler = crawler
        self.name = name
        self.processes = processes or os.cpu_count() or 1
        self.initargs = initargs
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.ready: list[concurrent.futures.Future] = []
        self.restarts = 0
        self.free = asyncio.Semaphore(self.processes)  # one call a worker at a time
        self.killed: weakref.WeakSet[concurrent.futures.ProcessPoolExecutor] = weakref.WeakSet()  # for overruns
        self.opened_at = 0.0
        self.is_ready = False
        self.opening: asyncio.Future | None = None

    async def open(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Start the workers and wait until each is up (imports done, model loaded); every
        caller waits for the same start.

        The crawl fetches nothing before: a crawl whose pages could not be processed should not
        take them from a site, and a worker that cannot start (no model, say) fails the crawl here.
        """
        if self.opening is None:
            self.opening = asyncio.ensure_future(self._open(timeout))
        await asyncio.shield(self.opening)

    async def _open(self, timeout: float) -> None:
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
            self.crawler.stats.inc_value(EXTRACTION_CPU, self.cpu_seconds())
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        pool = concurrent.futures.ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("forkserver"),
            initializer=start_worker, initargs=self.initargs,
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

    def cpu_seconds(self) -> float:
        """CPU seconds of this pool's processes and of the fork server they came from (which is
        not our child once reaped, nor are they: RUSAGE_CHILDREN misses them)."""
        pids = [process.pid for process in getattr(self.pool, "_processes", {}).values()]
        server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
        return round(sum(process_cpu_seconds(pid) or 0.0 for pid in [*pids, *([server] if server else [])]), 3)

    def peak_rss_mb(self) -> float:
        """The largest peak resident memory of this pool's processes (from /proc; 0 elsewhere)."""
        peaks = [vmhwm_mb(process.pid) for process in getattr(self.pool, "_processes", {}).values()]
        return round(max([0.0, *(peak for peak in peaks if peak is not None)]), 1)


class ExtractionProcesses(ProcessWorkers):
    """The crawl's extraction processes, as a Scrapy extension: the extraction and the scoring
    pipelines share them (`crawler.get_extension(ExtractionProcesses)`); each pipeline opens them
    (the first call starts them) and closes them (the first call stops them, once no item is left)."""

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        model = (settings.get("HYPEWATCH_MODEL_DIR"), settings.get("HYPEWATCH_MODEL_VERSION") or None)
        return cls(crawler, POOL_NAME, settings.getint("HYPEWATCH_EXTRACTION_PROCESSES"), model)


def extraction_processes(crawler) -> ExtractionProcesses:
    """The crawl's `ExtractionProcesses` (an error if the extension is not enabled)."""
    workers = crawler.get_extension(ExtractionProcesses)
    if workers is None:
        raise RuntimeError("the crawler.workers.ExtractionProcesses extension is not enabled")
    return workers
