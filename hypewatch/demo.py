"""`hypewatch demo`: the demo site, crawled into a fresh database, shown on the dashboard.

Each run starts from an empty SQLite database under HYPEWATCH_HOME/demo/ (the trained model in
HYPEWATCH_HOME/models is reused), so a second run starts as cleanly as the first. The demo site's
articles span a fixed stretch of past dates; they are spread over the last six months instead,
so the weekly trends have shape, with high-hype pages leaning towards recent weeks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update

from classifier.signals import HIGH_HYPE
from hypewatch.app import Hypewatch
from hypewatch.settings import Settings
from storage.models import DocumentVersion, Page, Prediction

DEMO_DIR = "demo"
DEMO_DB = "demo.db"
SPREAD_DAYS = 182


def fresh_demo_settings(settings: Settings) -> Settings:
    """Settings pointing at a new, empty demo database (the previous demo's is removed).

    The demo stays on this machine: its corpus cites real trials, but no registry is asked."""
    folder = settings.home / DEMO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / DEMO_DB
    for path in (database, database.with_name(DEMO_DB + "-wal"), database.with_name(DEMO_DB + "-shm")):
        path.unlink(missing_ok=True)
    return settings.with_overrides(database_url=f"sqlite:///{database}", registry_url=None,
                                  isrctn_url=None)


def _fraction(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16 ** 12)


def spread_publication_dates(app: Hypewatch, today: dt.date | None = None) -> int:
    """Give every stored page a publication date in the last six months; returns how many."""
    today = today or dt.date.today()
    with app.database.session() as session:
        rows = session.execute(
            select(Page.id, Page.url, Prediction.hype_score)
            .outerjoin(Prediction, Prediction.id == Page.current_prediction_id)
        ).all()
        changes = []
        for page_id, url, hype in rows:
            position = _fraction(url)
            if hype is not None and hype >= HIGH_HYPE:
                position = position ** 2  # nearer today: the demo's hype is rising
            published = today - dt.timedelta(days=int(position * SPREAD_DAYS))
            changes.append({"page_id": page_id, "published": published})
        for change in changes:
            session.execute(update(DocumentVersion).where(DocumentVersion.page_id == change["page_id"])
                            .values(published=change["published"]))
    return len(rows)


def run_demo(settings: Settings, *, host: str, port: int, say: Callable[[str], None],
             max_pages: int | None = None, source_names: tuple[str, ...] = (), serve: bool = True) -> Path:
    """Crawl the demo site into a fresh database, then serve the dashboard on it (until interrupted)."""
    from crawler.demo_site import serve_demo_site
    from hypewatch.dispatch import run_crawls
    from hypewatch.runs import select_sources
    from hypewatch.serving import check_exposure, serve_dashboard

    app = Hypewatch(fresh_demo_settings(settings))
    check_exposure(host, app)
    with serve_demo_site(settings.seeds_dir) as site:
        say(f"demo site running at {site.url}/")
        sources = site.sources() if max_pages is None else site.sources(max_pages=max_pages)
        for summary in run_crawls(app, select_sources(sources, source_names)):
            say(f"crawled {summary.source}: {summary.status}, {summary.pages_fetched} fetched, "
                f"{summary.pages_new} new, {summary.pages_changed} changed, {summary.pages_unchanged} unchanged "
                f"in {summary.seconds:.0f} s")
        spread = spread_publication_dates(app)
        say(f"{spread} pages stored in {app.settings.database_url.removeprefix('sqlite:///')}; "
            "publication dates spread over the last six months")
        if serve:
            serve_dashboard(app, host, port, announce=say)
    return Path(app.settings.database_url.removeprefix("sqlite:///"))
