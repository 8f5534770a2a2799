"""Crawl throughput on 181 real pages: the full pipeline against trafilatura alone, in one run.

    .venv/bin/python tests/benchmarks/bench_crawl.py [--bench-dir DIR] [--model-dir DIR]
        [--extraction-processes N] [--database-url URL] [--repeat N]

Serves the pages of the article-extraction benchmark (shared/bench/article-extraction-benchmark:
html/<sha256>.html.gz, listed in ground-truth.json) from a local HTTP server with a sitemap, then,
`--repeat` times (3 by default; the machine may be shared, so medians are what counts):

1. trafilatura alone: `crawler.extract.extract_html` on every page, in memory, one process;
2. the full pipeline: `hypewatch.dispatch.run_crawls` on a sitemap source of the local server:
   fetch (Scrapy, robots.txt, politeness settings as shipped), canonical URL, extraction, link-list
   check, content fingerprint, scoring and batched storage, in its own crawl process with its
   extraction processes, into a database of its own (created and migrated before the clock starts,
   as every crawl but a database's first finds it);

and trafilatura alone once more at the end. Each run's ratio is held against the trafilatura runs
just before and after it.

The pipeline stores pages the relevance gate rejects too (HYPEWATCH_STORE_OFF_TOPIC), since
almost none of these news pages is about stem cells and MS and storage is part of what is
measured.

`pipeline.pages_per_s`, the figure held against the target (1.5x), is every page fetched over the
crawl's own time: from the spider opening (the crawl fetches nothing before its extraction
processes are up) to its end. Fetching, extraction, scoring and storage of every page happen
inside it, as trafilatura alone is timed after its imports and first call. The fixed costs before
it are reported beside it: `startup_seconds` (recording the run, the crawl process starting, its
extraction processes' fork server with its imports and the model), and `pages_per_s_wall` counts
them in (target 1.0x). `memory_run.process_tree` is the peak memory of every process the crawl
starts (the crawl process, the fork server, the extraction processes, multiprocessing's resource
tracker), sampled every 50 ms in one more run after the timed ones (reading every process's
page tables 20 times a second cost the crawl a sixth of a core, so the timed runs do not):
summed PSS (target under 400 MB), and the summed RSS beside it, which counts
the memory the extraction processes share with their fork server once in each. CPU seconds show
where the work went whatever else runs on the machine: `cpu_per_page_vs_alone` is the pipeline's
CPU (every process, start-up included) as a multiple of trafilatura alone's, so 2 cores can give
at most 2 / that ratio. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.extract import extract_html  # noqa: E402
from crawler.sources import SourceConfig  # noqa: E402
from hypewatch.app import Hypewatch  # noqa: E402
from hypewatch.dispatch import run_crawls  # noqa: E402
from hypewatch.settings import Settings, get_settings  # noqa: E402

DEFAULT_BENCH_DIR = ROOT.parent / "shared" / "bench" / "article-extraction-benchmark"
TARGET_RATIO = 1.5  # crawl time
TARGET_WALL_RATIO = 1.0  # start-up included
TARGET_TREE_MB = 400  # peak summed PSS of the crawl's processes


def load_pages(bench_dir: Path) -> dict[str, bytes]:
    truth = json.loads((bench_dir / "ground-truth.json").read_text(encoding="utf-8"))
    return {sha: gzip.decompress((bench_dir / "html" / f"{sha}.html.gz").read_bytes()) for sha in sorted(truth)}


def serve(pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            host = f"http://{self.headers['Host']}"
            path = self.path.split("?", 1)[0]
            content_type = "text/html; charset=utf-8"
            if path == "/robots.txt":
                body, content_type = f"User-agent: *\nAllow: /\nSitemap: {host}/sitemap.xml\n".encode(), "text/plain"
            elif path == "/sitemap.xml":
                urls = "".join(f"<url><loc>{host}/pages/{sha}.html</loc></url>" for sha in pages)
                body = (f'<?xml version="1.0" encoding="utf-8"?><urlset '
                        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()
                content_type = "application/xml"
            elif path.startswith("/pages/") and path[7:-5] in pages:
                body = pages[path[7:-5]]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def trafilatura_alone(pages: dict[str, bytes]) -> dict:
    extract_html(next(iter(pages.values())))  # first-use costs (as the crawl's extraction processes warm up too)
    started, cpu_started = time.perf_counter(), time.process_time()
    ok = sum(extract_html(body, f"http://127.0.0.1/pages/{sha}.html").status == "ok" for sha, body in pages.items())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3), "pages_per_s": round(len(pages) / seconds, 2),
            "extracted": ok}


class TreeMemory:
    """Samples the memory of this process's descendants (the crawl process, its fork server and
    extraction processes) every `interval` seconds: the peak of their summed proportional set size
    (PSS: a page shared by several processes, as copy-on-write pages after a fork are, counts once
    in all) and of their summed resident sets (RSS: a shared page counts in every process)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_pss_kb = self.peak_rss_kb = self.most_processes = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()

    def _sample(self) -> None:
        while not self.stopped.wait(self.interval):
            pss = rss = 0
            tree = descendants(os.getpid())
            for pid in tree:
                try:
                    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
                        for line in rollup:
                            if line.startswith("Pss:"):
                                pss += int(line.split()[1])
                            elif line.startswith("Rss:"):
                                rss += int(line.split()[1])
                except OSError:
                    continue  # gone meanwhile
            self.peak_pss_kb, self.peak_rss_kb = max(self.peak_pss_kb, pss), max(self.peak_rss_kb, rss)
            self.most_processes = max(self.most_processes, len(tree))

    def figures(self) -> dict:
        return {"peak_pss_mb": round(self.peak_pss_kb / 1024, 1), "peak_rss_sum_mb": round(self.peak_rss_kb / 1024, 1),
                "processes": self.most_processes}


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def pipeline(pages: dict[str, bytes], settings: Settings, url: str, *, sample_memory: bool = False) -> dict:
    """One crawl of the pages; with `sample_memory`, the peak memory of its process tree is sampled
    meanwhile (which costs the crawl a share of a core, so the timed runs do without)."""
    app = Hypewatch(settings)
    source = SourceConfig(name="bench", kind="sitemap", start_urls=(f"{url}/sitemap.xml",),
                          allowed_domains=("127.0.0.1",), max_pages=len(pages) + 10, allow_private=True)
    memory = TreeMemory() if sample_memory else contextlib.nullcontext()
    with memory:
        started = time.perf_counter()
        summary = run_crawls(app, [source], settings_overrides={"HYPEWATCH_STORE_OFF_TOPIC": True})[0]
        wall = time.perf_counter() - started
    app.database.close()
    fetched_pages = summary.pages_fetched - 1  # the sitemap itself
    crawl_seconds = summary.crawl_seconds or wall
    return {
        "status": summary.status,
        "pages_fetched": fetched_pages,
        "stored": summary.pages_new + summary.pages_changed + summary.pages_unchanged,
        "dropped": dict(summary.dropped),
        "errors": dict(summary.errors),
        "crawl_seconds": round(crawl_seconds, 3),
        "startup_seconds": round(wall - crawl_seconds, 3),
        "wall_seconds": round(wall, 3),
        "extraction_ready_seconds": dict(summary.extraction_ready_seconds),
        "pages_per_s": round(fetched_pages / crawl_seconds, 2),
        "pages_per_s_wall": round(fetched_pages / wall, 2),
        "cpu_seconds": summary.cpu_seconds,
        "extraction_cpu_seconds": summary.extraction_cpu_seconds,
        "peak_rss_mb": summary.peak_rss_mb,
        "extraction_peak_rss_mb": summary.extraction_peak_rss_mb,
        **({"process_tree": memory.figures()} if isinstance(memory, TreeMemory) else {}),
        "message": summary.message,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="A model registry to copy (default: the configured HYPEWATCH_HOME's; trained if none).")
    parser.add_argument("--extraction-processes", type=int, default=0, help="Extraction processes (0: one per CPU).")
    parser.add_argument("--database-url", default=None,
                        help="Default: a temporary SQLite file per run (a given database is crawled into every run).")
    parser.add_argument("--repeat", type=int, default=3, help="Pipeline runs (medians are reported).")
    args = parser.parse_args()

    pages = load_pages(args.bench_dir)
    with tempfile.TemporaryDirectory(prefix="hypewatch-bench-") as tmp:
        home = Path(tmp) / "home"
        model_dir = args.model_dir or get_settings().model_dir
        if (model_dir / "current").exists():
            shutil.copytree(model_dir, home / "models")

        def settings_for(run: int) -> Settings:
            """Run `run`'s settings, its database created and migrated (as every crawl but a database's first finds it)."""
            settings = Settings.from_environ({
                "HYPEWATCH_HOME": str(home), "HYPEWATCH_SEEDS": str(ROOT / "seeds"),
                "HYPEWATCH_DATABASE_URL": args.database_url or f"sqlite:///{Path(tmp) / f'bench-{run}.db'}",
                "HYPEWATCH_EXTRACTION_PROCESSES": str(args.extraction_processes), "HYPEWATCH_REGISTRY_URL": "off",
                "HYPEWATCH_ISRCTN_URL": "off",
            })
            database = Hypewatch(settings).database
            database.ensure_schema()
            database.close()
            return settings

        if not (home / "models" / "current").exists():
            print("bench_crawl: no model to copy; training one (a few minutes)...", file=sys.stderr)
            Hypewatch(settings_for(0)).train()
        server = serve(pages)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        alone, crawls = [trafilatura_alone(pages)], []
        for run in range(args.repeat):
            crawls.append(pipeline(pages, settings_for(run), url))
            alone.append(trafilatura_alone(pages))
        memory_run = pipeline(pages, settings_for(args.repeat), url, sample_memory=True)  # untimed
        server.shutdown()
    for run, crawl in enumerate(crawls):  # against trafilatura alone just before and after
        baseline = (alone[run]["pages_per_s"] + alone[run + 1]["pages_per_s"]) / 2
        crawl["ratio"] = round(crawl["pages_per_s"] / baseline, 3)
        crawl["ratio_wall"] = round(crawl["pages_per_s_wall"] / baseline, 3)
        # Load-independent: the pipeline's CPU (crawl process, fork server, extraction processes,
        # start-up included) per page, as a multiple of trafilatura alone's.
        alone_cpu = (alone[run]["cpu_seconds"] + alone[run + 1]["cpu_seconds"]) / 2
        crawl["cpu_per_page_vs_alone"] = round((crawl["cpu_seconds"] + crawl["extraction_cpu_seconds"]) / alone_cpu, 3)

    def median(key: str) -> float:
        return round(statistics.median(crawl[key] for crawl in crawls), 3)

    ratio, ratio_wall = median("ratio"), median("ratio_wall")
    tree_mb = memory_run["process_tree"]["peak_pss_mb"]
    print(json.dumps({
        "pages": len(pages),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "trafilatura_alone": {"pages_per_s": round(statistics.median(a["pages_per_s"] for a in alone), 2),
                              "runs": alone,
                              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
        "pipeline": {"runs": crawls, "memory_run": memory_run, "median": {key: median(key) for key in (
            "pages_per_s", "pages_per_s_wall", "crawl_seconds", "startup_seconds", "wall_seconds",
            "cpu_per_page_vs_alone")}},
        "ratio": ratio,
        "ratio_wall": ratio_wall,
        "process_tree_peak_pss_mb": tree_mb,
        "targets": {"ratio": TARGET_RATIO, "ratio_wall": TARGET_WALL_RATIO, "process_tree_peak_pss_mb": TARGET_TREE_MB},
        "meets_targets": {"ratio": ratio >= TARGET_RATIO, "ratio_wall": ratio_wall >= TARGET_WALL_RATIO,
                          "process_tree_peak_pss_mb": tree_mb < TARGET_TREE_MB},
    }, indent=2))


if __name__ == "__main__":
    main()
