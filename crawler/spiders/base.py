"""What every hypewatch spider shares: page requests, page items, error counts, and following
links only from pages the pipelines did not reject as off-topic."""

from __future__ import annotations

import html
import re
from typing import Any

import scrapy
from scrapy import Request, signals
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as net_errors
from twisted.python.failure import Failure

from crawler.charset import header_charset
from crawler.counts import stat_key
from crawler.items import PageItem
from crawler.middlewares import BlockedRequest
from crawler.signals import request_failed
from crawler.sources import SourceConfig
from crawler.vocabulary import (
    CONNECTION_FAILED,
    DEPTH_META,
    DNS_FAILED,
    OFF_TOPIC,
    PAGE_META,
    ROBOTS_DISALLOWED,
    SKIPPED_KINDS,
    TIMED_OUT,
    TOO_LARGE,
)

HEAD_BYTES = 200_000
# The reactor thread does not parse whole pages (workers do): the canonical link is found by pattern.
_CANONICAL_LINK = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(rb"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)


class HypewatchSpider(scrapy.Spider):
    """Base of the site, feed and sitemap spiders; built with the source's configuration."""

    follows_links = False  # only the site spider follows links out of pages

    def __init__(self, source: SourceConfig | dict[str, Any], **kwargs: Any):
        source = source if isinstance(source, SourceConfig) else SourceConfig.from_dict(source)
        super().__init__(**kwargs)
        self.source = source
        self.start_urls = list(source.start_urls)
        # Empty means "any domain" to Scrapy's OffsiteMiddleware.
        self.allowed_domains = [] if source.any_domain else list(source.allowed_domains)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        kwargs.setdefault("source", crawler.settings.getdict("HYPEWATCH_SOURCE"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._item_passed, signal=signals.item_scraped)
        crawler.signals.connect(spider._item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider._request_dropped, signal=signals.request_dropped)
        return spider

    # ------------------------------------------------------------------ requests
    def page_request(self, url: str, *, depth: int, priority: int = 0) -> Request:
        """A request for a candidate article: counted against the page budget, parsed as a page."""
        return Request(url, callback=self.parse_page, errback=self.on_error, priority=priority,
                       meta={PAGE_META: True, DEPTH_META: depth})

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(stat_key(key))

    # ------------------------------------------------------------------ pages
    def parse_page(self, response: Response):
        self.count("fetched")
        depth = response.meta.get(DEPTH_META, 0)
        content_type_header = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        content_type = content_type_header.split(";")[0].strip().lower()
        href = declared_canonical(response.body)
        declared = response.urljoin(href) if href else None
        links = []
        if self.follows_links and depth < self.source.max_depth and isinstance(response, TextResponse):
            links = self.links_of(response, depth)
        yield PageItem(
            url=response.meta.get("redirect_urls", [response.url])[0],
            response_url=response.url,
            body=response.body,
            content_type=content_type,
            charset=header_charset(content_type_header),
            declared_canonical=declared,
            depth=depth,
            links=links,
        )

    def links_of(self, response: TextResponse, depth: int) -> list:
        return []

    # ------------------------------------------------------------------ following links
    def _item_passed(self, item, response, spider) -> None:
        self._follow_links_of(item)

    def _item_dropped(self, item, response, exception, spider) -> None:
        # Index pages and duplicates still lead somewhere; an off-topic page's links do not.
        if str(exception) != OFF_TOPIC:
            self._follow_links_of(item)

    def _follow_links_of(self, item) -> None:
        if not isinstance(item, PageItem) or not item.links or self.crawler.engine is None:
            return
        for link in item.links:
            self.crawler.engine.crawl(self.page_request(link.url, depth=item.depth + 1, priority=link.priority))
        item.links = []

    # ------------------------------------------------------------------ errors
    def _request_dropped(self, request, spider) -> None:
        # The duplicate filter drops a redirect back to a URL of its own chain: a redirect loop.
        if request.url in request.meta.get("redirect_urls", ()):
            self.count("errors/redirect-loop")

    def on_error(self, failure: Failure) -> None:
        kind = error_kind(failure)
        if kind in SKIPPED_KINDS:
            self.count(f"skipped/{kind}")
        elif kind:
            self.count(f"errors/{kind}")
        self.logger.debug("%s: %s", kind, failure.getErrorMessage())
        request = getattr(failure, "request", None)  # Scrapy sets it before calling an errback
        if request is not None:
            self.crawler.signals.send_catch_log(signal=request_failed, request=request)


def declared_canonical(body: bytes) -> str | None:
    """The href of the page's <link rel="canonical">, if its head has one."""
    head_end = body.find(b"</head", 0, HEAD_BYTES)
    link = _CANONICAL_LINK.search(body, 0, head_end if head_end >= 0 else HEAD_BYTES)
    href = _HREF.search(link.group(0)) if link else None
    if not href:
        return None
    value = next(v for v in href.groups() if v is not None).decode("utf-8", "replace").strip()
    return html.unescape(value) or None


def error_kind(failure: Failure) -> str:
    """A short, stable name for why a request failed."""
    exc = failure.value
    if isinstance(exc, BlockedRequest):
        return exc.kind
    if isinstance(exc, HttpError):
        return f"http-{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc).lower()
        if "robots.txt" in message:
            return ROBOTS_DISALLOWED
        if "download_maxsize" in message:  # Scrapy's HttpCompressionMiddleware: a compression bomb
            return TOO_LARGE
        if "redirect" in message:
            return "too-many-redirects"
        return "ignored"
    if isinstance(exc, (net_errors.TimeoutError, net_errors.TCPTimedOutError, DownloadTimeoutError)):
        return TIMED_OUT
    if isinstance(exc, net_errors.DNSLookupError):
        return DNS_FAILED
    if isinstance(exc, DownloadCancelledError):
        return TOO_LARGE  # Scrapy cancels a download only when it outgrows DOWNLOAD_MAXSIZE
    if isinstance(exc, (net_errors.ConnectError, net_errors.ConnectionLost, net_errors.ConnectionDone,
                        DownloadConnectionRefusedError, DownloadFailedError, ResponseDataLossError)):
        return CONNECTION_FAILED
    name = type(exc).__name__
    if name in ("ResponseFailed", "ResponseNeverReceived", "PotentialDataLoss"):
        return CONNECTION_FAILED
    return name.lower()
