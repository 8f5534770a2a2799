"""The crawl-run core: what every way of running a crawl shares.

A crawl run is one crawl of one source, recorded in `crawl_runs`. It is carried out either by a
crawl process of this machine (`hypewatch.crawling`, the local backend) or by the crawl processes
of `hypewatch worker`s sharing a Redis frontier (`hypewatch.distributed`); `hypewatch.dispatch`
picks the backend. This module owns what both need: the run types (progress, summary, the crawl
spec), turning a crawl's counters into the counts stored, the rule for how a run ended, the
guarded progress callback, keeping the runs this process owns alive (their heartbeat) and ending
the runs whose process is gone, and starting, stopping and logging crawl processes (which stop by
themselves when the process that started them dies, see `crawler.parent_watch`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crawler.parent_watch import PARENT_PID_VARIABLE
from crawler.sources import SourceConfig
from crawler.spec import CrawlSpec
from crawler.vocabulary import BROKEN_KINDS, UNREACHABLE_KINDS
from hypewatch.app import Hypewatch
from hypewatch.errors import ConfigError
from hypewatch.settings import Settings
from storage.models import CrawlRun
from storage.repository import register_model_version, upsert_source
from storage.runs import HEARTBEAT_EVERY, RunCounts, abandon_stale_runs, beat_runs, start_crawl_run

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class CrawlProgress:
    source: str
    fetched: int = 0
    stored: int = 0
    dropped: int = 0
    errors: int = 0
    seconds: float = 0.0


ProgressCallback = Callable[[CrawlProgress], None]


@dataclass(frozen=True)
class CrawlSummary:
    source: str
    run_id: int
    status: str  # ok | failed | timeout | cancelled
    started_at: dt.datetime
    finished_at: dt.datetime
    pages_fetched: int = 0
    pages_new: int = 0
    pages_changed: int = 0
    pages_unchanged: int = 0
    pages_kept: int = 0  # stored though off-topic for the model: they name MS and a cell treatment
    dropped: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, int] = field(default_factory=dict)
    silent: bool = False
    message: str | None = None
    crawl_seconds: float | None = None  # spider open to close, as the crawl process measured it
    peak_rss_mb: float | None = None
    extraction_peak_rss_mb: float | None = None
    extraction_ready_seconds: Mapping[str, float] = field(default_factory=dict)  # startup of the process pools
    cpu_seconds: float | None = None  # the crawl process's
    extraction_cpu_seconds: float | None = None  # its extraction processes'
    log_file: str | None = None
    crawl_processes: int | None = None  # crawl processes that took part in a shared (Redis) run

    @classmethod
    def of_run(cls, run: CrawlRun, started_at: dt.datetime, **measures: Any) -> CrawlSummary:
        """The summary of a recorded run, with what its crawl process(es) measured."""
        assert run.finished_at is not None, "a summary is made of a finished run"
        return cls(
            source=run.source_name, run_id=run.id, status=run.status, started_at=started_at,
            finished_at=run.finished_at, pages_fetched=run.pages_fetched, pages_new=run.pages_new,
            pages_changed=run.pages_changed, pages_unchanged=run.pages_unchanged, pages_kept=run.pages_kept,
            dropped=dict(run.dropped or {}), errors=dict(run.errors or {}), silent=run.silent, message=run.message,
            **measures,
        )

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "run_id": self.run_id, "status": self.status,
            "started_at": self.started_at.isoformat(), "finished_at": self.finished_at.isoformat(),
            "seconds": round(self.seconds, 3), "crawl_seconds": self.crawl_seconds,
            "pages_fetched": self.pages_fetched, "pages_new": self.pages_new, "pages_changed": self.pages_changed,
            "pages_unchanged": self.pages_unchanged, "pages_kept": self.pages_kept,
            "dropped": dict(self.dropped), "errors": dict(self.errors),
            "silent": self.silent, "message": self.message, "peak_rss_mb": self.peak_rss_mb,
            "extraction_peak_rss_mb": self.extraction_peak_rss_mb,
            "extraction_ready_seconds": dict(self.extraction_ready_seconds), "cpu_seconds": self.cpu_seconds,
            "extraction_cpu_seconds": self.extraction_cpu_seconds, "log_file": self.log_file,
            "crawl_processes": self.crawl_processes,
        }


# ---------------------------------------------------------------------------- sources and setup
def select_sources(sources: list[SourceConfig], names: tuple[str, ...] | list[str] = ()) -> list[SourceConfig]:
    """The named sources (in the order given), or every enabled source when no name is given."""
    if not names:
        return [s for s in sources if s.enabled]
    by_name = {s.name: s for s in sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"unknown source(s): {', '.join(unknown)} (known: {', '.join(by_name) or 'none'})")
    return [by_name[n] for n in names]


def prepare(app: Hypewatch) -> str:
    """The model version crawls score with (trained once if there is none), registered in the database.

    Only the model's manifest is read here; the crawl's extraction processes load the model itself.
    """
    version = app.registry.current_version()
    if version is None:
        logger.warning("no model yet; training one from the labelled corpus before crawling")
        app.train()
        version = app.registry.current_version()
        assert version is not None, "training registers a model version"
    info = app.registry.info(version)
    with app.database.session() as session:
        register_model_version(session, info.version, file_sha256=info.sha256, params=info.params,
                               metrics=info.metrics, training_seconds=info.training_seconds, documents=info.documents)
    return info.version


def open_run(app: Hypewatch, source: SourceConfig) -> tuple[int, dt.datetime]:
    """Record the source (as configured now) and open a `running` crawl run for it, owned by this
    process, which must keep it alive (`RunHeartbeat`) until it records the run: (run id, start)."""
    with app.database.session() as session:
        upsert_source(session, source.name, source.kind, source.to_dict())
        run = start_crawl_run(session, source.name)
        return run.id, run.started_at


def end_abandoned_runs(app: Hypewatch) -> int:
    """Mark the runs whose process is gone as failed (`storage.runs.abandon_stale_runs`): every
    command that starts or shows runs calls this first."""
    with app.database.session() as session:
        return abandon_stale_runs(session)


class RunHeartbeat:
    """Tells the database, every `HEARTBEAT_EVERY`, that this process still waits for its runs.

    `tick()` is called from a wait loop; a failed write is logged and tried again at the next
    beat, since a database hiccup must not end a crawl.
    """

    def __init__(self, app: Hypewatch, every: float = HEARTBEAT_EVERY.total_seconds()):
        self.app = app
        self.every = every
        self.next_beat = time.monotonic() + every

    def tick(self, run_ids: Iterable[int]) -> None:
        if time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + self.every
        run_ids = list(run_ids)
        try:
            with self.app.database.session() as session:
                beat_runs(session, run_ids)
        except Exception:
            logger.exception("could not refresh the heartbeat of crawl run(s) %s; trying again in %.0f s",
                             ", ".join(map(str, run_ids)), self.every)


def crawl_spec(settings: Settings, source: SourceConfig, *, model_version: str, max_pages: int | None = None,
               settings_overrides: Mapping[str, Any] | None = None) -> CrawlSpec:
    """What a crawl process of this machine needs (see crawler.runner)."""
    overrides = {"HYPEWATCH_EXTRACTION_PROCESSES": settings.extraction_processes,
                 "HYPEWATCH_MODEL_VERSION": model_version, **(settings_overrides or {})}
    return CrawlSpec(
        source=source.to_dict(), database_url=settings.database_url, model_dir=str(settings.model_dir),
        max_pages=max_pages or source.max_pages, user_agent=settings.user_agent,
        download_timeout=settings.fetch_timeout, max_download_bytes=settings.max_download_bytes,
        settings=overrides,
    )


# ---------------------------------------------------------------------------- counts and outcomes
def stored_counts(counts: Mapping[str, Any]) -> RunCounts:
    """The counts recorded for a run, from a crawl's grouped counters (`crawler.counts.run_counts`)."""
    stored = counts.get("stored", {})
    return RunCounts(
        pages_fetched=int(counts.get("fetched", 0)),
        pages_new=int(stored.get("new", 0)),
        pages_changed=int(stored.get("changed", 0)),
        pages_unchanged=int(stored.get("unchanged", 0)),
        pages_kept=int(counts.get("kept", 0)),
        dropped={**counts.get("dropped", {}), **counts.get("skipped", {})},
        errors=dict(counts.get("errors", {})),
    )


