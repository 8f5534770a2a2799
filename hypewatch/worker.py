"""`hypewatch worker`: the daemon that crawls the runs published in Redis (see hypewatch.distributed).

A worker runs on each crawling machine. For every run published under its HYPEWATCH_REDIS_PREFIX
it starts one crawl process (`python -m crawler.runner`), up to `--concurrency` runs at once; the
crawl processes of every worker share the run's frontier. It ends runs whose publisher died, and
gives a run up after repeated failures of its crawl processes.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from classifier.errors import ModelFileError
from crawler.counts import run_counts
from crawler.shared_run import RunKeys, SharedRun, active_runs
from crawler.spec import CrawlSpec
from hypewatch.app import Hypewatch
from hypewatch.distributed import connect
from hypewatch.runs import log_path, prepare, signal_group, spawn_crawl_process, stored_counts
from storage.models import CrawlRun
from storage.runs import finish_crawl_run

logger = logging.getLogger(__name__)


@dataclass
class _Child:
    run_id: int
    source: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]


class CrawlWorker:
    """`hypewatch worker`: crawls the runs published in Redis, up to `concurrency` at once, each in its
    own crawl process (one of that run's crawl processes, see crawler.frontier), until asked to stop."""

    MAX_ATTEMPTS = 3  # crawl processes of one run that may fail before this worker gives the run up
    STOP_GRACE_SECONDS = 30.0  # after SIGTERM, a crawl process gets this long to finish what it holds

    def __init__(self, app: Hypewatch, *, concurrency: int = 2, poll_seconds: float = 0.5,
                 on_event: Callable[[str], None] | None = None):
        self.app = app
        self.settings = app.settings
        self.server = connect(app.settings)
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.on_event = on_event or (lambda message: logger.info("%s", message))
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.children: dict[int, _Child] = {}
        self.done: set[int] = set()  # runs this worker has finished (or given up); not joined again
        self.failures: Counter[int] = Counter()
        self.stop_requested = threading.Event()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def run(self) -> None:
        """Work until `request_stop()`; crawl processes still running then are stopped cleanly."""
        prepare(self.app)  # a model to score with (trained once if there is none), registered
        try:
            while not self.stop_requested.is_set():
                self.step()
                self.stop_requested.wait(self.poll_seconds)
        finally:
            self._stop_children()

    def step(self) -> None:
        self._reap()
        runs = active_runs(self.server, self.settings.redis_prefix)
        for run_id in [r for r in runs if not self._shared(r).owner_alive()]:
            self._end_abandoned(run_id)
            del runs[run_id]
        for run_id, spec in sorted(runs.items()):
            if len(self.children) >= self.concurrency:
                break
            if run_id not in self.children and run_id not in self.done:
                self._start(run_id, spec)
        self.done &= set(runs)  # a run that ended is forgotten

    def _shared(self, run_id: int) -> SharedRun:
        return SharedRun(self.server, RunKeys(self.settings.redis_prefix, run_id))

    # ------------------------------------------------------------------ crawl processes
    def _start(self, run_id: int, published: dict[str, Any]) -> None:
        try:
            spec = CrawlSpec.from_dict(published)
        except (TypeError, ValueError) as exc:
            self._shared(run_id).problem(f"worker {self.name} skipped the run: bad crawl spec ({exc})")
            self.on_event(f"run {run_id}: skipped, bad crawl spec ({exc})")
            self.done.add(run_id)
            return
        source = str(spec.source.get("name"))
        version = spec.settings.get("HYPEWATCH_MODEL_VERSION")
        try:
            if version:
                self.app.registry.info(version)
        except ModelFileError as exc:
            self._shared(run_id).problem(f"worker {self.name} skipped the run: {exc} (copy the model registry "
                                         "to this machine, or train the same model there)")
            self.on_event(f"run {run_id} ({source}): skipped, {exc}")
            self.done.add(run_id)
            return
        process_id = f"{self.name}:{run_id}:{uuid.uuid4().hex[:6]}"
        child_log = log_path(self.settings, "worker", run_id, source, f"-{os.getpid()}")
        log = child_log.open("ab")
        # Our SIGTERM, not the terminal's, stops it (it runs in its own session).
        process = spawn_crawl_process(self._child_spec(spec, run_id, process_id), stdout=log, stderr=log)
        self.children[run_id] = _Child(run_id, source, process, child_log, log)
        self.on_event(f"run {run_id} ({source}): crawling as {process_id} (log {child_log})")

    def _child_spec(self, spec: CrawlSpec, run_id: int, process_id: str) -> CrawlSpec:
        settings = self.settings
        return replace(spec, database_url=settings.database_url, model_dir=str(settings.model_dir), settings={
            **spec.settings, "HYPEWATCH_EXTRACTION_PROCESSES": settings.extraction_processes,
            "HYPEWATCH_REDIS_URL": settings.redis_url, "HYPEWATCH_REDIS_PREFIX": settings.redis_prefix,
            "HYPEWATCH_RUN_ID": run_id, "HYPEWATCH_CRAWL_PROCESS_ID": process_id,
            "HYPEWATCH_CRAWL_HEARTBEAT": settings.crawl_heartbeat, "HYPEWATCH_PROGRESS_INTERVAL": 0})

    def _reap(self) -> None:
        for run_id, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            child.log.close()
            del self.children[run_id]
            if code == 0:
                self.done.add(run_id)
                self.on_event(f"run {run_id} ({child.source}): done")
                continue
            self.failures[run_id] += 1
            self.on_event(f"run {run_id} ({child.source}): crawl process failed with status {code} "
                          f"(log {child.log_path})")
            if self.failures[run_id] >= self.MAX_ATTEMPTS:
                self._shared(run_id).problem(f"worker {self.name} gave up after {self.MAX_ATTEMPTS} failed crawl "
                                             f"processes (see {child.log_path} there)")
                self.done.add(run_id)

    def _stop_children(self) -> None:
        for child in self.children.values():
            # The crawl process alone: it stops its extraction and scoring workers itself once the
            # pages they hold are done (signalling its group would kill them mid-page).
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.STOP_GRACE_SECONDS
        for child in self.children.values():
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("crawl process of run %d did not stop in time; killing it", child.run_id)
                signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            child.log.close()
            self.on_event(f"run {child.run_id} ({child.source}): crawl process stopped (status {child.process.returncode})")
        self.children.clear()

    def _end_abandoned(self, run_id: int) -> None:
        """A run whose publisher stopped beating: nobody will record it, so end and record it here."""
        shared = self._shared(run_id)
        shared.end()
        counts = stored_counts(run_counts(dict(shared.counters())))
        with self.app.database.session() as session:
            row = session.get(CrawlRun, run_id)
            if row is not None and row.status == "running":
                finish_crawl_run(session, run_id, "failed", counts,
                                 message="abandoned: the process that started this run stopped waiting for it")
        shared.expire()
        self.on_event(f"run {run_id}: abandoned by the process that started it; ended")
