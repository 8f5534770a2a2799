"""The sitemap spider: sitemaps, sitemap indexes, news sitemaps and robots.txt Sitemap: lines.

Scrapy's SitemapSpider does the parsing (gzip, indexes, size limits); this adds hypewatch's page
requests, newest and relevant-looking pages first, so a page budget keeps what matters.
"""

from __future__ import annotations

import datetime as dt

from scrapy import Request
from scrapy import spiders as scrapy_spiders

from crawler.spiders.base import HypewatchSpider
from crawler.urls import canonical_url, link_priority

EPOCH = dt.date(2000, 1, 1)


class SitemapSpider(HypewatchSpider, scrapy_spiders.SitemapSpider):
    name = "sitemap"
    sitemap_rules = [("", "parse_page")]

    def __init__(self, source, **kwargs):
        super().__init__(source, **kwargs)
        self.sitemap_urls = list(self.start_urls)
        self._lastmod: dict[str, int] = {}

    async def start(self):
        for url in self.sitemap_urls:
            yield Request(url, callback=self._parse_sitemap, errback=self.on_error)

    def sitemap_filter(self, entries):
        for entry in entries:
            lastmod = _date(entry.get("lastmod"))
            if lastmod is not None and entry.get("loc"):
                self._lastmod[entry["loc"]] = (lastmod - EPOCH).days
            yield entry

    def _parse_sitemap(self, response):
        self.count("fetched")
        for request in super()._parse_sitemap(response):
            if request.callback == self._parse_sitemap:
                yield request.replace(errback=self.on_error)
                continue
            url = canonical_url(request.url)
            recency = self._lastmod.pop(request.url, 0)
            yield self.page_request(url, depth=1, priority=link_priority(url) * 100_000 + recency)


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
