"""The dashboard's one write besides analysts' labels: ending crawl runs whose process is gone.

Pages and the API change nothing on GET. So that /runs, /api/runs and /sources do not show a
killed crawl as `running` for ever, the dashboard applies the rule every command applies
(`storage.runs.abandon_stale_runs`, through `Dashboard.end_abandoned_runs`) once at start-up and
then every `every` seconds, from a background thread that lives as long as the app (its lifespan).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0  # with storage.runs.OWNER_GONE_AFTER, a killed run shows as failed within 70 s at most


class AbandonedRunSweeper:
    """Calls `end_abandoned_runs` at start and every `every` seconds until `stop()`."""

    def __init__(self, end_abandoned_runs: Callable[[], int], every: float = SWEEP_SECONDS):
        self.end_abandoned_runs = end_abandoned_runs
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dashboard-abandoned-runs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.end_abandoned_runs()
            except Exception:  # the database may be down for a while; the pages report that themselves
                logger.warning("could not look for abandoned crawl runs; trying again in %.0f s", self.every,
                               exc_info=True)
            if self._stop.wait(self.every):
                return
