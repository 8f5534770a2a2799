"""Probe: a hostile web server (tests/hostile_server.py, after Scrapy's mock server) against a real
`hypewatch crawl` and a real `hypewatch check URL`, each a subprocess on a fresh SQLite home.

The server plays three sites on loopback: one full of hostile routes (5xx, 429 and 503 with
Retry-After, a reset mid-body, a truncated body, an endless drip, compression bombs, 50 MB pages,
a calendar trap, session ids, a path robots.txt disallows), one whose robots.txt answers 500 and
one asking for a Crawl-delay. It counts the connections and requests each site has open at once.
The figures go to the probe report before the assertions.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from crawler import settings as crawl_settings
from crawler.sources import SourceConfig
from tests.hostile_server import (
    ARTICLES,
    CRAWL_DELAY,
    CRAWL_DELAY_SECONDS,
    HOSTILE_ROUTES,
    MAIN,
    RETRY_AFTER,
    ROBOTS_5XX,
    Bombs,
    ClientConnections,
    Hit,
    HostileServer,
)
from tests.test_hypewatch_crawling import write_sources

MAX_PAGES = 30
MAX_DEPTH = 3
FETCH_TIMEOUT = 3.0  # HYPEWATCH_FETCH_TIMEOUT for the crawl: Scrapy's download timeout covers the whole download
CHECK_TIMEOUT = 2.0  # for `check`, whose whole fetch has a deadline of twice this
CAP_MB = crawl_settings.DOWNLOAD_MAXSIZE // (1024 * 1024)
TOLERANCE = 0.15  # seconds of scheduling slack allowed on a wait the server asked for
# A request the crawler sent just before the site's answer reached it may arrive this late (the
# probe on PostgreSQL once saw one 1 ms after a 429): it is not a request made after the answer.
IN_FLIGHT = 0.3
TIMING_SLACK = 1.5  # seconds a download may run past its timeout before the client notices

# Waits and open connections as the server sees them: beside other tests, an aborted connection can
# linger long enough to count twice (seen with two pytest-xdist workers: 4 sockets for a limit of 2).
pytestmark = pytest.mark.timing


@pytest.fixture(scope="module")
def hostile(compression_bombs):
    server = HostileServer(Bombs(compression_bombs.brotli, compression_bombs.double_gzip, compression_bombs.gzip))
    server.start()
    yield server
    server.close()


def test_a_measured_command_reports_its_own_peak_memory_not_the_test_process(run_cli_measured):
    # The figures below rest on it: a command started straight from a test process holding 400 MB
    # reported 400 MB, whatever it used itself.
    ballast = bytearray(400 << 20)
    ballast[::4096] = b"\1" * len(range(0, len(ballast), 4096))  # touch every page: make it resident
    run = run_cli_measured("--help")
    assert run.result.exit_code == 0
    assert 10 < run.peak_rss_mb < 150, run.peak_rss_mb
    del ballast


def _route(hit: Hit) -> str:
    return hit.path.split("?", 1)[0].split(";", 1)[0]


def _waits_after(hits: list[Hit], statuses: set[int]) -> list[float]:
    """For each answer with one of `statuses`, how long until the site's next request arrived
    (leaving out one already on its way when the answer left)."""
    waits = []
    for i, hit in enumerate(hits):
        if hit.status in statuses:
            later = [h.started for h in hits[i + 1:] if h.started >= hit.ended + IN_FLIGHT]
            if later:
                waits.append(round(min(later) - hit.ended, 3))
    return waits


def test_a_crawl_of_hostile_sites_stays_bounded_polite_and_quiet(hostile, run_cli_measured, tmp_path, probe_report):
    source = SourceConfig(
        name="hostile", kind="site", allow_private=True, max_pages=MAX_PAGES, max_depth=MAX_DEPTH,
        start_urls=tuple(hostile.url(host, "/") for host in (MAIN, ROBOTS_5XX, CRAWL_DELAY)),
        allowed_domains=(MAIN, ROBOTS_5XX, CRAWL_DELAY))
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, [source])
    with ClientConnections(hostile) as client_side:
        run = run_cli_measured("crawl", "--sources", str(sources_file), "--json", "hostile", timeout=300,
                               env={"HYPEWATCH_FETCH_TIMEOUT": str(FETCH_TIMEOUT)})
    summary = json.loads(run.result.stdout.splitlines()[-1]) if run.result.stdout.strip() else {}
    log = Path(summary["log_file"]).read_text("utf-8", "replace") if summary.get("log_file") else ""

    main = sorted(hostile.hits_of(MAIN), key=lambda h: h.started)
    robots_5xx = hostile.hits_of(ROBOTS_5XX)
    delayed = sorted(hostile.hits_of(CRAWL_DELAY), key=lambda h: h.started)
    everything = main + robots_5xx + delayed
    pages = {(h.host, h.path) for h in everything if h.path != "/robots.txt"}
    per_route = Counter(_route(h) for h in main)
    calendar = sorted({h.path for h in main if h.path.startswith("/calendar/")})
    articles = Counter(_route(h) for h in main if h.path.startswith("/articles/"))
    drip_seconds = [round(h.ended - h.started, 2) for h in main if h.path == "/drip"]
    retry_after_waits = _waits_after(main, {429, 503})
    delayed_pages = [h for h in delayed if h.path != "/robots.txt"]
    crawl_delay_gaps = [round(b.started - a.started, 3) for a, b in itertools.pairwise(delayed_pages)]
    errors, dropped = summary.get("errors", {}), summary.get("dropped", {})
    figures = {
        "exit_code": run.result.exit_code, "status": summary.get("status"),
        "tracebacks": run.result.stderr.count("Traceback") + log.count("Traceback"),
        "wall_seconds": round(run.seconds, 1), "crawl_seconds": summary.get("crawl_seconds"),
        "peak_rss_mb_largest_process": round(run.peak_rss_mb, 1), "crawl_peak_rss_mb": summary.get("peak_rss_mb"),
        "extraction_peak_rss_mb": summary.get("extraction_peak_rss_mb"),
        "extraction_ready_seconds": summary.get("extraction_ready_seconds"), "cpu_seconds": summary.get("cpu_seconds"),
        "extraction_cpu_seconds": summary.get("extraction_cpu_seconds"),
        "page_budget": MAX_PAGES, "pages_requested": len(pages), "requests": len(everything),
        "per_site_limit": crawl_settings.CONCURRENT_REQUESTS_PER_DOMAIN,
        "max_connections": client_side.max, "connection_samples": client_side.samples,
        # The server's view: it notices late that the client closed a connection it is writing to.
        "max_connections_server_side": {host: hostile.counts[host].max_connections for host in hostile.counts},
        "max_in_flight": {host: hostile.counts[host].max_in_flight for host in hostile.counts},
        "requests_per_route": dict(sorted(per_route.items())),
        "calendar_pages": len(calendar), "article_fetches": dict(articles),
        "session_links_offered": ARTICLES * 12,
        "session_id_requests": sum(marker in h.path.lower() for h in main for marker in ("sessionid=", "sid=")),
        "private_fetched": per_route.get("/private/secret", 0),
        "retry_after_s": RETRY_AFTER, "retry_after_waits_s": retry_after_waits,
        "robots_5xx_pages_fetched": sum(h.path != "/robots.txt" for h in robots_5xx),
        "crawl_delay_s": CRAWL_DELAY_SECONDS, "crawl_delay_gaps_s": crawl_delay_gaps,
        "fetch_timeout_s": FETCH_TIMEOUT, "drip_seconds": drip_seconds,
        "errors": errors, "dropped": dropped, "stored": summary.get("pages_new"),
    }
    probe_report["hostile_server_crawl"] = figures
    print(json.dumps(figures, indent=1))

    assert figures["tracebacks"] == 0, run.result.stderr[-3000:]
    assert summary, run.result.stderr[-3000:]
    assert len(pages) <= MAX_PAGES
    # Requests at once, as each site sees them: never more than the per-site limit.
    assert max(figures["max_in_flight"].values()) <= crawl_settings.CONCURRENT_REQUESTS_PER_DOMAIN
    # Open sockets, sampled on the client side: a connection given up on (a drip past the timeout, a
    # body cut off) is aborted asynchronously, so for an instant it can still show as established
    # beside the one that replaces it (seen once in CI: 3 for a limit of 2, with 2 requests in flight).
    assert max(figures["max_connections"].values()) <= crawl_settings.CONCURRENT_REQUESTS_PER_DOMAIN + 1
    for route in HOSTILE_ROUTES:  # each was tried (the budget reaches them all before the trap)
        assert per_route[route] >= 1, route
    assert errors.get("too-large", 0) >= 5  # three bombs, two 50 MB pages
    assert 1 <= len(calendar) < MAX_PAGES
    assert set(articles.values()) == {1}, articles  # each article once, whatever its session ids
    assert figures["session_id_requests"] == 0
    assert figures["private_fetched"] == 0
    assert retry_after_waits and min(retry_after_waits) >= RETRY_AFTER - TOLERANCE
    assert figures["robots_5xx_pages_fetched"] == 0
    assert crawl_delay_gaps and min(crawl_delay_gaps) >= CRAWL_DELAY_SECONDS - TOLERANCE
    assert drip_seconds and max(drip_seconds) <= FETCH_TIMEOUT + TIMING_SLACK
    assert summary["pages_new"] >= ARTICLES  # the real articles still got through


CHECKED_ROUTES = (*HOSTILE_ROUTES, "/articles/0")  # the last one a plain article: the control
MUST_FAIL = {"/error/500", "/error/503", "/slow-down/429", "/drop", "/truncated", "/drip", "/bomb/br",
             "/bomb/gzip-gzip", "/bomb/gzip", "/big", "/big-streamed"}
CAPPED = {"/bomb/br", "/bomb/gzip", "/big", "/big-streamed"}  # stacked encodings are refused before any decoding
CHECK_MAX_RSS_MB = 400  # a cold check takes about 130 MB; a bomb decoded whole would take gigabytes


@pytest.mark.parametrize("route", CHECKED_ROUTES)
def test_check_of_a_hostile_route_gives_one_line_and_stays_bounded(route, hostile, run_cli_measured, probe_report):
    run = run_cli_measured("check", "--json", "--allow-private", hostile.url(MAIN, route), timeout=120,
                           env={"HYPEWATCH_FETCH_TIMEOUT": str(CHECK_TIMEOUT)})
    lines = run.result.stdout.splitlines()
    answer = json.loads(lines[0]) if len(lines) == 1 else {}
    stderr_lines = run.result.stderr.strip().splitlines()
    outcome = answer.get("error") or (f"score {answer['hype_score']}" if "hype_score" in answer else run.result.stdout[:200])
    figures = {"exit_code": run.result.exit_code, "seconds": round(run.seconds, 2),
               "peak_rss_mb": round(run.peak_rss_mb, 1), "outcome": outcome, "stderr_lines": len(stderr_lines),
               "tracebacks": run.result.stderr.count("Traceback")}
    probe_report.setdefault("hostile_server_check", {"fetch_timeout_s": CHECK_TIMEOUT})[route] = figures

    assert figures["tracebacks"] == 0, run.result.stderr[-3000:]
    assert len(lines) == 1 and len(stderr_lines) <= 1, (run.result.stdout, run.result.stderr)
    assert run.peak_rss_mb < CHECK_MAX_RSS_MB
    assert run.seconds < 2 * CHECK_TIMEOUT + 20  # the whole fetch's deadline, plus a cold start on a busy machine
    if route in MUST_FAIL:
        assert "error" in answer and run.result.exit_code != 0, answer
    else:
        assert "hype_score" in answer and run.result.exit_code == 0, answer
    if route in CAPPED:
        assert f"{CAP_MB} MB limit" in answer["error"], answer
