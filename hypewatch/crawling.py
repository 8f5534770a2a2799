"""Running crawls: each in its own process, recorded as a crawl run (with HYPEWATCH_REDIS_URL set,
published for `hypewatch worker` processes instead: see hypewatch.distributed).

`run_crawls` is what `hypewatch crawl`, the scheduler and the demo use. For each source it opens a
crawl run, starts `python -m crawler.runner` in a new process group with a spec built from
`Settings`, relays the child's progress lines to `on_progress`, kills the whole group when the
crawl outlives `Settings.crawl_timeout` (or when asked to stop), and records how the run ended,
including whether it leaves its source silent. Scrapy's log of each run is kept in
HYPEWATCH_HOME/logs/crawls/.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.sources import SourceConfig, load_sources
from hypewatch.app import Hypewatch
from hypewatch.errors import ConfigError
from storage.models import CrawlRun
from storage.repository import register_model_version, upsert_source
from storage.runs import RunCounts, finish_crawl_run, start_crawl_run

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0  # after SIGTERM, a crawl gets this long to flush its last batch
LOG_TAIL_CHARS = 600

__all__ = ["CrawlProgress", "CrawlSummary", "load_sources", "run_crawl", "run_crawls", "select_sources"]


@dataclass(frozen=True)
class CrawlProgress:
    source: str
    fetched: int = 0
    stored: int = 0
    dropped: int = 0
    errors: int = 0
    seconds: float = 0.0


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
    workers_peak_rss_mb: float | None = None
    workers_ready_seconds: Mapping[str, float] = field(default_factory=dict)  # startup of the worker pools
    cpu_seconds: float | None = None  # the crawl process's
    workers_cpu_seconds: float | None = None  # its worker processes'
    log_file: str | None = None
    workers: int | None = None  # crawl processes that took part in a shared (Redis) run

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
            "pages_unchanged": self.pages_unchanged, "pages_kept": self.pages_kept, "dropped": dict(self.dropped), "errors": dict(self.errors),
            "silent": self.silent, "message": self.message, "peak_rss_mb": self.peak_rss_mb,
            "workers_peak_rss_mb": self.workers_peak_rss_mb,
            "workers_ready_seconds": dict(self.workers_ready_seconds), "cpu_seconds": self.cpu_seconds,
            "workers_cpu_seconds": self.workers_cpu_seconds, "log_file": self.log_file, "workers": self.workers,
        }


ProgressCallback = Callable[[CrawlProgress], None]


def select_sources(sources: list[SourceConfig], names: tuple[str, ...] | list[str] = ()) -> list[SourceConfig]:
    """The named sources (in the order given), or every enabled source when no name is given."""
    if not names:
        return [s for s in sources if s.enabled]
    by_name = {s.name: s for s in sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"unknown source(s): {', '.join(unknown)} (known: {', '.join(by_name) or 'none'})")
    return [by_name[n] for n in names]


def run_crawls(app: Hypewatch, sources: list[SourceConfig], *, max_pages: int | None = None,
               on_progress: ProgressCallback | None = None, timeout: float | None = None,
               settings_overrides: Mapping[str, Any] | None = None) -> list[CrawlSummary]:
    """Crawl each source now, one after another, each in its own process; with HYPEWATCH_REDIS_URL
    set, publish every source's run for the workers and wait for them all (hypewatch.distributed)."""
    if app.settings.redis_url:
        from hypewatch.distributed import run_distributed_crawls

        return run_distributed_crawls(app, sources, max_pages=max_pages, on_progress=on_progress, timeout=timeout,
                                      settings_overrides=settings_overrides)
    model_version = prepare(app)
    return [run_crawl(app, source, max_pages=max_pages, on_progress=on_progress, timeout=timeout,
                      model_version=model_version, settings_overrides=settings_overrides) for source in sources]


def prepare(app: Hypewatch) -> str:
    """The model version crawls score with (trained once if there is none), registered in the database.

    Only the model's manifest is read here; the crawl's worker processes load the model itself.
    """
    version = app.registry.current_version()
    if version is None:
        logger.warning("no model yet; training one from the labelled corpus before crawling")
        app.train()
        version = app.registry.current_version()
    info = app.registry.info(version)
    with app.database.session() as session:
        register_model_version(session, info.version, file_sha256=info.sha256, params=info.params,
                               metrics=info.metrics, training_seconds=info.training_seconds, documents=info.documents)
    return info.version


