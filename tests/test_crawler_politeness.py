"""crawler.politeness: the pace a site asks for (robots.txt's Crawl-delay, a Retry-After) holds for
the whole site, in real crawls of a local server that notes when each request arrives."""

from __future__ import annotations

import pytest

from crawler.sources import SourceConfig
from hypewatch.dispatch import run_crawl
from tests.conftest import SEEDS_DIR, LocalSite, article_html

ARTICLE_TEXT = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")
# A request that left the crawler just before the site's answer reached it may arrive this late.
IN_FLIGHT = 0.3


def site_with_articles(site: LocalSite, paths: list[str]) -> SourceConfig:
    """A start page linking to an article at each of `paths`, as a one-level site source."""
    links = "".join(f'<a href="{path}">Stem cell treatment for multiple sclerosis {n}</a> '
                    for n, path in enumerate(paths))
    start = site.add("/", article_html("Stem cell clinic news", ARTICLE_TEXT, extra=links))
    for n, path in enumerate(paths):
        site.add(path, article_html(f"Stem cell clinic {n}", ARTICLE_TEXT))
    return SourceConfig(name="polite", kind="site", start_urls=(start,), allowed_domains=("127.0.0.1",),
                        max_depth=1, max_pages=20, allow_private=True)


@pytest.mark.timing  # the gaps a site sees widen and narrow when other tests load the machine
def test_crawl_delay_in_robots_txt_spaces_every_request_to_the_site(app, own_site):
    own_site.add("/robots.txt", "User-agent: *\nCrawl-delay: 2\n", content_type="text/plain")
    source = site_with_articles(own_site, [f"/article-{n}" for n in range(4)])
    summary = run_crawl(app, source)
    assert summary.status == "ok", summary.message
    assert own_site.requests[0] == "/robots.txt" and len(own_site.requests) >= 6, own_site.requests
    gaps = [later - earlier for earlier, later in zip(own_site.times, own_site.times[1:], strict=False)]
    # AutoThrottle, left alone, sends these a fraction of a second apart.
    assert min(gaps) >= 2 - 0.1, [round(gap, 2) for gap in gaps]


@pytest.mark.timing  # the gaps a site sees widen and narrow when other tests load the machine
def test_a_retry_after_slows_the_whole_site_capped_by_the_backoff_maximum(app, own_site):
    source = site_with_articles(own_site, [*(f"/article-{n}" for n in range(5)), "/busy"])
    own_site.add("/busy", "<p>slow down</p>", status=429, headers={"Retry-After": "3600"})
    summary = run_crawl(app, source, settings_overrides={"HYPEWATCH_RETRY_BACKOFF_MAX": 3})
    assert summary.status == "ok", summary.message
    assert summary.errors.get("http-429") == 1, summary.errors  # (the pages' menus lead to 404s too)
    times = dict(enumerate(own_site.times))
    answered = [times[i] for i, path in enumerate(own_site.requests) if path == "/busy"]
    assert len(answered) == 3  # the request and its two retries
    for at in answered:
        # Nothing else reached the site while it asked us to wait (3600 s, capped at 3 s)...
        rushed = [(path, round(t - at, 2)) for path, t in zip(own_site.requests, own_site.times, strict=True)
                  if at + IN_FLIGHT < t < at + 3 - 0.1]
        assert not rushed, rushed
    # ...and the wait was the cap, not the hour the site asked for.
    assert own_site.times[-1] - own_site.times[0] < 60, list(zip(own_site.requests, own_site.times, strict=True))


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_sites_delay(status):
    from crawler.politeness import retry_after_delay

    assert retry_after_delay(status, b"3600", cap=30.0) == 30.0
    assert retry_after_delay(status, b"4", cap=30.0) == 4.0
    assert retry_after_delay(status, None, cap=30.0) is None
    assert retry_after_delay(500, b"4", cap=30.0) is None


def test_a_retry_after_stays_the_sites_least_delay_until_its_time_has_passed():
    """An answer to a request already in flight must not let AutoThrottle shorten the wait (the
    hostile-server probe once saw the next request 1.0 s after a Retry-After of 2 s)."""
    import time

    from scrapy import Request, Spider
    from scrapy.core.downloader import Downloader
    from scrapy.utils.test import get_crawler

    from crawler.politeness import delay_floor, hold_crawl_delay, slow_down

    downloader = Downloader(get_crawler(Spider))
    request = Request("http://127.0.0.1:8000/page")
    key = downloader.get_slot_key(request)
    hold_crawl_delay(downloader, request, 1.0)
    slow_down(downloader, request, 2.0)
    now = time.monotonic()
    assert delay_floor(downloader, key, now=now) == 2.0
    assert delay_floor(downloader, key, now=now + 2.5) == 1.0  # then the Crawl-delay alone
    assert delay_floor(downloader, "another-site", now=now) == 0.0
