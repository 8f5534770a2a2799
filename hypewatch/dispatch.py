"""Running crawls: the one entry point `hypewatch crawl`, the scheduler and the demo use.

Each crawl run goes to one of two backends: with HYPEWATCH_REDIS_URL set, it is published for
`hypewatch worker`s and waited for (`hypewatch.distributed`); otherwise it runs in a crawl process
of this machine (`hypewatch.crawling`). Either way it is recorded as a crawl run and summarised
as a `CrawlSummary` (`hypewatch.runs`). When the runs are recorded, the trials the pages cite are
looked up, the predictions the registry's judgements move are scored again (`Hypewatch.ground_cited`),
and then the alert rules are evaluated and what is due is delivered (`hypewatch.alerting.cycle`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from crawler.sources import SourceConfig
from hypewatch.alerting.cycle import after_crawls
from hypewatch.app import Hypewatch
from hypewatch.crawling import crawl_locally
from hypewatch.distributed import crawl_shared
from hypewatch.runs import CrawlSummary, ProgressCallback, end_abandoned_runs, prepare
from storage.errors import StorageError

if TYPE_CHECKING:
    from hypewatch.trials import ResolveOutcome

logger = logging.getLogger(__name__)


def run_crawls(app: Hypewatch, sources: list[SourceConfig], *, max_pages: int | None = None,
               on_progress: ProgressCallback | None = None, timeout: float | None = None,
               stop: threading.Event | None = None, model_version: str | None = None,
               settings_overrides: Mapping[str, Any] | None = None) -> list[CrawlSummary]:
    """Crawl each source now and record its run: one after another in crawl processes of this
    machine, or, with HYPEWATCH_REDIS_URL set, all published at once and waited for."""
    end_abandoned_runs(app)  # runs a killed crawl left `running` show as failed from now on
    model_version = model_version or prepare(app)
    stored_before = newest_version(app)
    if app.settings.redis_url:
        summaries = crawl_shared(app, sources, model_version=model_version, max_pages=max_pages,
                                 on_progress=on_progress, timeout=timeout, stop=stop,
                                 settings_overrides=settings_overrides)
    else:
        summaries = [crawl_locally(app, source, model_version=model_version, max_pages=max_pages,
                                   on_progress=on_progress, timeout=timeout, stop=stop,
                                   settings_overrides=settings_overrides)
                     for source in sources]
    fetched = resolve_cited_trials(app)
    app.ground_cited(fetched, newer_than=stored_before, model_version=model_version)
    after_crawls(app)  # the alert rules look at what these runs stored and how they ended, grounded
    return summaries


def resolve_cited_trials(app: Hypewatch) -> list[str]:
    """After crawls: fetch the records of newly cited trials and of those gone stale (cached ones
    are not asked for again), as many as the registry rate allows at once, so a crawl never waits
    on the rate (the rest come with the next crawls, or `hypewatch trials refresh`). The registry
    failing leaves them unverified, never fails the crawl. Returns the identifiers fetched."""
    if not app.registry_clients:
        return []
    from hypewatch.trials import resolve

    fetched: list[str] = []
    for client in app.registry_clients:  # ClinicalTrials.gov, ISRCTN: each with its own rate
        try:
            outcome = resolve(app.database, client, refresh=True,
                              max_age=dt.timedelta(days=app.settings.registry_max_age),
                              limit=client.window_requests)
        except (StorageError, SQLAlchemyError) as exc:
            logger.warning("cited trials not resolved: %s", exc)
            return fetched
        if outcome.asked:
            logger.info("trial registry %s: %s", client.base_url, outcome.to_dict())
        fetched += outcome.fetched
    return fetched


def refresh_trials(app: Hypewatch, *, everything: bool = False) -> tuple[ResolveOutcome, int]:
    """`hypewatch trials refresh` and the scheduler's registry job: fetch the records of the cited
    trials that have none, or one older than HYPEWATCH_REGISTRY_MAX_AGE days (every record with
    `everything`), from each registry that is on, then score again the pages whose predictions the
    new judgements move. Returns what the registries did and how many predictions moved."""
    from hypewatch.trials import ResolveOutcome, resolve

    max_age = dt.timedelta(0) if everything else dt.timedelta(days=app.settings.registry_max_age)
    outcome = ResolveOutcome()
    for client in app.registry_clients:
        outcome += resolve(app.database, client, refresh=True, max_age=max_age)
    return outcome, app.ground_cited(outcome.fetched, newer_than=None)


def newest_version(app: Hypewatch) -> int | None:
    """The newest stored version's id before crawls (None with the registries off: nothing is grounded)."""
    if not app.registry_clients:
        return None
    from storage.trials import newest_version_id

    try:
        with app.database.session() as session:
            return newest_version_id(session)
    except (StorageError, SQLAlchemyError) as exc:
        logger.warning("stored versions not read: %s", exc)
        return None


def run_crawl(app: Hypewatch, source: SourceConfig, *, max_pages: int | None = None,
              on_progress: ProgressCallback | None = None, timeout: float | None = None,
              stop: threading.Event | None = None, model_version: str | None = None,
              settings_overrides: Mapping[str, Any] | None = None) -> CrawlSummary:
    """One crawl of `source`, recorded (see `run_crawls`)."""
    return run_crawls(app, [source], max_pages=max_pages, on_progress=on_progress, timeout=timeout, stop=stop,
                      model_version=model_version, settings_overrides=settings_overrides)[0]
