"""The local backend: a crawl run carried out by one crawl process on this machine.

`crawl_locally` opens the run, starts `python -m crawler.runner` in a new process group with the
run's crawl spec, relays the child's progress lines to `on_progress`, keeps the run's heartbeat
while it waits, kills the whole group when the crawl outlives the crawl timeout (or when asked to
stop), and records how the run ended.
Scrapy's log of each run is kept in HYPEWATCH_HOME/logs/crawls/. What it shares with the shared
(Redis) backend lives in `hypewatch.runs`; `hypewatch.dispatch` chooses between them.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crawler.sources import SourceConfig
from crawler.spec import CrawlSpec
from hypewatch.app import Hypewatch
from hypewatch.runs import (
    CrawlProgress,
    CrawlSummary,
    ProgressCallback,
    RunHeartbeat,
    conclude,
    crawl_spec,
    log_path,
    open_run,
    progress_of,
    report_progress,
    signal_group,
    spawn_crawl_process,
    stop_group,
    stored_counts,
)
from storage.runs import RunCounts, finish_crawl_run

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0  # after SIGTERM, a crawl gets this long to flush its last batch
LOG_TAIL_CHARS = 600


def crawl_locally(app: Hypewatch, source: SourceConfig, *, model_version: str, max_pages: int | None = None,
                  on_progress: ProgressCallback | None = None, timeout: float | None = None,
                  stop: threading.Event | None = None,
                  settings_overrides: Mapping[str, Any] | None = None) -> CrawlSummary:
    """One crawl of `source` in a child process; its run is recorded whatever happens to the child."""
    run_id, started_at = open_run(app, source)
    log_file = log_path(app.settings, "crawls", run_id, source.name)
    spec = crawl_spec(app.settings, source, model_version=model_version, max_pages=max_pages,
                      settings_overrides=settings_overrides)
    heartbeat = RunHeartbeat(app)
    process = _CrawlProcess(spec, log_file, on_progress, source.name, keep_alive=lambda: heartbeat.tick([run_id]))
    outcome = process.run(timeout=timeout or app.settings.crawl_timeout, stop=stop)
    with app.database.session() as session:
        finished = finish_crawl_run(session, run_id, outcome.status, outcome.counts(), message=outcome.message)
        summary = CrawlSummary.of_run(finished, started_at, log_file=str(log_file), **outcome.measures())
    if process.interrupted:
        raise KeyboardInterrupt
    return summary


@dataclass
class _Outcome:
    status: str = "failed"
    message: str | None = None
    final: dict[str, Any] | None = None  # the crawl process's `finished` line
    last_progress: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> RunCounts:
        return stored_counts(self.final or {"fetched": self.last_progress.get("fetched", 0)})

    def measures(self) -> dict[str, Any]:
        final = self.final or {}
        return {"crawl_seconds": final.get("seconds"), "peak_rss_mb": final.get("peak_rss_mb"),
                "extraction_peak_rss_mb": final.get("extraction_peak_rss_mb"),
                "extraction_ready_seconds": final.get("ready", {}), "cpu_seconds": final.get("cpu_seconds"),
                "extraction_cpu_seconds": final.get("extraction_cpu_seconds")}


class _CrawlProcess:
    """The child process of one crawl: started, watched, and killed (with its extraction processes) if need be."""

    def __init__(self, spec: CrawlSpec, log_file: Path, on_progress: ProgressCallback | None, source: str,
                 keep_alive: Callable[[], None] = lambda: None):
        self.spec = spec
        self.keep_alive = keep_alive  # called from the wait loop: the run's heartbeat
        self.log_file = log_file
        self.on_progress = on_progress
        self.source = source
        self.outcome = _Outcome()
        self.errors: list[str] = []
        self.interrupted = False
        self.timeout = 0.0

    def run(self, *, timeout: float, stop: threading.Event | None) -> _Outcome:
        self.timeout = timeout
        with self.log_file.open("wb") as log:
            proc = spawn_crawl_process(self.spec, stdout=subprocess.PIPE, stderr=log)
            reader = threading.Thread(target=self._read_events, args=(proc.stdout,), daemon=True)
            reader.start()
            ending = self._wait(proc, timeout, stop)
            reader.join(timeout=10)
        self._conclude(proc.returncode, ending)
        return self.outcome

    def _wait(self, proc: subprocess.Popen[bytes], timeout: float, stop: threading.Event | None) -> str | None:
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    proc.wait(timeout=0.2)
                    return None
                except subprocess.TimeoutExpired:
                    pass
                self.keep_alive()
                if time.monotonic() > deadline:
                    logger.warning("crawl of %s exceeded %.0f s; killing it", self.source, timeout)
                    signal_group(proc, signal.SIGKILL)
                    proc.wait()
                    return "timeout"
                if stop is not None and stop.is_set():
                    stop_group(proc, STOP_GRACE_SECONDS)
                    return "cancelled"
        except KeyboardInterrupt:
            # The crawl runs in its own session, so Ctrl-C reached only us: stop it, then give up.
            stop_group(proc, STOP_GRACE_SECONDS)
            self.interrupted = True
            return "cancelled"

    def _read_events(self, stream: IO[bytes]) -> None:
        for raw in stream:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("event")
            if kind == "progress":
                self.outcome.last_progress = event
                report_progress(self.on_progress, CrawlProgress(
                    self.source, int(event.get("fetched", 0)), int(event.get("stored", 0)),
                    int(event.get("dropped", 0)), int(event.get("errors", 0)), float(event.get("seconds", 0.0))))
            elif kind == "finished":
                self.outcome.final = event
                report_progress(self.on_progress, progress_of(self.source, event, event.get("seconds", 0.0)))
            elif kind == "error":
                self.errors.append(str(event.get("message")))

    def _conclude(self, returncode: int, ending: str | None) -> None:
        outcome = self.outcome
        if ending == "timeout":
            outcome.status, outcome.message = "timeout", f"killed after {self.timeout:.0f} s (the crawl timeout)"
        elif ending == "cancelled":
            outcome.status = "cancelled"
            outcome.message = "interrupted" if self.interrupted else "stopped before it finished (scheduler stopping)"
        elif returncode == 0 and outcome.final is not None and not self.errors:
            reason = outcome.final.get("reason")
            if reason != "finished":
                outcome.status, outcome.message = "failed", f"crawl ended: {reason}"
            else:
                outcome.status, outcome.message = conclude("ok", None, outcome.counts(), str(self.log_file))
        else:
            outcome.status = "failed"
            outcome.message = "; ".join(self.errors) or f"crawl process exited with status {returncode}"
            tail = _tail(self.log_file)
            if tail:
                outcome.message += f" (log: ...{tail})"


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line or "Error" in line]
    return (" | ".join(lines[-3:]) if lines else text[-LOG_TAIL_CHARS:]).strip()[-LOG_TAIL_CHARS:]