def progress_of(source: str, counts: Mapping[str, Any], seconds: float) -> CrawlProgress:
    """A progress report from a crawl's grouped counters."""
    return CrawlProgress(
        source, int(counts.get("fetched", 0)), sum(counts.get("stored", {}).values()),
        sum(counts.get("dropped", {}).values()) + sum(counts.get("skipped", {}).values()),
        sum(counts.get("errors", {}).values()), float(seconds),
    )


def conclude(status: str, message: str | None, counts: RunCounts, logs: str) -> tuple[str, str | None]:
    """How a run that ran to its end is recorded, whatever its crawl process said: it has failed
    when it stored nothing while pages failed with an error of ours, or when nothing at all could
    be fetched because the site could not be reached (refused connections, timeouts, DNS), since a
    site that is down is not a healthy source that had nothing new."""
    if status != "ok" or counts.found:
        return status, message
    errors = counts.errors or {}
    broken = sum(errors.get(kind, 0) for kind in BROKEN_KINDS)
    if broken:
        return "failed", f"nothing stored and {broken} page(s) failed with an error (see {logs})"
    unreachable = {kind: errors[kind] for kind in UNREACHABLE_KINDS if errors.get(kind)}
    if unreachable and counts.pages_fetched == 0:
        detail = ", ".join(f"{kind}: {n}" for kind, n in unreachable.items())
        return "failed", f"nothing could be fetched: {sum(unreachable.values())} request(s) failed ({detail})"
    return status, message