def run_crawl(app: Hypewatch, source: SourceConfig, *, max_pages: int | None = None,
              on_progress: ProgressCallback | None = None, timeout: float | None = None,
              stop: threading.Event | None = None, model_version: str | None = None,
              settings_overrides: Mapping[str, Any] | None = None) -> CrawlSummary:
    """One crawl of `source` in a child process; its run is recorded whatever happens to the child.

    With HYPEWATCH_REDIS_URL set the run is published for the workers instead, and waited for."""
    if app.settings.redis_url:
        from hypewatch.distributed import run_distributed_crawls

        return run_distributed_crawls(app, [source], max_pages=max_pages, on_progress=on_progress, timeout=timeout,
                                      stop=stop, model_version=model_version,
                                      settings_overrides=settings_overrides)[0]
    model_version = model_version or prepare(app)
    with app.database.session() as session:
        upsert_source(session, source.name, source.kind, source.to_dict())
        run = start_crawl_run(session, source.name)
        run_id, started_at = run.id, run.started_at
    log_file = _log_path(app, source, run_id)
    spec = crawl_spec(app, source, model_version=model_version, max_pages=max_pages,
                      settings_overrides=settings_overrides)
    process = _CrawlProcess(spec, log_file, on_progress, source.name)
    outcome = process.run(timeout=timeout or app.settings.crawl_timeout, stop=stop)
    with app.database.session() as session:
        finished = finish_crawl_run(session, run_id, outcome.status, outcome.counts(), message=outcome.message)
        summary = _summary(finished, started_at, outcome, log_file)
    if process.interrupted:
        raise KeyboardInterrupt
    return summary


