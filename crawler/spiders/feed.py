"""The feed spider: RSS and Atom feeds; each entry's page is fetched (entries are not crawled further)."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.feeds import FEED_TYPES, parse_feed
from crawler.spiders.base import HypewatchSpider
from crawler.urls import canonical_url, link_priority


class FeedSpider(HypewatchSpider):
    name = "feed"

    async def start(self):
        for url in self.start_urls:
            yield Request(url, callback=self.parse_feed, errback=self.on_error, cb_kwargs={"discover": True})

    def parse_feed(self, response: Response, discover: bool = False):
        self.count("fetched")
        entries = parse_feed(response.body, response.url)
        if entries is None:
            if discover and isinstance(response, TextResponse) and hasattr(response, "xpath"):
                # An HTML page given as a feed: follow the feeds it advertises.
                yield from self._advertised_feeds(response)
            else:
                self.count("errors/not-a-feed")
            return
        if not entries:
            self.logger.info("feed %s has no entries", response.url)
        for entry in entries:
            url = canonical_url(entry.url)
            yield self.page_request(url, depth=1, priority=link_priority(url, entry.title))

    def _advertised_feeds(self, response: TextResponse):
        found = False
        for link in response.xpath('//link[@rel="alternate"][@href]'):
            if (link.attrib.get("type") or "").lower() in FEED_TYPES:
                found = True
                yield Request(response.urljoin(link.attrib["href"]), callback=self.parse_feed, errback=self.on_error)
        if not found:
            self.count("errors/not-a-feed")