def report_progress(callback: ProgressCallback | None, progress: CrawlProgress) -> None:
    """Hand `progress` to the caller's callback; a display problem must not break a run's bookkeeping."""
    if callback is None:
        return
    try:
        callback(progress)
    except Exception:
        logger.exception("progress callback failed")


# ---------------------------------------------------------------------------- crawl processes
def log_path(settings: Settings, folder: str, run_id: int, source: str, suffix: str = "") -> Path:
    """HYPEWATCH_HOME/logs/<folder>/<run>-<source><suffix>.log, its folder created."""
    directory = settings.home / "logs" / folder
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{run_id:06d}-{source}{suffix}.log"


def spawn_crawl_process(spec: CrawlSpec, *, stdout: int | IO[Any], stderr: int | IO[Any]) -> subprocess.Popen[bytes]:
    """`python -m crawler.runner` with `spec` on its stdin, in a new session: the terminal's Ctrl-C
    does not reach it, and its whole group (the crawl and its extraction processes) can be signalled.
    It is told our pid, so it stops by itself if we die (`crawler.parent_watch`)."""
    process = subprocess.Popen([sys.executable, "-m", "crawler.runner"], stdin=subprocess.PIPE, stdout=stdout,
                               stderr=stderr, start_new_session=True,
                               env={**os.environ, PARENT_PID_VARIABLE: str(os.getpid())})
    assert process.stdin is not None
    process.stdin.write(spec.to_json().encode())
    process.stdin.close()
    return process


def signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """Signal a crawl process and its extraction processes (its own process group)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def stop_group(process: subprocess.Popen[bytes], grace_seconds: float) -> None:
    """SIGTERM (the crawl closes cleanly, flushing what it stored), then SIGKILL after the grace period."""
    signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait()
