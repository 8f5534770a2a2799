"""Dashboard speed with 100,000 (or 1,000,000) stored articles: every page and API call, timed over real HTTP.

    .venv/bin/python tests/benchmarks/bench_dashboard.py [--articles 100000] [--repeat 20]
        [--database-url URL] [--keep PATH]

Builds a database of synthetic but realistically shaped data (corpus texts, a Zipf spread of
domains, two years of dates, a few versions, labels and crawl runs), serves the dashboard with
uvicorn on 127.0.0.1 and requests every page and API endpoint with several filter sets. Prints
JSON: per endpoint the first (cold, uncached) time and the p50/p95 over repeated requests, each
in milliseconds. `cold_p95_ms` is the p95 of the first request of each endpoint with the cache of
search results cleared; `first_load_ms` is the one-off read of the in-memory figures from the
database at a dashboard's very first start, `startup_load_ms` their load at every later start
(the snapshot file, then the 50 pages written while the dashboard was down), and
`ready_after_start_ms` the time from creating the app to its first overview served;
`search_index_build_seconds` is the one-off filling of the full-text index (in the background);
`overview_after_crawl_ms` is the overview right after 200 new pages, labels and a crawl run were
written (the figures catch up incrementally).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from classifier.corpus import load_corpus  # noqa: E402
from classifier.signals import COUNTER_SIGNALS, SIGNALS  # noqa: E402
from classifier.text import split_sentences  # noqa: E402
from dashboard.app import create_app  # noqa: E402
from dashboard.facts import FactStore, read_stamp  # noqa: E402
from dashboard.state import DashboardConfig  # noqa: E402
from hypewatch.serving import DashboardServer  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import CrawlRun, DocumentVersion, Label, ModelVersion, Page, Prediction, Source  # noqa: E402

MODEL = "hm-benchmark00"
BATCH = 2000


def build(database: Database, n_articles: int, seed: int = 7, *, extra: bool = False) -> None:
    """Fill an empty database; with `extra`, add pages (and a label and a run) to a filled one."""
    rng = random.Random(seed)
    texts = [d.text for d in load_corpus(ROOT / "seeds").documents]
    sentences = [split_sentences(t) for t in texts]
    domains = [f"site{i:04d}.example" for i in range(900)]
    weights = [1 / (i + 1) ** 0.9 for i in range(len(domains))]
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    with database.session() as session:
        if extra:
            page_id, version_id, prediction_id = (session.scalar(select(func.max(m.id))) for m in
                                                  (Page, DocumentVersion, Prediction))
        else:
            session.execute(insert(ModelVersion).values(version=MODEL, file_sha256="0" * 64, params={}, metrics={},
                                                        training_seconds=0.0, documents=270, created_at=now))
            session.execute(insert(Source), [{"id": i + 1, "name": f"source-{i + 1:02d}", "kind": "site",
                                              "config": {}, "created_at": now} for i in range(12)])
            page_id = version_id = prediction_id = 0
    for start in range(0, n_articles, BATCH):
        pages, versions, predictions, links = [], [], [], []
        for _ in range(min(BATCH, n_articles - start)):
            page_id += 1
            doc = rng.randrange(len(texts))
            domain = rng.choices(domains, weights)[0]
            seen = now - dt.timedelta(days=rng.randrange(730), hours=rng.randrange(24))
            pages.append({"id": page_id, "url": f"https://{domain}/a/{page_id}", "domain": domain,
                          "source_id": 1 + int(domain[4:8]) % 12, "first_seen": seen, "last_seen": seen})
            n_versions = 2 if rng.random() < 0.03 else 1
            for k in range(n_versions):
                version_id += 1
                prediction_id += 1
                text = texts[doc] + (f"\nUpdated {k}: clinic prices changed." if k else "")
                versions.append({
                    "id": version_id, "page_id": page_id, "fingerprint": f"{page_id:09d}{k}".ljust(64, "0"),
                    "text": text, "title": text.split("\n", 1)[0][:200],
                    "published": today - dt.timedelta(days=rng.randrange(730)) if rng.random() < 0.85 else None,
                    "language": "en", "fetched_at": seen, "raw_html_gz": None,
                })
                predictions.append(_prediction(rng, prediction_id, version_id, sentences[doc], now))
            links.append((page_id, version_id, prediction_id))
        with database.session() as session:
            session.execute(insert(Page), pages)
            session.execute(insert(DocumentVersion), versions)
            session.execute(insert(Prediction), predictions)
            session.connection().exec_driver_sql(
                "UPDATE pages SET current_version_id = ?, current_prediction_id = ? WHERE id = ?"
                if database.dialect == "sqlite" else
                "UPDATE pages SET current_version_id = %s, current_prediction_id = %s WHERE id = %s",
                [(v, p, pid) for pid, v, p in links],
            )
    with database.session() as session:
        session.execute(insert(Label), [
            {"version_id": rng.randrange(1, version_id), "author": "analyst", "created_at": now, "relevant": True,
             "cure_claim": rng.random() < 0.5, "hype": rng.randrange(4)} for _ in range(10 if extra else 1000)])
        session.execute(insert(CrawlRun), [
            {"source_name": f"source-{1 + i % 12:02d}", "started_at": now - dt.timedelta(hours=6 * i),
             "finished_at": now - dt.timedelta(hours=6 * i - 1), "status": "ok" if i % 17 else "failed",
             "pages_fetched": 400, "pages_new": 20, "pages_changed": 3, "pages_unchanged": 377,
             "dropped": {"not-relevant": 12}, "errors": {"http-404": i % 5}, "silent": i % 23 == 0}
            for i in range(1 if extra else 600)])
    if database.dialect == "postgresql" and not extra:
        with database.session() as session:  # statistics, as autovacuum gathers them soon after a bulk load
            session.execute(sa.text("ANALYZE"))


def _prediction(rng: random.Random, prediction_id: int, version_id: int, sentences, now) -> dict:
    relevant = rng.random() < 0.8
    probabilities = {n: rng.betavariate(0.6, 0.9) if relevant else rng.random() * 0.2 for n in SIGNALS}
    flags = {n: relevant and p >= 0.5 for n, p in probabilities.items()}
    evidence = {n: [{"text": s.text, "start": s.start, "end": s.end, "score": 0.9}
                    for s in rng.sample(sentences, min(2, len(sentences)))] if flags[n] else [] for n in SIGNALS}
    hype = 100 * sum(probabilities.values()) / len(SIGNALS) if relevant else 0.0
    return {
        "id": prediction_id, "version_id": version_id, "model_version": MODEL, "created_at": now,
        "relevance": rng.uniform(0.5, 1) if relevant else rng.uniform(0, 0.5), "relevant": relevant,
        "hype_score": round(hype, 1),
        **{f"p_{n}": p for n, p in probabilities.items()}, **{f"flag_{n}": f for n, f in flags.items()},
        "details": {"signals": {n: {"probability": probabilities[n], "flagged": flags[n], "evidence": evidence[n]}
                                for n in SIGNALS},
                    "counter_signals": {n: {"present": rng.random() < 0.3, "evidence": []} for n in COUNTER_SIGNALS}},
    }


def endpoints(article_ids: list[int], today: dt.date) -> list[tuple[str, str]]:
    quarter = (today - dt.timedelta(days=90)).isoformat()
    year = (today - dt.timedelta(days=365)).isoformat()
    paths = [
        ("overview", "/"), ("overview 90 days", f"/?date_from={quarter}"), ("overview one source", "/?source=source-03"),
        ("articles", "/articles"), ("articles by date", "/articles?sort=date"),
        ("articles filtered", f"/articles?signal=testimonial&min_hype=50&date_from={year}"),
        ("articles domain", "/articles?domain=site0002.example&relevance=all"),
        ("articles unlabelled", "/articles?labelled=no&sort=relevance&order=asc"),
        ("articles page 300", "/articles?page=300"),
        ("articles search", "/articles?q=Cancun"), ("articles search rare", "/articles?q=zzyzx"),
        ("queue", "/queue"), ("sources", "/sources"), ("sources by hype", "/sources?domain_sort=mean_hype"),
        ("domain page", "/domains/site0001.example"), ("runs", "/runs"), ("runs page 5", "/runs?page=5"),
        ("docs", "/docs"), ("healthz", "/healthz"),
        ("api trends", "/api/trends"), ("api trends source", "/api/trends?source=source-05"),
        ("api articles", "/api/articles"), ("api articles filtered", "/api/articles?signal=cure_claim&min_hype=70"),
        ("api sources", "/api/sources"), ("api domains", "/api/domains"), ("api runs", "/api/runs"),
        ("api queue", "/api/queue"), ("api overview", "/api/overview"),
    ]
    for i, article_id in enumerate(article_ids):
        paths.append((f"article page {i}", f"/articles/{article_id}"))
        paths.append((f"api article {i}", f"/api/articles/{article_id}"))
    return paths


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(base: str, app, paths: list[tuple[str, str]], repeat: int) -> dict:
    results = {}
    cold = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, path in paths:
            app.state.dashboard.cache.invalidate()
            started = time.perf_counter()
            response = client.get(path)
            first = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
            cold.append(first)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            results[name] = {"path": path, "cold_ms": round(first, 1), "p50_ms": round(statistics.median(times), 1),
                             "p95_ms": round(_percentile(times, 0.95), 1), "max_ms": round(max(times), 1)}
    every = [t for r in results.values() for t in (r["p95_ms"],)]
    return {"endpoints": results, "worst_p95_ms": max(every), "cold_p95_ms": round(_percentile(cold, 0.95), 1),
            "cold_max_ms": round(max(cold), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="An empty database to fill (default: a temporary SQLite file).")
    parser.add_argument("--keep", type=Path, default=None, help="SQLite file to build once and reuse across runs.")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="hypewatch-bench-"))
    url = args.database_url or f"sqlite:///{args.keep or workdir / 'bench.db'}"
    database = Database(url)
    with database.session() as session:
        existing = session.scalar(select(func.count(Page.id)))
    build_seconds = 0.0
    if existing == 0:
        started = time.perf_counter()
        build(database, args.articles)
        build_seconds = time.perf_counter() - started
    elif existing < args.articles:
        raise SystemExit(f"{url} already holds {existing} pages, fewer than {args.articles}")
    with database.session() as session:
        ids = list(session.scalars(select(Page.id).order_by(func.random()).limit(5)))
        stored = session.scalar(select(func.count(Page.id)))
    index_file, snapshot_file = workdir / "search.sqlite", workdir / "facts.npz"
    config = DashboardConfig(secret_key=b"b" * 32, model_version=MODEL, search_index_path=index_file,
                             facts_snapshot_path=snapshot_file)
    board = create_app(database, config, warm_up=False).state.dashboard
    started = time.perf_counter()
    with database.session() as session:  # what the very first start of a dashboard does in the background
        newest = board.facts(session).stamp.versions
    first_load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    board.fact_store.save()
    snapshot_save_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    with database.session() as session:
        board.search_index.sync(session, newest)
    index_seconds = time.perf_counter() - started
    board.search_index.close()
    build(database, 50, seed=int(time.time()) + 1, extra=True)  # written while the dashboard was down
    started = time.perf_counter()
    with database.session() as session:  # what every later start does: the snapshot, then what moved since
        restarted = FactStore(snapshot_file)
        restarted.current(session, read_stamp(session))
    load_ms = (time.perf_counter() - started) * 1000
    assert restarted.origin == "snapshot", restarted.origin
    started = time.perf_counter()
    app = create_app(database, config)  # a restart: the figures and the search index come back in the background
    with DashboardServer(app) as server:
        base = server.url.rstrip("/")
        httpx.get(base + "/", timeout=60).raise_for_status()
        ready_ms = (time.perf_counter() - started) * 1000
        report = measure(base, app, endpoints(ids, dt.date.today()), args.repeat)
        build(database, 200, seed=int(time.time()), extra=True)  # a crawl lands: 200 pages, labels, a run
        app.state.dashboard.changed()
        started = time.perf_counter()
        httpx.get(base + "/", timeout=60).raise_for_status()
        refresh_ms = (time.perf_counter() - started) * 1000
    report.update({"articles": stored, "backend": database.dialect, "repeat": args.repeat,
                   "build_seconds": round(build_seconds, 1), "target_p95_ms": 100,
                   "first_load_ms": round(first_load_ms, 1), "snapshot_save_ms": round(snapshot_save_ms, 1),
                   "snapshot_mb": round(snapshot_file.stat().st_size / 1e6, 1),
                   "startup_load_ms": round(load_ms, 1), "ready_after_start_ms": round(ready_ms, 1),
                   "search_index_build_seconds": round(index_seconds, 1),
                   "search_index_mb": round(index_file.stat().st_size / 1e6, 1),
                   "overview_after_crawl_ms": round(refresh_ms, 1)})
    database.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
