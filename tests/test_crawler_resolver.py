"""crawler.resolver: the address a crawl connects to is checked, not only the one looked up first.

A request check fooled by DNS rebinding is played by taking NetGuardMiddleware out of the crawl:
the name `localhost` then reaches the connection, whose own lookup answers 127.0.0.1.
"""

from crawler.sources import SourceConfig
from hypewatch.dispatch import run_crawl
from tests.conftest import SEEDS_DIR, article_html

ARTICLE_TEXT = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")

WITHOUT_REQUEST_CHECK = {"DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.NetGuardMiddleware": None}}


def localhost_source(site, *, allow_private: bool) -> SourceConfig:
    path = "/rebound-article"
    site.add(path, article_html("Stem cell clinic for MS", ARTICLE_TEXT))
    url = site.url(path).replace("127.0.0.1", "localhost")
    return SourceConfig(name="rebinding", kind="site", start_urls=(url,), allowed_domains=("localhost",),
                        max_depth=0, max_pages=5, allow_private=allow_private)


def test_a_name_resolving_into_the_local_network_at_connect_time_is_refused(app, own_site):
    summary = run_crawl(app, localhost_source(own_site, allow_private=False), settings_overrides=WITHOUT_REQUEST_CHECK)
    assert own_site.requests == []
    assert summary.pages_new == 0 and summary.errors, summary


def test_a_source_allowed_private_addresses_connects_through_the_resolver(app, own_site):
    summary = run_crawl(app, localhost_source(own_site, allow_private=True), settings_overrides=WITHOUT_REQUEST_CHECK)
    assert "/rebound-article" in own_site.requests
    assert summary.pages_new == 1, summary
