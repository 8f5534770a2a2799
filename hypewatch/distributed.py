"""Crawling on several machines: runs published in Redis, crawled by `hypewatch worker` processes.

With HYPEWATCH_REDIS_URL set, `hypewatch crawl` and the scheduler crawl nothing themselves. For each
source they open a crawl run in the database and publish it in Redis: its crawl spec and its start
requests (`crawler.frontier.SharedRun.publish`). Every `hypewatch worker`, on any machine, starts a
crawl process for each published run (up to its --concurrency at once), and those processes share
the run's frontier (crawler.frontier). The process that published the run waits for it:

- it keeps the run's owner heartbeat and reconciles (puts the requests of workers whose heartbeat
  expired back into the queue);
- the run is over when it is *drained*: nothing queued and nothing in flight at any worker. The
  run then ends in Redis and is recorded like any other run (`crawl_runs`): its counts are the
  sum of every worker's, and a run that found nothing for a source that found something before
  leaves the source silent, so `hypewatch sources` and the dashboard read runs as before;
- a run still going at the crawl timeout ends as "timeout" (a run no worker took says so); one
  the scheduler's stop or Ctrl-C interrupts, as "cancelled". The workers then close their crawls.

A run whose publisher died is ended by the workers (they see its owner heartbeat expire) and
recorded as failed. The workers write to the shared database themselves, so HYPEWATCH_DATABASE_URL
must name the same database (PostgreSQL) on every machine.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

from classifier.errors import ModelFileError
from crawler.extensions import run_counts
from crawler.frontier import RunKeys, SharedRun, active_runs, redis_client, start_requests
from crawler.sources import SourceConfig
from hypewatch.app import Hypewatch
from hypewatch.crawling import CrawlProgress, CrawlSummary, ProgressCallback, crawl_spec, prepare
from hypewatch.errors import DistributedError
from storage.models import CrawlRun
from storage.repository import upsert_source
from storage.runs import RunCounts, finish_crawl_run, start_crawl_run

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
WORKERS_LEAVE_SECONDS = 10.0  # after a run ends, how long its workers get to report before it is recorded
MACHINE_KEYS = ("database_url", "model_dir")  # each worker uses its own (and they may hold credentials)
BROKEN_KINDS = ("pipeline", "spider", "storage")


def connect(settings) -> redis.Redis:
    """A client for HYPEWATCH_REDIS_URL, or DistributedError naming what is wrong."""
    server = redis_client(settings.redis_url)
    try:
        server.ping()
    except redis.RedisError as exc:
        raise DistributedError(f"cannot reach Redis at {_display(settings.redis_url)} "
                               f"(HYPEWATCH_REDIS_URL): {exc}") from None
    return server


def _display(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"***@{parts.hostname}:{parts.port or 6379}").geturl() if parts.password else url


# ---------------------------------------------------------------------------- publishing and waiting
@dataclass
class _Run:
    source: SourceConfig
    run_id: int
    started_at: dt.datetime
    shared: SharedRun
    ending: tuple[str, str | None] | None = None  # (status, message) once the run is over
    leave_by: float = 0.0  # monotonic time after which the run is recorded whether its workers left or not
    drained_at: float | None = None
    summary: CrawlSummary | None = None

    def end(self, status: str, message: str | None) -> None:
        self.ending = (status, message)
        self.shared.end()  # the workers close their crawls
        self.leave_by = time.monotonic() + WORKERS_LEAVE_SECONDS


def run_distributed_crawls(app: Hypewatch, sources: list[SourceConfig], *, max_pages: int | None = None,
                           on_progress: ProgressCallback | None = None, timeout: float | None = None,
                           stop: threading.Event | None = None, model_version: str | None = None,
                           settings_overrides: Mapping[str, Any] | None = None) -> list[CrawlSummary]:
    """Publish a run per source, wait until each is over, and record them (see the module doc)."""
    server = connect(app.settings)
    model_version = model_version or prepare(app)
    runs = [_publish(app, server, source, model_version=model_version, max_pages=max_pages,
                     settings_overrides=settings_overrides) for source in sources]
    timeout = timeout or app.settings.crawl_timeout
    deadline = time.monotonic() + timeout
    try:
        while waiting := [run for run in runs if run.summary is None]:
            for run in waiting:
                if run.ending is None:
                    ending = _look_at(app, run, deadline, timeout, stop, on_progress)
                    if ending is not None:
                        run.end(*ending)
                elif not run.shared.workers() or time.monotonic() > run.leave_by:
                    run.summary = _record(app, run)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        for run in runs:
            if run.summary is None:
                if run.ending is None:
                    run.end("cancelled", "interrupted")
                run.summary = _record(app, run)
        raise
    except redis.RedisError as exc:
        _fail_unrecorded(app, runs, f"lost Redis while waiting for the run: {exc}")
        raise DistributedError(f"lost Redis at {_display(app.settings.redis_url)} while crawling: {exc}") from None
    return [run.summary for run in runs]


def _fail_unrecorded(app: Hypewatch, runs: list[_Run], message: str) -> None:
    with app.database.session() as session:
        for run in runs:
            if run.summary is None:
                finish_crawl_run(session, run.run_id, "failed", RunCounts(), message=message)


def _publish(app: Hypewatch, server: redis.Redis, source: SourceConfig, *, model_version: str,
             max_pages: int | None, settings_overrides: Mapping[str, Any] | None) -> _Run:
    with app.database.session() as session:
        upsert_source(session, source.name, source.kind, source.to_dict())
        row = start_crawl_run(session, source.name)
        run = _Run(source, row.id, row.started_at, SharedRun(server, RunKeys(app.settings.redis_prefix, row.id)))
    spec = crawl_spec(app, source, model_version=model_version, max_pages=max_pages,
                      settings_overrides=settings_overrides)
    spec = {key: value for key, value in spec.items() if key not in MACHINE_KEYS}
    spec["settings"] = {k: v for k, v in spec["settings"].items() if k != "HYPEWATCH_WORKERS"}
    try:
        spider, requests = start_requests(source.to_dict())
        queued = run.shared.publish(spec, requests, spider, owner_ttl=app.settings.worker_heartbeat)
    except redis.RedisError as exc:
        with app.database.session() as session:
            finish_crawl_run(session, run.run_id, "failed", RunCounts(), message=f"could not publish the run: {exc}")
        raise DistributedError(f"could not publish the crawl of {source.name} in Redis: {exc}") from None
    logger.info("published run %d (%s) with %d start request(s)", run.run_id, source.name, queued)
    return run


def _look_at(app: Hypewatch, run: _Run, deadline: float, timeout: float, stop: threading.Event | None,
             on_progress: ProgressCallback | None) -> tuple[str, str | None] | None:
    """How the run ends, if it does now: (status, message)."""
    run.shared.beat_owner(app.settings.worker_heartbeat)
    run.shared.reconcile()
    _report(run, run.shared.counters(), on_progress)
    if run.shared.drained():
        run.drained_at = time.time()
        return "ok", None
    if time.monotonic() > deadline:
        return "timeout", f"ended after {timeout:.0f} s (the crawl timeout)"
    if stop is not None and stop.is_set():
        return "cancelled", "stopped before it finished (scheduler stopping)"
    return None


def _report(run: _Run, counters: Mapping[str, int], on_progress: ProgressCallback | None) -> None:
    if on_progress is None:
        return
    counts = run_counts(counters)
    seconds = (dt.datetime.now(dt.UTC) - run.started_at).total_seconds()
    try:
        on_progress(CrawlProgress(run.source.name, counts["fetched"], sum(counts["stored"].values()),
                                  sum(counts["dropped"].values()) + sum(counts["skipped"].values()),
                                  sum(counts["errors"].values()), seconds))
    except Exception:  # a display problem must not break the run's bookkeeping
        logger.exception("progress callback failed")


def _record(app: Hypewatch, run: _Run) -> CrawlSummary:
    """Record the ended run in the database, with what its workers reported."""
    counters, reports, problems = run.shared.counters(), run.shared.summaries(), run.shared.problems()
    run.shared.expire()
    counts = run_counts(counters)
    status, message = _conclude(*run.ending, counts, counters, reports, problems)
    with app.database.session() as session:
        row = finish_crawl_run(session, run.run_id, status, _run_counts(counts), message=message)
        return _summary(row, run, counts, reports)


def _conclude(status: str, message: str | None, counts: dict, counters: Mapping[str, int], reports: list,
              problems: list[str]) -> tuple[str, str | None]:
    found = sum(counts["stored"].values())
    broken = sum(counts["errors"].get(kind, 0) for kind in BROKEN_KINDS)
    if status == "ok" and broken and found == 0:
        status, message = "failed", f"nothing stored and {broken} page(s) failed with an error (see the workers' logs)"
    if status == "timeout" and not reports and not counts["fetched"]:
        message = f"{message}: no worker took this run; start `hypewatch worker` (with the same HYPEWATCH_REDIS_URL)"
    notes = [message] if message else []
    if counters.get("hypewatch/requeued"):
        notes.append(f"{counters['hypewatch/requeued']} request(s) of lost workers were queued again")
    notes += problems
    return status, "; ".join(notes) or None


def _run_counts(counts: dict) -> RunCounts:
    stored = counts["stored"]
    return RunCounts(
        pages_fetched=counts["fetched"], pages_new=stored.get("new", 0), pages_changed=stored.get("changed", 0),
        pages_unchanged=stored.get("unchanged", 0), pages_kept=counts["kept"],
        dropped={**counts["dropped"], **counts["skipped"]}, errors=dict(counts["errors"]),
    )


def _summary(row: CrawlRun, run: _Run, counts: dict, reports: list[dict]) -> CrawlSummary:
    ready = [r["ready_at"] for r in reports if r.get("ready_at")]
    crawl_seconds = round(run.drained_at - min(ready), 3) if ready and run.drained_at else None
    return CrawlSummary(
        source=row.source_name, run_id=row.id, status=row.status, started_at=run.started_at,
        finished_at=row.finished_at, pages_fetched=row.pages_fetched, pages_new=row.pages_new,
        pages_changed=row.pages_changed, pages_unchanged=row.pages_unchanged, pages_kept=row.pages_kept,
        dropped=dict(row.dropped),
        errors=dict(row.errors), silent=row.silent, message=row.message, crawl_seconds=crawl_seconds,
        peak_rss_mb=max((r["peak_rss_mb"] for r in reports), default=None),
        workers_peak_rss_mb=max((r["workers_peak_rss_mb"] for r in reports), default=None),
        cpu_seconds=round(sum(r["cpu_seconds"] for r in reports), 3) if reports else None,
        workers_cpu_seconds=round(sum(r["workers_cpu_seconds"] for r in reports), 3) if reports else None,
        workers=len(reports),
    )


# ---------------------------------------------------------------------------- the worker
@dataclass
class _Child:
    run_id: int
    source: str
    process: subprocess.Popen
    log_path: Path
    log: Any


class CrawlWorker:
    """`hypewatch worker`: crawls the runs published in Redis, up to `concurrency` at once, each in its
    own crawl process (a worker of that run, see crawler.frontier), until asked to stop."""

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
    def _start(self, run_id: int, spec: dict[str, Any]) -> None:
        source = spec["source"]["name"]
        version = spec["settings"].get("HYPEWATCH_MODEL_VERSION")
        try:
            if version:
                self.app.registry.info(version)
        except ModelFileError as exc:
            self._shared(run_id).problem(f"worker {self.name} skipped the run: {exc} (copy the model registry "
                                         "to this machine, or train the same model there)")
            self.on_event(f"run {run_id} ({source}): skipped, {exc}")
            self.done.add(run_id)
            return
        worker_id = f"{self.name}:{run_id}:{uuid.uuid4().hex[:6]}"
        log_path = self._log_path(run_id, source)
        log = log_path.open("ab")
        process = subprocess.Popen([sys.executable, "-m", "crawler.runner"], stdin=subprocess.PIPE, stdout=log,
                                   stderr=log, start_new_session=True)  # our SIGTERM, not the terminal's, stops it
        process.stdin.write(json.dumps(self._child_spec(spec, run_id, worker_id)).encode())
        process.stdin.close()
        self.children[run_id] = _Child(run_id, source, process, log_path, log)
        self.on_event(f"run {run_id} ({source}): crawling as {worker_id} (log {log_path})")

    def _child_spec(self, spec: dict[str, Any], run_id: int, worker_id: str) -> dict[str, Any]:
        settings = self.settings
        return {**spec, "database_url": settings.database_url, "model_dir": str(settings.model_dir),
                "settings": {**spec["settings"], "HYPEWATCH_WORKERS": settings.crawl_workers,
                             "HYPEWATCH_REDIS_URL": settings.redis_url, "HYPEWATCH_REDIS_PREFIX": settings.redis_prefix,
                             "HYPEWATCH_RUN_ID": run_id, "HYPEWATCH_WORKER_ID": worker_id,
                             "HYPEWATCH_WORKER_HEARTBEAT": settings.worker_heartbeat,
                             "HYPEWATCH_PROGRESS_INTERVAL": 0}}

    def _log_path(self, run_id: int, source: str) -> Path:
        directory = self.settings.home / "logs" / "worker"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{run_id:06d}-{source}-{os.getpid()}.log"

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
                _signal(child.process, signal.SIGKILL)
                child.process.wait()
            child.log.close()
            self.on_event(f"run {child.run_id} ({child.source}): crawl process stopped (status {child.process.returncode})")
        self.children.clear()

    def _end_abandoned(self, run_id: int) -> None:
        """A run whose publisher stopped beating: nobody will record it, so end and record it here."""
        shared = self._shared(run_id)
        shared.end()
        counts = run_counts(shared.counters())
        with self.app.database.session() as session:
            row = session.get(CrawlRun, run_id)
            if row is not None and row.status == "running":
                finish_crawl_run(session, run_id, "failed", _run_counts(counts),
                                 message="abandoned: the process that started this run stopped waiting for it")
        shared.expire()
        self.on_event(f"run {run_id}: abandoned by the process that started it; ended")


def _signal(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the crawl process and its extraction and scoring workers
    except ProcessLookupError:
        pass
