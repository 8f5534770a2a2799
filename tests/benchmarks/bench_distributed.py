"""Shared crawling throughput: the 181 real benchmark pages crawled by one and by two `hypewatch worker`s.

    .venv/bin/python tests/benchmarks/bench_distributed.py [--bench-dir DIR] [--model-dir DIR]
        [--workers 1,2] [--extraction-processes 1] [--postgres-url URL] [--redis-url URL]

Serves the article-extraction benchmark's pages from a local HTTP server with a sitemap (as
bench_crawl.py does), then for each worker count: a fresh PostgreSQL database, that many
`hypewatch worker --concurrency 1` processes on the local Redis (a key prefix of their own), and
one crawl of the sitemap source published through `hypewatch.dispatch.run_crawls`, stored with
HYPEWATCH_STORE_OFF_TOPIC as in bench_crawl.py. The workers are started (and idle) before the
run is published.

`pages_per_s` is the pages fetched over the shared crawl's own time: from the first worker's
crawl process being ready (its extraction and scoring processes up) until the run was drained.
`pages_per_s_wall` counts from publishing the run to its record, so it includes each worker
starting its crawl process for the run. Each worker gets --extraction-processes extraction
processes (HYPEWATCH_EXTRACTION_PROCESSES), so two workers bring twice the extraction capacity; on a
machine with few CPUs they compete for the same cores. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.sources import SourceConfig  # noqa: E402
from hypewatch.app import Hypewatch  # noqa: E402
from hypewatch.dispatch import run_crawls  # noqa: E402
from hypewatch.settings import Settings, get_settings  # noqa: E402
from tests.benchmarks.bench_crawl import DEFAULT_BENCH_DIR, load_pages, serve  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def fresh_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def start_workers(settings: Settings, count: int) -> list[subprocess.Popen]:
    """`count` idle workers, polling for runs; each one's messages go to HOME/worker-N.log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPEWATCH_")}
    env.update({"HYPEWATCH_HOME": str(settings.home), "HYPEWATCH_DATABASE_URL": settings.database_url,
                "HYPEWATCH_SEEDS": str(settings.seeds_dir), "HYPEWATCH_REDIS_URL": settings.redis_url,
                "HYPEWATCH_REDIS_PREFIX": settings.redis_prefix,
                "HYPEWATCH_EXTRACTION_PROCESSES": str(settings.extraction_processes)})
    logs = [settings.home / f"worker-{settings.redis_prefix}-{n}.log" for n in range(count)]
    workers = [subprocess.Popen([sys.executable, "-m", "hypewatch", "worker", "--concurrency", "1"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True) for log in logs]
    for worker, log in zip(workers, logs, strict=True):
        while "waiting for crawl runs" not in log.read_text():
            if worker.poll() is not None:
                raise RuntimeError(f"a worker failed to start: {log.read_text()}")
            time.sleep(0.1)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=120)


def measure(count: int, url: str, home: Path, args, pages: int) -> dict:
    database_url, drop = fresh_database(args.postgres_url)
    prefix = f"hwbench-{uuid.uuid4().hex[:10]}"
    settings = Settings.from_environ({
        "HYPEWATCH_HOME": str(home), "HYPEWATCH_SEEDS": str(ROOT / "seeds"), "HYPEWATCH_DATABASE_URL": database_url,
        "HYPEWATCH_REDIS_URL": args.redis_url, "HYPEWATCH_REDIS_PREFIX": prefix,
        "HYPEWATCH_EXTRACTION_PROCESSES": str(args.extraction_processes), "HYPEWATCH_CRAWL_TIMEOUT": "900",
        "HYPEWATCH_REGISTRY_URL": "off", "HYPEWATCH_ISRCTN_URL": "off",
    })
    app = Hypewatch(settings)
    source = SourceConfig(name="bench", kind="sitemap", start_urls=(f"{url}/sitemap.xml",),
                          allowed_domains=("127.0.0.1",), max_pages=pages + 10, allow_private=True)
    workers = start_workers(settings, count)
    try:
        started = time.perf_counter()
        summary = run_crawls(app, [source], settings_overrides={"HYPEWATCH_STORE_OFF_TOPIC": True})[0]
        wall = time.perf_counter() - started
    finally:
        lost = [w.pid for w in workers if w.poll() is not None]
        stop_workers(workers)
        app.database.close()
        drop()
        client = redis.Redis.from_url(args.redis_url)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    fetched = summary.pages_fetched - 1  # the sitemap itself
    crawl_seconds = summary.crawl_seconds or wall
    return {
        "workers": count, "status": summary.status, "crawl_processes": summary.crawl_processes,
        "pages_fetched": fetched, "stored": summary.pages_new + summary.pages_changed + summary.pages_unchanged,
        "dropped": dict(summary.dropped), "errors": dict(summary.errors),
        "crawl_seconds": round(crawl_seconds, 3), "wall_seconds": round(wall, 3),
        "pages_per_s": round(fetched / crawl_seconds, 2), "pages_per_s_wall": round(fetched / wall, 2),
        "cpu_seconds": summary.cpu_seconds, "extraction_cpu_seconds": summary.extraction_cpu_seconds,
        "peak_rss_mb": summary.peak_rss_mb, "extraction_peak_rss_mb": summary.extraction_peak_rss_mb,
        "message": summary.message, "workers_lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="A model registry to copy (default: the configured HYPEWATCH_HOME's; trained if none).")
    parser.add_argument("--workers", default="1,2", help="Worker counts to measure, comma-separated.")
    parser.add_argument("--extraction-processes", type=int, default=1, help="Extraction processes per worker.")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="A server where databases may be created.")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()

    pages = load_pages(args.bench_dir)
    with tempfile.TemporaryDirectory(prefix="hypewatch-bench-") as tmp:
        home = Path(tmp) / "home"
        model_dir = args.model_dir or get_settings().model_dir
        if (model_dir / "current").exists():
            shutil.copytree(model_dir, home / "models")
        else:
            print("bench_distributed: no model to copy; training one...", file=sys.stderr)
            Hypewatch(Settings.from_environ({"HYPEWATCH_HOME": str(home), "HYPEWATCH_SEEDS": str(ROOT / "seeds"),
                                             "HYPEWATCH_DATABASE_URL": f"sqlite:///{Path(tmp) / 'x.db'}"})).train()
        server = serve(pages)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        runs = [measure(int(n), url, home, args, len(pages)) for n in args.workers.split(",")]
        server.shutdown()
    by_count = {run["workers"]: run for run in runs}
    result = {"pages": len(pages), "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
              "extraction_workers_per_worker": args.extraction_workers, "runs": runs}
    if 1 in by_count and 2 in by_count:
        result["speedup_2_vs_1"] = round(by_count[2]["pages_per_s"] / by_count[1]["pages_per_s"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
