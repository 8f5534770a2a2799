"""Downloader middlewares: session ids, address guard, robots.txt, page budget, retries with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares import robotstxt as scrapy_robotstxt
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.internet.defer import Deferred

from crawler.counts import stat_key
from crawler.errors import BlockedAddressError, FetchError
from crawler.netguard import check_url, is_public_address
from crawler.politeness import (
    hold_crawl_delay,
    retry_after_delay,
    retry_after_seconds,
    running_downloader,
    slow_down,
)
from crawler.run_memory import LocalRunMemory, RunMemory, run_memory
from crawler.urls import without_session_ids
from crawler.vocabulary import BLOCKED_ADDRESS, BUDGETED_META, PAGE_BUDGET, PAGE_META

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


class BlockedRequest(IgnoreRequest):
    """A request refused before it was sent; `kind` names why (for the run's error counts)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class SessionIdMiddleware:
    """Fetch URLs without their session ids (`crawler.urls.without_session_ids`, the same rule
    `canonical_url` applies to stored URLs): a request carrying one is replaced by one without it.

    The replacement goes back through the scheduler, whose duplicate filter drops it when that
    URL was already seen, so a session-id trap costs no page budget.
    """

    def process_request(self, request: Request) -> Request | None:
        url = without_session_ids(request.url)
        if url == request.url:
            return None
        logger.debug("session id removed: %s -> %s", request.url, url)
        return request.replace(url=url)


class NetGuardMiddleware:
    """Refuse requests to loopback, private and link-local addresses unless the source allows them.

    Every request passes here, including robots.txt and each hop of a redirect (Scrapy schedules
    a redirect as a new request), so a public page cannot redirect the crawler into the local
    network. Host checks are cached per crawl; the DNS lookup runs off the reactor thread.
    `address_allowed` decides per resolved address (the netguard's default: public ones only);
    the probe suite's subclass treats one loopback address as public to play a public site.
    """

    def __init__(self, allow_private: bool, address_allowed: Callable[[str], bool] = is_public_address):
        self.allow_private = allow_private
        self.address_allowed = address_allowed
        self._verdicts: dict[tuple[str, str], str | None] = {}

    @classmethod
    def from_crawler(cls, crawler):
        source = crawler.settings.getdict("HYPEWATCH_SOURCE")
        return cls(allow_private=bool(source.get("allow_private", False)))

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        key = (parts.scheme.lower(), parts.netloc.lower())  # not .port: a hostile port raises; check_url says why
        if key not in self._verdicts:
            self._verdicts[key] = await asyncio.to_thread(self._check, request.url)
        problem = self._verdicts[key]
        if problem is not None:
            raise BlockedRequest(problem, BLOCKED_ADDRESS)

    def _check(self, url: str) -> str | None:
        try:
            check_url(url, allow_private=self.allow_private, address_allowed=self.address_allowed)
        except BlockedAddressError as exc:
            return str(exc)
        except FetchError as exc:
            return str(exc)
        return None


class RobotsTxtMiddleware(scrapy_robotstxt.RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every request that waits for a site's robots.txt checked,
    a robots.txt the server fails to serve (5xx) read as "disallow all", and its Crawl-delay held
    for the site (`crawler.politeness`; Scrapy reads it but leaves it unused).

    Scrapy parses whatever body comes back, so a site whose robots.txt answers 500 was crawled
    in full. RFC 9309 (2.3.1.4), as Google applies it, says a crawler must then assume complete
    disallow; a 4xx still means there are no rules.

    Scrapy 2.19 has each such request await the one Deferred of the pending download, and Twisted
    hands a Deferred's result to the first awaiter only (`Deferred.asFuture` leaves None for the
    next ones), so all but the first were sent unchecked: a crawl that starts with several
    requests to a site, like a worker joining a shared crawl with a batch of them, fetched pages
    robots.txt forbids. The parser is read again once the download has settled.
    """

    async def robot_parser(self, request: Request):
        parser = await super().robot_parser(request)
        if parser is None:
            settled = self._parsers.get(urlsplit(request.url).netloc)
            if not isinstance(settled, Deferred):
                return settled
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            logger.info("%s answered %d for robots.txt: treating the site as disallowed", netloc, response.status)
            response = response.replace(body=DISALLOW_ALL)
        await super()._parse_robots(response, netloc, request)
        parser = self._parsers.get(netloc)
        if parser is None or isinstance(parser, Deferred):
            return
        user_agent = self._robotstxt_useragent or request.headers.get(b"User-Agent") or self._default_useragent
        delay = parser.crawl_delay(user_agent)
        downloader = running_downloader(self.crawler)
        if delay and downloader is not None:
            hold_crawl_delay(downloader, request, float(delay))


class PageBudgetMiddleware:
    """Send at most HYPEWATCH_MAX_PAGES page requests per crawl (over all its workers when shared).

    Applied at download time, after the scheduler's priority order, so the budget goes to the
    most relevant-looking links. Retries and redirects of a page do not count again.
    """

    def __init__(self, max_pages: int, stats, memory: RunMemory | None = None):
        self.max_pages = max_pages
        self.stats = stats
        self.memory = memory or LocalRunMemory()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("HYPEWATCH_MAX_PAGES"), crawler.stats, run_memory(crawler.settings))

    def process_request(self, request: Request) -> None:
        if not request.meta.get(PAGE_META) or request.meta.get(BUDGETED_META):
            return
        if self.memory.take_budget() > self.max_pages:
            self.stats.inc_value(stat_key("skipped", PAGE_BUDGET))
            raise BlockedRequest(f"page budget of {self.max_pages} reached", PAGE_BUDGET)
        request.meta[BUDGETED_META] = True


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (429, 5xx, timeouts, connection errors), each one after a growing wait.

    The n-th retry of a request waits HYPEWATCH_RETRY_BACKOFF * 2**(n-1) seconds, or what the
    server's Retry-After asks, capped at HYPEWATCH_RETRY_BACKOFF_MAX. A 429 or 503 with a
    Retry-After slows the whole site down as long (`crawler.politeness.slow_down`), retried or
    not; the crawl of other sites goes on meanwhile.
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("HYPEWATCH_RETRY_BACKOFF")
        self.backoff_max = settings.getfloat("HYPEWATCH_RETRY_BACKOFF_MAX")

    # Scrapy awaits a downloader middleware's coroutine methods; its RetryMiddleware types them as
    # plain ones (still taking the deprecated `spider`), hence the overrides' ignores.
    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        wait = retry_after_delay(response.status, response.headers.get(b"Retry-After"), cap=self.backoff_max)
        downloader = running_downloader(self.crawler) if wait is not None else None
        if wait is not None and downloader is not None:
            slow_down(downloader, request, wait)
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await asyncio.sleep(self._delay(result, response))
        return result

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await asyncio.sleep(self._delay(result, None))
        return result

    def _delay(self, retry: Request, response: Response | None) -> float:
        attempt = max(1, int(retry.meta.get("retry_times", 1)))
        delay = self.backoff * 2 ** (attempt - 1)
        asked = retry_after_seconds(response.headers.get(b"Retry-After")) if response is not None else None
        if asked is not None:
            delay = max(delay, asked)
        return min(delay, self.backoff_max)