def crawl_spec(app: Hypewatch, source: SourceConfig, *, model_version: str, max_pages: int | None = None,
               settings_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The plain values a crawl process needs (see crawler.runner)."""
    settings = app.settings
    overrides = {"HYPEWATCH_WORKERS": settings.crawl_workers, "HYPEWATCH_MODEL_VERSION": model_version,
                 **(settings_overrides or {})}
    return {
        "source": source.to_dict(),
        "database_url": settings.database_url,
        "model_dir": str(settings.model_dir),
        "max_pages": max_pages or source.max_pages,
        "user_agent": settings.user_agent,
        "download_timeout": settings.fetch_timeout,
        "max_download_bytes": settings.max_download_bytes,
        "settings": overrides,
        "log_level": "INFO",
    }


def _log_path(app: Hypewatch, source: SourceConfig, run_id: int) -> Path:
    directory = app.settings.home / "logs" / "crawls"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{run_id:06d}-{source.name}.log"


def _summary(run: CrawlRun, started_at: dt.datetime, outcome: _Outcome, log_file: Path) -> CrawlSummary:
    final = outcome.final or {}
    return CrawlSummary(
        source=run.source_name, run_id=run.id, status=run.status, started_at=started_at,
        finished_at=run.finished_at, pages_fetched=run.pages_fetched, pages_new=run.pages_new,
        pages_changed=run.pages_changed, pages_unchanged=run.pages_unchanged, pages_kept=run.pages_kept,
        dropped=dict(run.dropped),
        errors=dict(run.errors), silent=run.silent, message=run.message, crawl_seconds=final.get("seconds"),
        peak_rss_mb=final.get("peak_rss_mb"), workers_peak_rss_mb=final.get("workers_peak_rss_mb"),
        workers_ready_seconds=final.get("ready", {}), cpu_seconds=final.get("cpu_seconds"),
        workers_cpu_seconds=final.get("workers_cpu_seconds"), log_file=str(log_file),
    )


@dataclass
class _Outcome:
    status: str = "failed"
    message: str | None = None
    final: dict[str, Any] | None = None
    last_progress: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> RunCounts:
        data = self.final or {}
        stored = data.get("stored", {})
        dropped = {**data.get("dropped", {}), **data.get("skipped", {})}
        return RunCounts(
            pages_fetched=int(data.get("fetched", self.last_progress.get("fetched", 0))),
            pages_new=int(stored.get("new", 0)),
            pages_changed=int(stored.get("changed", 0)),
            pages_unchanged=int(stored.get("unchanged", 0)),
            pages_kept=int(data.get("kept", 0)),
            dropped=dropped,
            errors=dict(data.get("errors", {})),
        )


class _CrawlProcess:
    """The child process of one crawl: started, watched, and killed (with its workers) if need be."""

    def __init__(self, spec: dict[str, Any], log_file: Path, on_progress: ProgressCallback | None, source: str):
        self.spec = spec
        self.log_file = log_file
        self.on_progress = on_progress
        self.source = source
        self.outcome = _Outcome()
        self.errors: list[str] = []
        self.interrupted = False

    def run(self, *, timeout: float, stop: threading.Event | None) -> _Outcome:
        self.timeout = timeout
        with self.log_file.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "crawler.runner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, start_new_session=True,
            )
            reader = threading.Thread(target=self._read_events, args=(proc.stdout,), daemon=True)
            reader.start()
            proc.stdin.write(json.dumps(self.spec).encode())
            proc.stdin.close()
            ending = self._wait(proc, timeout, stop)
            reader.join(timeout=10)
        self._conclude(proc.returncode, ending)
        return self.outcome

    def _wait(self, proc: subprocess.Popen, timeout: float, stop: threading.Event | None) -> str | None:
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    proc.wait(timeout=0.2)
                    return None
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() > deadline:
                    logger.warning("crawl of %s exceeded %.0f s; killing it", self.source, timeout)
                    _kill_group(proc, signal.SIGKILL)
                    proc.wait()
                    return "timeout"
                if stop is not None and stop.is_set():
                    _stop_group(proc)
                    return "cancelled"
        except KeyboardInterrupt:
            # The crawl runs in its own session, so Ctrl-C reached only us: stop it, then give up.
            _stop_group(proc)
            self.interrupted = True
            return "cancelled"

    def _read_events(self, stream) -> None:
        for raw in stream:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            kind = event.get("event")
            if kind == "progress":
                self.outcome.last_progress = event
                self._report(event)
            elif kind == "finished":
                self.outcome.final = event
                stored = sum(event.get("stored", {}).values())
                self._report({"fetched": event.get("fetched", 0), "stored": stored,
                              "dropped": sum(event.get("dropped", {}).values()),
                              "errors": sum(event.get("errors", {}).values()), "seconds": event.get("seconds", 0)})
            elif kind == "error":
                self.errors.append(str(event.get("message")))

    def _report(self, event: dict[str, Any]) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(CrawlProgress(self.source, int(event.get("fetched", 0)), int(event.get("stored", 0)),
                                           int(event.get("dropped", 0)), int(event.get("errors", 0)),
                                           float(event.get("seconds", 0.0))))
        except Exception:  # a display problem must not break the crawl's bookkeeping
            logger.exception("progress callback failed")

    def _conclude(self, returncode: int, ending: str | None) -> None:
        outcome = self.outcome
        if ending == "timeout":
            outcome.status, outcome.message = "timeout", f"killed after {self.timeout:.0f} s (the crawl timeout)"
        elif ending == "cancelled":
            outcome.status = "cancelled"
            outcome.message = "interrupted" if self.interrupted else "stopped before it finished (scheduler stopping)"
        elif returncode == 0 and outcome.final is not None and not self.errors:
            reason = outcome.final.get("reason")
            counts = outcome.counts()
            broken = sum(counts.errors.get(kind, 0) for kind in ("pipeline", "spider", "storage"))
            if reason != "finished":
                outcome.status, outcome.message = "failed", f"crawl ended: {reason}"
            elif broken and counts.found == 0:
                outcome.status = "failed"
                outcome.message = f"nothing stored and {broken} page(s) failed with an error (see {self.log_file})"
            else:
                outcome.status = "ok"
        else:
            outcome.status = "failed"
            outcome.message = "; ".join(self.errors) or f"crawl process exited with status {returncode}"
            tail = _tail(self.log_file)
            if tail:
                outcome.message += f" (log: ...{tail})"


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM (the crawl closes cleanly, flushing what it stored), then SIGKILL after a grace period."""
    _kill_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(proc, signal.SIGKILL)
        proc.wait()


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the crawl and its extraction workers: a new session, so their own group
    except ProcessLookupError:
        pass


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line or "Error" in line]
    return (" | ".join(lines[-3:]) if lines else text[-LOG_TAIL_CHARS:]).strip()[-LOG_TAIL_CHARS:]
