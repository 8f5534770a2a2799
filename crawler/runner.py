"""Run one crawl in this process: `python -m crawler.runner` with a JSON crawl spec on stdin.

Twisted's reactor cannot be restarted, so every crawl gets a fresh process; hypewatch's crawl-run
core (`hypewatch.runs`) starts it, reads its progress lines from stdout (see `extensions.ProgressReporter`) and records
the run. Scrapy's log goes to stderr. The spec is a `crawler.spec.CrawlSpec` as JSON.

With HYPEWATCH_REDIS_URL among its settings the process is one worker of a shared crawl run
(crawler.frontier): it takes its requests from the run's Redis queue and ends when the run is
drained, instead of crawling the source's start URLs on its own.

It stops by itself, cleanly, when the process that started it dies (`crawler.parent_watch`).

Exit status: 0 when the crawl ran (however many pages failed), 1 when it could not run.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from crawler.spec import CrawlSpec

# Only light imports at the top: extraction processes import this __main__ module again.


def crawl_settings(spec: CrawlSpec):
    """crawler/settings.py with this crawl's values on top."""
    from scrapy.settings import Settings

    from crawler.sources import SourceConfig

    source = SourceConfig.from_dict(spec.source)
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    values: dict[str, Any] = {
        "HYPEWATCH_SOURCE": source.to_dict(),
        "HYPEWATCH_DATABASE_URL": spec.database_url,
        "HYPEWATCH_MODEL_DIR": spec.model_dir,
        "HYPEWATCH_MAX_PAGES": int(spec.max_pages or source.max_pages),
        "LOG_LEVEL": spec.log_level,
    }
    if spec.user_agent:
        values["USER_AGENT"] = spec.user_agent
    if spec.download_timeout:
        values["DOWNLOAD_TIMEOUT"] = float(spec.download_timeout)
    if spec.max_download_bytes:
        values["DOWNLOAD_MAXSIZE"] = int(spec.max_download_bytes)
    values.update(spec.settings)
    settings.setdict(values, priority="cmdline")
    if settings.get("HYPEWATCH_REDIS_URL"):  # one worker of a shared crawl run (crawler.frontier)
        from crawler.frontier import shared_crawl_settings

        settings.setdict(shared_crawl_settings(settings), priority="cmdline")
    return settings


def run_crawl(spec: CrawlSpec) -> int:
    missing = spec.missing()
    if missing:
        raise ValueError(f"crawl spec lacks {', '.join(missing)}")
    from crawler.workers import start_fork_server

    # First: the extraction processes' fork server imports and loads the model while we import Scrapy.
    start_fork_server(str(spec.settings.get("HYPEWATCH_MODEL_DIR") or spec.model_dir),
                      spec.settings.get("HYPEWATCH_MODEL_VERSION") or None)
    from scrapy.crawler import CrawlerProcess

    from crawler.spiders import spider_for

    settings = crawl_settings(spec)
    settings.set("LOG_INSTALL_ROOT_HANDLER", True, priority="cmdline")
    process = CrawlerProcess(settings)
    failures: list[str] = []

    def record_failure(failure):
        failures.append(f"{failure.type.__name__}: {failure.getErrorMessage()}")
        _emit({"event": "error", "message": failures[-1]})

    deferred = process.crawl(spider_for(spec.source["kind"]))
    deferred.addErrback(record_failure)
    process.start()
    return 1 if failures else 0


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main() -> int:
    from crawler.parent_watch import watch_parent

    watch_parent()  # a crawl nobody waits for any more stops (see crawler.parent_watch)
    try:
        spec = CrawlSpec.from_dict(json.loads(sys.stdin.read()))
        return run_crawl(spec)
    except (ValueError, KeyError, TypeError) as exc:
        _emit({"event": "error", "message": f"bad crawl spec: {exc}"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
