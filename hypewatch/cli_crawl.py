"""Crawl commands: `crawl`, `schedule`, `worker`, `sources` and `demo-site` (registered by hypewatch.cli)."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

from crawler.sources import SourceConfig, load_sources
from hypewatch.app import Hypewatch
from hypewatch.settings import PARALLEL_CRAWLS

# Crawling (Scrapy, Twisted, SQLAlchemy, Redis) is imported inside the commands that crawl: every
# `hypewatch` command imports this module to register these commands, and most never crawl.
if TYPE_CHECKING:
    from hypewatch.runs import CrawlSummary

EXIT_CRAWL_FAILED = 2

sources_option = click.option(
    "--sources", "sources_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Sources file (default: HYPEWATCH_SOURCES or seeds/sources.toml).",
)


def _load(app: Hypewatch, sources_file: Path | None) -> list[SourceConfig]:
    return load_sources(sources_file or app.settings.sources_file)


def register(cli: click.Group) -> None:
    cli.add_command(crawl)
    cli.add_command(schedule)
    cli.add_command(worker)
    cli.add_command(sources)
    cli.add_command(demo_site)


# ---------------------------------------------------------------------------- crawl
@click.command()
@sources_option
@click.argument("names", nargs=-1, metavar="[SOURCE]...")
@click.option("--max-pages", type=click.IntRange(min=1), default=None,
              help="Page budget per source (overrides max_pages).")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary per crawl instead of the tables.")
@click.pass_obj
def crawl(app: Hypewatch, sources_file: Path | None, names: tuple[str, ...], max_pages: int | None,
          as_json: bool) -> None:
    """Crawl SOURCE(s) now (default: every enabled source), each in its own process.

    Exit status 2 when any crawl failed or timed out.
    """
    from hypewatch.dispatch import run_crawls
    from hypewatch.runs import select_sources

    chosen = select_sources(_load(app, sources_file), names)
    if not chosen:
        click.echo("hypewatch: no enabled sources to crawl", err=True)
        return
    if as_json:
        summaries = run_crawls(app, chosen, max_pages=max_pages)
        for summary in summaries:
            click.echo(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        summaries = _crawl_with_display(app, chosen, max_pages)
    if any(not s.ok for s in summaries):
        sys.exit(EXIT_CRAWL_FAILED)


def _crawl_with_display(app: Hypewatch, chosen: list[SourceConfig], max_pages: int | None) -> list[CrawlSummary]:
    from hypewatch.dispatch import run_crawls
    from hypewatch.runs import CrawlProgress

    progress: dict[str, CrawlProgress] = {s.name: CrawlProgress(s.name) for s in chosen}
    started = time.monotonic()
    console = Console(stderr=True)

    def table() -> Table:
        grid = Table(title=f"crawling ({time.monotonic() - started:.0f} s)", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("source", "fetched", "stored", "dropped", "errors"):
            grid.add_column(column, justify="left" if column == "source" else "right")
        for name, p in progress.items():
            grid.add_row(name, str(p.fetched), str(p.stored), str(p.dropped), str(p.errors))
        return grid

    with Live(table(), console=console, refresh_per_second=4) as live:
        def update(p: CrawlProgress) -> None:
            progress[p.source] = p
            live.update(table())

        summaries = run_crawls(app, chosen, max_pages=max_pages, on_progress=update)
    Console().print(summary_table(summaries))
    return summaries


def summary_table(summaries: list[CrawlSummary]) -> Table:
    grid = Table(title="crawl summary", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("source", "status", "fetched", "new", "changed", "unchanged", "kept", "dropped", "errors",
                   "time"):
        grid.add_column(column, justify="left" if column in ("source", "status", "dropped", "errors") else "right")
    for s in summaries:
        status = s.status + (" (silent)" if s.silent else "")
        grid.add_row(s.source, status, str(s.pages_fetched), str(s.pages_new), str(s.pages_changed),
                     str(s.pages_unchanged), str(s.pages_kept), _counts(s.dropped), _counts(s.errors), f"{s.seconds:.0f} s")
    messages = [f"{s.source}: {s.message}" for s in summaries if s.message]
    if messages:
        grid.caption = "\n".join(messages)
        grid.caption_justify = "left"
    return grid


def _counts(counts) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT ask a foreground daemon to stop (it then stops cleanly) instead of killing it."""
    previous = {sig: signal.signal(sig, lambda *_: request_stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------------------- schedule
@click.command()
@sources_option
@click.option("--list", "list_only", is_flag=True, help="Show each source's next run and exit.")
@click.option("--parallel", "parallel_crawls", type=click.IntRange(min=1), default=PARALLEL_CRAWLS, show_default=True,
              help="Crawls running at once.")
@click.option("--workers", "old_parallel", type=click.IntRange(min=1), hidden=True,
              help="Former name of --parallel.")
@click.pass_obj
def schedule(app: Hypewatch, sources_file: Path | None, list_only: bool, parallel_crawls: int,
             old_parallel: int | None) -> None:
    """Run every enabled source's crawl on its cron schedule (UTC), in the foreground.

    Jobs are kept in the database, so a restart keeps them; one scheduler per database (a second
    one exits with status 2). SIGTERM or Ctrl-C stops it cleanly.
    """
    from hypewatch.scheduling import HypewatchScheduler, SchedulerError, list_schedule, scheduler_owner

    configured = _load(app, sources_file)
    if list_only:
        grid = Table(title="schedule (UTC)", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("source", "schedule", "next run", "last run", "health"):
            grid.add_column(column)
        for row in list_schedule(app, configured):
            next_run = f"{row.next_run:%Y-%m-%d %H:%M:%S}" if row.next_run else "-"
            grid.add_row(row.name, row.schedule, next_run, row.last_status or "-", row.health)
        owner = scheduler_owner(app)
        grid.caption = (f"scheduler running: pid {owner.pid} on {owner.host}" if owner else "no scheduler running")
        grid.caption_justify = "left"
        Console().print(grid)
        return
    if old_parallel is not None:
        click.echo("hypewatch: --workers is now --parallel (crawls running at once)", err=True)
        parallel_crawls = old_parallel
    scheduler = HypewatchScheduler(app, configured, parallel_crawls=parallel_crawls)
    scheduler.start()
    click.echo(f"hypewatch: scheduler running with {sum(s.enabled for s in configured)} source(s); "
               "SIGTERM or Ctrl-C stops it", err=True)
    try:
        with stop_on_signals(scheduler.request_stop):
            scheduler.wait()
    finally:
        click.echo("hypewatch: scheduler stopping...", err=True)
        scheduler.stop()
    if scheduler.lock_lost:
        raise SchedulerError("another scheduler took over this database's scheduler lock")


# ---------------------------------------------------------------------------- worker
@click.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True,
              help="Crawl runs this worker works on at once (each in its own crawl process).")
@click.pass_obj
def worker(app: Hypewatch, concurrency: int) -> None:
    """Crawl the runs that `crawl` and `schedule` publish in Redis (HYPEWATCH_REDIS_URL), in the foreground.

    Start one or more on any machines sharing the same Redis and database: they share each run's
    frontier, so no page is fetched twice, and the requests of a worker that dies are crawled by
    the others. SIGTERM or Ctrl-C stops it cleanly (what it holds goes back into the queue).
    """
    from hypewatch.errors import ConfigError
    from hypewatch.worker import CrawlWorker

    if not app.settings.redis_url:
        raise ConfigError("hypewatch worker needs HYPEWATCH_REDIS_URL (the Redis server the crawls are published in)")
    crawl_worker = CrawlWorker(app, concurrency=concurrency, on_event=lambda m: click.echo(f"hypewatch: {m}", err=True))
    click.echo(f"hypewatch: worker {crawl_worker.name} waiting for crawl runs (concurrency {concurrency}); "
               "SIGTERM or Ctrl-C stops it", err=True)
    with stop_on_signals(crawl_worker.request_stop):
        crawl_worker.run()
    click.echo("hypewatch: worker stopped", err=True)


# ---------------------------------------------------------------------------- sources
@click.command()
@sources_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@click.pass_obj
def sources(app: Hypewatch, sources_file: Path | None, as_json: bool) -> None:
    """List the configured sources with their last run and health (ok, silent, never-run...)."""
    from hypewatch.runs import end_abandoned_runs
    from storage.runs import latest_runs, run_record, source_health

    configured = _load(app, sources_file)
    end_abandoned_runs(app)  # a run whose process was killed shows as failed, not running
    with app.database.session() as session:
        runs = latest_runs(session, [s.name for s in configured])
        rows = [(s, runs.get(s.name)) for s in configured]
        if as_json:
            for source, run in rows:
                click.echo(json.dumps({**source.to_dict(), "health": source_health(run, enabled=source.enabled),
                                       "last_run": run_record(run) if run else None}, ensure_ascii=False))
            return
        grid = Table(title=f"sources ({app.settings.sources_file if sources_file is None else sources_file})",
                     title_justify="left", box=box.SIMPLE_HEAD, caption="found: new/changed/unchanged pages",
                     caption_justify="left")
        for column in ("source", "kind", "schedule", "last run (UTC)", "status", "found", "health"):
            grid.add_column(column, no_wrap=True)
        for source, run in rows:
            grid.add_row(
                source.name, source.kind, source.schedule,
                f"{run.started_at:%Y-%m-%d %H:%M}" if run else "-", run.status if run else "-",
                f"{run.pages_new}/{run.pages_changed}/{run.pages_unchanged}" if run else "-",
                source_health(run, enabled=source.enabled),
            )
    Console().print(grid)


# ---------------------------------------------------------------------------- demo site
@click.command("demo-site")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@click.pass_obj
def demo_site(app: Hypewatch, host: str, port: int) -> None:
    """Serve a local demo website built from the labelled corpus (until Ctrl-C)."""
    from crawler.demo_site import serve_demo_site

    site = serve_demo_site(app.settings.seeds_dir, host=host, port=port)
    click.echo(f"demo site with {len(site.articles)} articles at {site.url}/ (feed {site.url}/feed.xml, "
               f"sitemap {site.url}/sitemap.xml); Ctrl-C stops it", err=True)
    stop = {"requested": False}
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    try:
        while not stop["requested"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        site.shutdown()
