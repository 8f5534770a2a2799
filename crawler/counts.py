"""A crawl's counters: their names in Scrapy's stats collector, and `run_counts`, which reads them back.

All of hypewatch's counts live under `hypewatch/`:

    fetched                  responses the spiders parsed (pages, feeds, sitemaps)
    kept                     pages below the relevance gate kept because they name MS and a cell treatment
    stored/<status>          pages stored: new, changed, unchanged
    dropped/<reason>         pages a pipeline dropped, by reason (`crawler.vocabulary`)
    errors/<kind>            requests that failed, and pipeline, spider and storage errors
    skipped/<kind>           requests not sent: robots.txt, the page budget
    ready/<pool>             seconds after the spider opened that a worker pool was up
    memory/extraction_peak_mb   the largest peak memory of the extraction processes
    cpu/extraction_seconds      CPU seconds of the extraction processes and their fork server
    requeued                 in a shared run: requests put back into the queue after a worker was lost
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

PREFIX: Final = "hypewatch/"
FETCHED: Final = PREFIX + "fetched"
KEPT: Final = PREFIX + "kept"
READY: Final = PREFIX + "ready/"  # + the pool's name
EXTRACTION_PEAK_MB: Final = PREFIX + "memory/extraction_peak_mb"
EXTRACTION_CPU: Final = PREFIX + "cpu/extraction_seconds"
REQUEUED: Final = PREFIX + "requeued"
# The groups each worker of a shared run adds to the run's counters (crawler.frontier).
SUMMED_GROUPS: Final = ("fetched", "stored", "dropped", "errors", "skipped")


def stat_key(group: str, detail: str = "") -> str:
    """The stats key of a counter: `hypewatch/<group>` or `hypewatch/<group>/<detail>`."""
    return f"{PREFIX}{group}/{detail}" if detail else f"{PREFIX}{group}"


def run_counts(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The hypewatch counters of a stats dict, grouped."""
    counts: dict[str, Any] = {"fetched": 0, "kept": 0, "stored": {}, "dropped": {}, "errors": {}, "skipped": {}, "ready": {}}
    for key, value in stats.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX):]
        group, _, detail = name.partition("/")
        if group in ("fetched", "kept") and not detail:
            counts[group] = int(value)
        elif group in ("stored", "dropped", "errors", "skipped") and detail:
            counts[group][detail] = int(value)
        elif group == "ready" and detail:  # seconds after the spider opened that a worker pool was up
            counts[group][detail] = float(value)
    return counts
