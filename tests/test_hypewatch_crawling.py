"""hypewatch.dispatch (local backend: hypewatch.crawling) and the crawl commands: real crawls of the
demo site over HTTP, each in its own process."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from crawler.demo_site import MISBEHAVING, ROBOTS_DISALLOWED, serve_demo_site
from crawler.sources import SourceConfig
from hypewatch.app import Hypewatch
from hypewatch.dispatch import run_crawl, run_crawls
from hypewatch.settings import PROJECT_ROOT, Settings
from storage.models import CrawlRun, DocumentVersion, Page, Prediction
from tests.conftest import (
    BACKENDS,
    SEEDS_DIR,
    _fresh_postgres_database,
    _postgres_server_url,
    _wants_postgres_everywhere,
    article_html,
    articles_fetched,
    children_of,
    hostile_article_pages,
    live_group,
    wait_for,
)


def make_settings(home, database_url, **extra) -> Settings:
    return Settings.from_environ({
        "HYPEWATCH_HOME": str(home), "HYPEWATCH_DATABASE_URL": database_url, "HYPEWATCH_SEEDS": str(SEEDS_DIR),
        "HYPEWATCH_FETCH_TIMEOUT": "2", "HYPEWATCH_REGISTRY_URL": "off", "HYPEWATCH_ISRCTN_URL": "off", **extra,
    })


def cli_environment(settings: Settings, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPEWATCH_")}
    env.update({"HYPEWATCH_HOME": str(settings.home), "HYPEWATCH_DATABASE_URL": settings.database_url,
                "HYPEWATCH_SEEDS": str(settings.seeds_dir), "HYPEWATCH_FETCH_TIMEOUT": "2", "COLUMNS": "200",
                "HYPEWATCH_REGISTRY_URL": settings.registry_url or "off",
                "HYPEWATCH_ISRCTN_URL": settings.isrctn_url or "off", **extra})
    return env


def hypewatch(env, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hypewatch", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=PROJECT_ROOT)


def write_sources(path, sources) -> None:
    lines = []
    for s in sources:
        lines += ["[[source]]", f'name = "{s.name}"', f'kind = "{s.kind}"',
                  f"start_urls = {json.dumps(list(s.start_urls))}",
                  f"allowed_domains = {json.dumps(list(s.allowed_domains))}", f'schedule = "{s.schedule}"',
                  f"max_pages = {s.max_pages}", f"max_depth = {s.max_depth}",
                  f"enabled = {str(s.enabled).lower()}", f"allow_private = {str(s.allow_private).lower()}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory):
    if _wants_postgres_everywhere():
        url, drop = _fresh_postgres_database(_postgres_server_url())
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('crawl-db') / 'hypewatch.db'}"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, model_dir, module_database_url):
    """The demo site crawled twice: once fresh, once after one stored article was revised."""
    home = tmp_path_factory.mktemp("crawl-home")
    shutil.copytree(model_dir, home / "models")
    app = Hypewatch(make_settings(home, module_database_url))
    with serve_demo_site(SEEDS_DIR, slow_seconds=3.0) as site:
        source = site.sources()[0]
        assert source.kind == "site"
        first = run_crawls(app, [source])[0]
        first_requests = site.requests
        stored_first = stored_pages(app)
        revised = next(a for a in site.articles.values()
                       if site.url + a.path in stored_first and not a.duplicate_paths)
        site.revise(revised.id)
        site.clear_requests()
        second = run_crawls(app, [source])[0]
        yield SimpleNamespace(app=app, site=site, source=source, first=first, second=second,
                              first_requests=first_requests, stored_first=stored_first, revised=revised)
    app.database.close()


def stored_pages(app) -> dict[str, int]:
    """Stored URL -> number of versions."""
    with app.database.session() as session:
        rows = session.execute(select(Page.url, func.count(DocumentVersion.id))
                               .join(DocumentVersion, DocumentVersion.page_id == Page.id).group_by(Page.url))
        return dict(rows.all())


def test_first_crawl_stores_every_article_once(crawled):
    site, first, stored = crawled.site, crawled.first, crawled.stored_first
    assert first.status == "ok" and not first.silent, first.message
    urls_of = {a.id: {site.url + p for p in (a.path, *a.duplicate_paths)} for a in site.articles.values()}
    stored_articles = {a_id for a_id, urls in urls_of.items() if urls & set(stored)}
    # Nothing but articles is stored, and no article under two URLs.
    assert set(stored) <= set().union(*urls_of.values())
    assert all(len(urls & set(stored)) == 1 for a_id, urls in urls_of.items() if a_id in stored_articles)
    # Every article page was judged exactly once: stored, or dropped by the relevance gate (the
    # duplicates of an article are dropped before scoring, as duplicate-url or duplicate-content).
    assert len(stored_articles) + first.dropped.get("off-topic", 0) == len(site.articles)
    assert first.pages_new == len(stored) and first.pages_changed == first.pages_unchanged == 0
    # The model agrees with the labels on (almost) all of the corpus it was trained on.
    relevant = {a.id for a in site.articles.values() if a.relevant}
    assert len(stored_articles & relevant) >= 0.95 * len(relevant)
    assert len(stored_articles - relevant) <= 0.05 * (len(site.articles) - len(relevant))


def test_one_pool_of_extraction_processes_extracts_and_scores(crawled):
    first = crawled.first
    assert set(first.extraction_ready_seconds) == {"extraction"}  # no process of its own for the model
    # Counted, though the extraction processes are their fork server's children, not the crawl process's.
    assert first.extraction_cpu_seconds is not None and first.extraction_cpu_seconds > 0


def test_first_crawl_drops_and_errors_are_counted_by_reason(crawled):
    dropped, errors = crawled.first.dropped, crawled.first.errors
    assert dropped["not-article:link-list"] >= 10  # home and section index pages
    assert dropped["not-article:too-short"] >= 3  # about, contact, privacy...
    assert dropped["duplicate-url"] >= 1  # tracking parameters, print versions declaring their canonical
    assert dropped["duplicate-content"] >= 1  # syndicated copies
    assert dropped["not-html"] >= 1  # the RSS feed linked from the footer
    assert dropped["robots-disallowed"] >= 1
    assert errors["http-500"] == 1 and errors["http-404"] == 1 and errors["timeout"] == 1
    assert errors["too-large"] == 1 and errors["redirect-loop"] == 1
    requests = Counter(path.split("?")[0] for path in crawled.first_requests)
    assert requests[MISBEHAVING["error"]] == 3  # retried twice, with backoff
    with crawled.app.database.session() as session:
        predictions = session.scalar(select(func.count(Prediction.id)))
        versions = session.scalar(select(func.count(DocumentVersion.id)))
    assert predictions == versions  # every stored version was scored


def test_nothing_robots_txt_forbids_is_fetched(crawled):
    paths = crawled.first_requests + crawled.site.requests
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.startswith(ROBOTS_DISALLOWED)]
    assert any(a.private_path for a in crawled.site.articles.values())  # there were such links to follow


def test_second_crawl_adds_a_version_only_for_the_changed_page(crawled):
    second, before = crawled.second, crawled.stored_first
    after = stored_pages(crawled.app)
    revised_url = crawled.site.url + crawled.revised.path
    assert second.status == "ok" and not second.silent
    assert (second.pages_new, second.pages_changed, second.pages_unchanged) == (0, 1, len(before) - 1)
    assert set(after) == set(before)
    assert after[revised_url] == 2 and sum(after.values()) == sum(before.values()) + 1


def test_crawl_runs_are_recorded(crawled):
    with crawled.app.database.session() as session:
        runs = session.scalars(select(CrawlRun).where(CrawlRun.source_name == crawled.source.name)
                               .order_by(CrawlRun.id)).all()
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[1].pages_unchanged == crawled.second.pages_unchanged and runs[1].finished_at > runs[1].started_at
    assert runs[0].errors == dict(crawled.first.errors) and runs[0].dropped == dict(crawled.first.dropped)


def test_sources_command_shows_last_run_and_health(crawled, tmp_path):
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, crawled.site.sources())
    result = hypewatch(cli_environment(crawled.app.settings), "sources", "--sources", str(sources_file), "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["demo-site"]["health"] == "ok" and rows["demo-site"]["last_run"]["pages_changed"] == 1
    assert rows["demo-feed"]["health"] == "never-run" and rows["demo-feed"]["last_run"] is None
    table = hypewatch(cli_environment(crawled.app.settings), "sources", "--sources", str(sources_file))
    assert table.returncode == 0 and "demo-site" in table.stdout and "never-run" in table.stdout


def test_sources_command_rejects_a_bad_file(cli_env, tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text('[[source]]\nname = "ms-news"\nkind = "rss"\nstart_urls = ["https://example.org/feed"]\n')
    result = hypewatch(cli_env, "sources", "--sources", str(bad), timeout=60)
    assert result.returncode == 2
    assert "source 'ms-news'" in result.stderr and "field 'kind'" in result.stderr


def test_crawl_command_shows_progress_and_a_summary(cli_env, demo_site, tmp_path):
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, demo_site.sources())
    result = hypewatch({**cli_env, "HYPEWATCH_FETCH_TIMEOUT": "2"}, "crawl", "--sources", str(sources_file),
                       "demo-feed", "--max-pages", "4")
    assert result.returncode == 0, result.stderr
    assert "crawl summary" in result.stdout and "demo-feed" in result.stdout and "ok" in result.stdout
    assert "fetched" in result.stderr  # the live progress table
    pages = [p for p in demo_site.requests if p.startswith(tuple(f"/{s}/" for s in ("news", "blog", "clinics",
                                                                                     "forum", "misc", "society",
                                                                                     "hospitals", "regulators",
                                                                                     "trials")))]
    assert len(pages) == 4  # the page budget
    unknown = hypewatch(cli_env, "crawl", "--sources", str(sources_file), "no-such-source", timeout=60)
    assert unknown.returncode == 2 and "unknown source(s): no-such-source" in unknown.stderr


def test_private_addresses_are_refused_unless_the_source_allows_them(app, demo_site):
    source = demo_site.sources()[1]
    refused = dataclasses.replace(source, allow_private=False)
    summary = run_crawls(app, [refused])[0]
    assert summary.pages_fetched == 0 and summary.errors == {"blocked-address": 1}
    assert demo_site.requests == []


def test_a_hung_crawl_is_killed_at_the_timeout(app, demo_site):
    source = demo_site.sources()[0]
    started = time.monotonic()
    summary = run_crawl(app, source, timeout=4)
    assert summary.status == "timeout" and summary.silent and "killed after 4 s" in summary.message
    assert time.monotonic() - started < 60
    with app.database.session() as session:
        assert session.get(CrawlRun, summary.run_id).status == "timeout"


def test_off_topic_pages_that_name_ms_and_a_cell_treatment_are_kept_and_counted(crawled):
    from classifier.topic import mentions_topic

    with crawled.app.database.session() as session:
        rows = session.execute(select(Page.url, DocumentVersion.text, Prediction.relevant)
                               .join(DocumentVersion, DocumentVersion.page_id == Page.id)
                               .join(Prediction, Prediction.version_id == DocumentVersion.id)).all()
    kept = [url for url, text, relevant in rows if not relevant]
    # Every page the gate called off-topic that names both topics is stored, counted, and marked
    # not relevant (so it stays out of trends and flags); nothing else off-topic is stored.
    assert all(mentions_topic(text) for _, text, relevant in rows if not relevant)
    assert crawled.first.pages_kept == len(kept)
    stored = set(crawled.stored_first)
    site = crawled.site
    for article in site.articles.values():
        urls = {site.url + p for p in (article.path, *article.duplicate_paths)}
        if not urls & stored:
            assert not mentions_topic(" ".join([article.title, *article.paragraphs])), article.id
    with crawled.app.database.session() as session:
        assert session.scalar(select(CrawlRun.pages_kept).where(CrawlRun.id == crawled.first.run_id)) == len(kept)


# ---------------------------------------------------------------------------- a crawl whose parent is killed
@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_crawl_whose_parent_is_killed_stops_and_its_run_then_shows_failed(cli_env, tmp_path, settings, app):
    sources_file = tmp_path / "sources.toml"
    env = {**cli_env, "HYPEWATCH_FETCH_TIMEOUT": "2"}
    with serve_demo_site(SEEDS_DIR, slow_seconds=3.0) as site, (tmp_path / "crawl.err").open("wb") as stderr:
        write_sources(sources_file, site.sources())
        parent = subprocess.Popen([sys.executable, "-m", "hypewatch", "crawl", "--sources", str(sources_file),
                                   "--json", "demo-site"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                  stderr=stderr)
        try:
            crawl = wait_for(lambda: children_of(parent.pid), 60, "the crawl process to start")[0]
            # Mid-crawl: articles are being fetched (and stored).
            wait_for(lambda: articles_fetched(site.requests) >= 3, 90, "the crawl to fetch articles")
        finally:
            parent.kill()  # kill -9: it cannot stop its crawl or record its run
            parent.wait()
        killed_at = time.monotonic()
        wait_for(lambda: not live_group(crawl), 30, "the crawl process and its extraction processes to exit")
        stopped_after = time.monotonic() - killed_at
        requests = len(site.requests)
        time.sleep(1.0)
        assert len(site.requests) == requests, "nothing is fetched once the crawl has stopped"
    assert stopped_after < 15, f"the crawl ran on {stopped_after:.1f} s after its parent died"
    log = next((settings.home / "logs" / "crawls").glob("*-demo-site.log")).read_text(encoding="utf-8", errors="replace")
    assert "is gone; stopping the crawl" in log and "Spider closed (shutdown)" in log  # a clean stop: pipelines flushed

    result = hypewatch(env, "sources", "--sources", str(sources_file), "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    last_run = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}["demo-site"]["last_run"]
    assert last_run["status"] == "failed" and last_run["message"] == "abandoned: the process running it is gone"
    with app.database.session() as session:
        assert session.scalar(select(func.count(CrawlRun.id)).where(CrawlRun.status == "running")) == 0
        assert session.scalar(select(func.count(Page.id))) > 0  # what it stored before it stopped is kept


def test_a_crawled_page_is_decoded_by_the_charset_its_server_declares(app, local_site):
    text = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")
    page = article_html("Stem cell clinic prices", text + "\n\nTreatment packages start at \u20ac15,000 per patient.")
    url = local_site.add("/crawl/latin-9", page.replace('<meta charset="utf-8">', "").encode("iso-8859-15", "replace"),
                         content_type="text/html; charset=iso-8859-15")
    source = SourceConfig(name="latin-9", kind="site", start_urls=(url,), allowed_domains=("127.0.0.1",),
                          max_depth=0, allow_private=True)
    summary = run_crawl(app, source)
    assert summary.status == "ok", summary.message
    with app.database.session() as session:
        texts = session.scalars(select(DocumentVersion.text)).all()
    assert len(texts) == 1 and "start at \u20ac15,000" in texts[0]


def test_session_ids_are_stripped_before_fetching(app, local_site):
    text = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")
    # Every page links to the article under ten fresh session ids, as a session-id trap does.
    trap = "".join(f'<a href="/trap/stem-cell-article;jsessionid={n}">Stem cell treatment {n}</a> '
                   f'<a href="/trap/stem-cell-article?sid={n}">Stem cell therapy {n}</a>' for n in range(10))
    start = local_site.add("/trap/", article_html("Stem cell clinic news", text, extra=trap))
    local_site.add("/trap/stem-cell-article", article_html("Stem cell clinic", text, extra=trap))
    source = SourceConfig(name="trap", kind="site", start_urls=(start,), allowed_domains=("127.0.0.1",),
                          max_depth=3, max_pages=50, allow_private=True)
    summary = run_crawl(app, source)
    assert summary.status == "ok", summary.message
    fetched = [path for path in local_site.requests if path.startswith("/trap/")]
    assert sorted(fetched) == ["/trap/", "/trap/stem-cell-article"], fetched


def test_hostile_pages_are_read_as_a_browser_shows_them_and_overruns_are_killed(app, local_site):
    """Pages libxml2's defaults lose are stored; pages whose extraction still overruns are killed
    with their worker (not left working) and the crawl goes on with the next pages."""
    texts = [path.read_text(encoding="utf-8") for path in sorted((SEEDS_DIR / "docs").glob("*.txt"))[:6]]
    hostile = hostile_article_pages("Stem cell clinic", texts[:4])
    # A 500 KB table of 50,000 one-letter cells before the article: trafilatura takes many minutes over it.
    table = "<table>" + ("<tr>" + "<td>c</td>" * 50 + "</tr>") * 1000 + "</table>"
    paragraph = "<p>" + "Stem cell therapy for MS is offered by clinics abroad, and patients travel far for it. " * 8 + "</p>"
    article = f"<html><body>{table}<article><h1>Table</h1>{paragraph * 3}</article></body></html>"
    paths = [local_site.add(f"/hostile/{name}", page, content_type="text/html") for name, page in hostile.items()]
    paths += [local_site.add(f"/hostile/normal-{n}", article_html(f"Clinic {n}", text)) for n, text in enumerate(texts[4:])]
    paths += [local_site.add(f"/hostile/table-{n}", article) for n in range(4)]
    links = "".join(f'<a href="{url}">page {n}</a> ' for n, url in enumerate(paths))
    start = local_site.add("/hostile/", f"<html><body><nav>{links}</nav></body></html>")
    source = SourceConfig(name="hostile", kind="site", start_urls=(start,), allowed_domains=("127.0.0.1",),
                          max_depth=1, allow_private=True)
    summary = run_crawl(app, source, timeout=240, settings_overrides={
        "HYPEWATCH_EXTRACTION_PROCESSES": 1, "HYPEWATCH_EXTRACTION_TIMEOUT": 3, "HYPEWATCH_STORE_OFF_TOPIC": True})
    assert summary.status == "ok", summary.message  # without the kill: each table holds the worker for minutes
    assert summary.dropped.get("not-article:failed") == 4, summary.dropped
    stored = stored_pages(app)
    assert set(stored) == {url for url in paths if "/table-" not in url}, sorted(stored)


def closed_port() -> int:
    """A loopback port nothing listens on: every connection to it is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", ["site", "feed"])
def test_a_source_refusing_every_connection_is_recorded_failed(app, kind):
    url = f"http://127.0.0.1:{closed_port()}/" + ("feed.xml" if kind == "feed" else "")
    source = SourceConfig(name=f"refusing-{kind}", kind=kind, start_urls=(url,), allowed_domains=("127.0.0.1",),
                          max_depth=1, allow_private=True)
    summary = run_crawl(app, source, settings_overrides={"HYPEWATCH_RETRY_BACKOFF": 0.1})
    assert summary.errors == {"connection": 1} and summary.pages_fetched == 0
    assert summary.status == "failed" and summary.silent, (summary.status, summary.message)
    assert summary.message == "nothing could be fetched: 1 request(s) failed (connection: 1)"
    with app.database.session() as session:
        assert session.get(CrawlRun, summary.run_id).status == "failed"
