"""The feed spider: RSS and Atom feeds; each entry's page is fetched (entries are not crawled further).

An entry that an aggregator (Google News, Bing News) links through its own pages is fetched from
the publisher's URL inside that link; one whose publisher URL cannot be read offline is counted
as dropped (`UNDECODABLE_LINK`), so a feed of such links shows up in the run's counts; so is an
entry whose link is no valid http(s) URL (`INVALID_LINK`), and the rest of the feed is crawled.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.aggregator_links import UndecodableLink, publisher_url
from crawler.errors import InvalidUrlError
from crawler.feeds import FEED_TYPES, parse_feed
from crawler.spiders.base import HypewatchSpider
from crawler.urls import canonical_url, link_priority, parse_web_url
from crawler.vocabulary import INVALID_LINK, UNDECODABLE_LINK


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
        undecodable = invalid = 0
        for entry in entries:
            try:
                parse_web_url(entry.url)  # a hostile link is one entry dropped, never the rest of the feed
                url = canonical_url(publisher_url(entry.url))
                parse_web_url(url)  # the publisher's URL an aggregator's link carried
            except UndecodableLink as exc:
                undecodable += 1
                self.count(f"dropped/{UNDECODABLE_LINK}")
                self.logger.debug("%s", exc)
                continue
            except InvalidUrlError as exc:
                invalid += 1
                self.count(f"dropped/{INVALID_LINK}")
                self.logger.debug("feed %s: entry %r skipped: %s", response.url, entry.title[:80], exc)
                continue
            yield self.page_request(url, depth=1, priority=link_priority(url, entry.title))
        if undecodable:
            self.logger.info("feed %s: %d of %d entries link through an aggregator that hides the publisher's URL",
                             response.url, undecodable, len(entries))
        if invalid:
            self.logger.info("feed %s: %d of %d entries have a link that is no valid http(s) URL",
                             response.url, invalid, len(entries))

    def _advertised_feeds(self, response: TextResponse):
        found = False
        for link in response.xpath('//link[@rel="alternate"][@href]'):
            if (link.attrib.get("type") or "").lower() in FEED_TYPES:
                found = True
                yield Request(response.urljoin(link.attrib["href"]), callback=self.parse_feed, errback=self.on_error)
        if not found:
            self.count("errors/not-a-feed")
