"""The site spider: follows links inside the allowed domains, relevant-looking links first."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor

from crawler.items import PageLink
from crawler.spiders.base import HypewatchSpider
from crawler.urls import canonical_url, link_priority

MAX_LINKS_PER_PAGE = 400


class SiteSpider(HypewatchSpider):
    name = "site"
    follows_links = True

    def __init__(self, source, **kwargs):
        super().__init__(source, **kwargs)
        # Domains are checked here by host name: LinkExtractor's allow_domains compares host:port.
        self.link_extractor = LinkExtractor(unique=True)
        self.domains = tuple(d.lower() for d in self.allowed_domains)

    async def start(self):
        for url in self.start_urls:
            yield self.page_request(url, depth=0, priority=100)

    def links_of(self, response: TextResponse, depth: int) -> list[PageLink]:
        links: dict[str, PageLink] = {}
        for link in self.link_extractor.extract_links(response):
            if link.nofollow or not self._allowed(link.url):
                continue
            url = canonical_url(link.url)
            # Shallower pages first at equal relevance; relevance dominates.
            priority = link_priority(url, link.text) - depth
            if url not in links or links[url].priority < priority:
                links[url] = PageLink(url, priority)
            if len(links) >= MAX_LINKS_PER_PAGE:
                break
        return list(links.values())

    def _allowed(self, url: str) -> bool:
        if not self.domains:
            return True
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.domains)
