"""The shared backend: crawl runs published in Redis and crawled by `hypewatch worker`s.

With HYPEWATCH_REDIS_URL set, `hypewatch crawl` and the scheduler crawl nothing themselves. For each
source they open a crawl run in the database and publish it in Redis: its crawl spec and its start
requests (`crawler.shared_run.SharedRun.publish`). Every `hypewatch worker` (`hypewatch.worker`), on
any machine, starts a crawl process for each published run (up to its --concurrency at once), and
those crawl processes share the run's frontier (crawler.frontier). The process that published the
run waits for it:

- it keeps the run's owner heartbeat, in Redis and in the database, and reconciles (puts the
  requests of crawl processes whose heartbeat expired back into the queue);
- the run is over when it is *drained*: nothing queued and nothing in flight at any crawl process. The
  run then ends in Redis and is recorded like any other run (`crawl_runs`): its counts are the
  sum of every crawl process's, and a run that found nothing for a source that found something before
  leaves the source silent, so `hypewatch sources` and the dashboard read runs as before;
- a run still going at the crawl timeout ends as "timeout" (a run no worker took says so); one
  the scheduler's stop or Ctrl-C interrupts, as "cancelled". The crawl processes then close.

A run whose publisher died is ended by the workers (they see its owner heartbeat expire) and
recorded as failed (or, if no worker is left to notice, by whoever next starts or shows runs:
`storage.runs.abandon_stale_runs`). The workers write to the shared database themselves, so HYPEWATCH_DATABASE_URL
must name the same database (PostgreSQL) on every machine.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import redis

from crawler.counts import run_counts
from crawler.shared_run import RunKeys, SharedRun, redis_client
from crawler.sources import SourceConfig
from crawler.spiders import start_requests
from hypewatch.app import Hypewatch
from hypewatch.errors import DistributedError
from hypewatch.runs import (
    CrawlSummary,
    ProgressCallback,
    RunHeartbeat,
    conclude,
    crawl_spec,
    open_run,
    progress_of,
    report_progress,
    stored_counts,
)
from hypewatch.settings import Settings
from storage.models import CrawlRun
from storage.runs import RunCounts, finish_crawl_run

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
LEAVE_SECONDS = 10.0  # after a run ends, how long its crawl processes get to report before it is recorded


def connect(settings: Settings) -> redis.Redis:
    """A client for HYPEWATCH_REDIS_URL, or DistributedError naming what is wrong."""
    assert settings.redis_url, "the shared backend needs HYPEWATCH_REDIS_URL"
    server = redis_client(settings.redis_url)
    try:
        server.ping()
    except redis.RedisError as exc:
        raise DistributedError(f"cannot reach Redis at {_display(settings.redis_url)} "
                               f"(HYPEWATCH_REDIS_URL): {exc}") from None
    return server


def _display(url: str | None) -> str:
    if not url:
        return "(unset)"
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
    leave_by: float = 0.0  # monotonic time after which the run is recorded whether its crawl processes left or not
    drained_at: float | None = None
    summary: CrawlSummary | None = None

    def end(self, status: str, message: str | None) -> None:
        self.ending = (status, message)
        self.shared.end()  # the crawl processes close
        self.leave_by = time.monotonic() + LEAVE_SECONDS


def crawl_shared(app: Hypewatch, sources: list[SourceConfig], *, model_version: str, max_pages: int | None = None,
                 on_progress: ProgressCallback | None = None, timeout: float | None = None,
                 stop: threading.Event | None = None,
                 settings_overrides: Mapping[str, Any] | None = None) -> list[CrawlSummary]:
    """Publish a run per source, wait until each is over, and record them (see the module doc)."""
    server = connect(app.settings)
    runs = [_publish(app, server, source, model_version=model_version, max_pages=max_pages,
                     settings_overrides=settings_overrides) for source in sources]
    timeout = timeout or app.settings.crawl_timeout
    deadline = time.monotonic() + timeout
    heartbeat = RunHeartbeat(app)
    try:
        while waiting := [run for run in runs if run.summary is None]:
            heartbeat.tick(run.run_id for run in waiting)
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
    return [run.summary for run in runs if run.summary is not None]


def _fail_unrecorded(app: Hypewatch, runs: list[_Run], message: str) -> None:
    with app.database.session() as session:
        for run in runs:
            if run.summary is None:
                finish_crawl_run(session, run.run_id, "failed", RunCounts(), message=message)


def _publish(app: Hypewatch, server: redis.Redis, source: SourceConfig, *, model_version: str,
             max_pages: int | None, settings_overrides: Mapping[str, Any] | None) -> _Run:
    run_id, started_at = open_run(app, source)
    run = _Run(source, run_id, started_at, SharedRun(server, RunKeys(app.settings.redis_prefix, run_id)))
    spec = crawl_spec(app.settings, source, model_version=model_version, max_pages=max_pages,
                      settings_overrides=settings_overrides).published()
    # Each worker sets its own machine's number of extraction processes.
    spec = replace(spec, settings={k: v for k, v in spec.settings.items() if k != "HYPEWATCH_EXTRACTION_PROCESSES"})
    try:
        spider, requests = start_requests(source.to_dict())
        queued = run.shared.publish(spec.to_dict(), requests, spider, owner_ttl=app.settings.crawl_heartbeat)
    except redis.RedisError as exc:
        with app.database.session() as session:
            finish_crawl_run(session, run.run_id, "failed", RunCounts(), message=f"could not publish the run: {exc}")
        raise DistributedError(f"could not publish the crawl of {source.name} in Redis: {exc}") from None
    logger.info("published run %d (%s) with %d start request(s)", run.run_id, source.name, queued)
    return run


def _look_at(app: Hypewatch, run: _Run, deadline: float, timeout: float, stop: threading.Event | None,
             on_progress: ProgressCallback | None) -> tuple[str, str | None] | None:
    """How the run ends, if it does now: (status, message)."""
    run.shared.beat_owner(app.settings.crawl_heartbeat)
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
    seconds = (dt.datetime.now(dt.UTC) - run.started_at).total_seconds()
    report_progress(on_progress, progress_of(run.source.name, run_counts(dict(counters)), seconds))


def _record(app: Hypewatch, run: _Run) -> CrawlSummary:
    """Record the ended run in the database, with what its workers reported."""
    counters, reports, problems = run.shared.counters(), run.shared.summaries(), run.shared.problems()
    run.shared.expire()
    counts = run_counts(dict(counters))
    assert run.ending is not None, "only an ended run is recorded"
    status, message = _conclude(run.ending[0], run.ending[1], counts, counters, reports, problems)
    with app.database.session() as session:
        row = finish_crawl_run(session, run.run_id, status, stored_counts(counts), message=message)
        return _summary(row, run, reports)


def _conclude(status: str, message: str | None, counts: dict[str, Any], counters: Mapping[str, int],
              reports: list[dict[str, Any]], problems: list[str]) -> tuple[str, str | None]:
    status, message = conclude(status, message, stored_counts(counts), "the workers' logs")
    if status == "timeout" and not reports and not counts["fetched"]:
        message = f"{message}: no worker took this run; start `hypewatch worker` (with the same HYPEWATCH_REDIS_URL)"
    notes = [message] if message else []
    if counters.get("hypewatch/requeued"):
        notes.append(f"{counters['hypewatch/requeued']} request(s) of lost workers were queued again")
    notes += problems
    return status, "; ".join(notes) or None


def _summary(row: CrawlRun, run: _Run, reports: list[dict[str, Any]]) -> CrawlSummary:
    ready = [r["ready_at"] for r in reports if r.get("ready_at")]
    crawl_seconds = round(run.drained_at - min(ready), 3) if ready and run.drained_at else None
    return CrawlSummary.of_run(
        row, run.started_at, crawl_seconds=crawl_seconds,
        peak_rss_mb=max((r["peak_rss_mb"] for r in reports), default=None),
        extraction_peak_rss_mb=max((r["extraction_peak_rss_mb"] for r in reports), default=None),
        cpu_seconds=round(sum(r["cpu_seconds"] for r in reports), 3) if reports else None,
        extraction_cpu_seconds=round(sum(r["extraction_cpu_seconds"] for r in reports), 3) if reports else None,
        crawl_processes=len(reports),
    )
