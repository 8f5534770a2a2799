"""crawler.middlewares: the address guard, the page budget and retry backoff, one request at a time."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.settings import Settings

import crawler.settings as crawl_settings
from crawler.middlewares import (
    BackoffRetryMiddleware,
    BlockedRequest,
    NetGuardMiddleware,
    PageBudgetMiddleware,
    SessionIdMiddleware,
    retry_after_seconds,
    without_session_ids,
)
from crawler.vocabulary import PAGE_META


class Stats:
    def __init__(self):
        self.values = {}

    def inc_value(self, key, count=1):
        self.values[key] = self.values.get(key, 0) + count


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://[::1]/", "http://169.254.169.254/latest",
                                 "http://10.1.2.3/", "http://localhost/"])
def test_netguard_refuses_non_public_addresses(url):
    guard = NetGuardMiddleware(allow_private=False)
    with pytest.raises(BlockedRequest) as refused:
        asyncio.run(guard.process_request(Request(url)))
    assert refused.value.kind == "blocked-address"


def test_netguard_allows_private_addresses_when_the_source_does():
    guard = NetGuardMiddleware(allow_private=True)
    assert asyncio.run(guard.process_request(Request("http://127.0.0.1:8080/"))) is None


def test_page_budget_counts_pages_once():
    budget = PageBudgetMiddleware(max_pages=2, stats=Stats())
    first = Request("http://a.example/1", meta={PAGE_META: True})
    budget.process_request(first)
    budget.process_request(first.replace(url="http://a.example/1b"))  # its redirect or retry: meta copied
    budget.process_request(Request("http://a.example/feed.xml"))  # not a page: free
    budget.process_request(Request("http://a.example/2", meta={PAGE_META: True}))
    with pytest.raises(BlockedRequest) as refused:
        budget.process_request(Request("http://a.example/3", meta={PAGE_META: True}))
    assert refused.value.kind == "page-budget" and budget.stats.values == {"hypewatch/skipped/page-budget": 1}


def test_retry_after_header():
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(b"Wed, 04 Mar 2026 12:00:30 GMT", now=1772625600.0) == 30.0
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None


def test_backoff_doubles_and_honours_retry_after_within_the_cap():
    settings = Settings()
    settings.setmodule(crawl_settings)
    middleware = BackoffRetryMiddleware(settings)
    request = Request("http://a.example/")
    assert middleware._delay(request.replace(meta={"retry_times": 1}), None) == 1.0
    assert middleware._delay(request.replace(meta={"retry_times": 2}), None) == 2.0
    busy = Response("http://a.example/", status=429, headers={"Retry-After": "12"})
    assert middleware._delay(request.replace(meta={"retry_times": 1}), busy) == 12.0
    very_busy = Response("http://a.example/", status=429, headers={"Retry-After": "3600"})
    assert middleware._delay(request.replace(meta={"retry_times": 1}), very_busy) == 30.0


def test_every_request_waiting_for_robots_txt_is_checked_against_it():
    """Scrapy 2.19 let all but the first request waiting for a site's robots.txt through unchecked."""
    from scrapy.robotstxt import ProtegoRobotParser
    from scrapy.utils.misc import build_from_crawler
    from scrapy.utils.test import get_crawler
    from twisted.internet.defer import Deferred

    from crawler.middlewares import RobotsTxtMiddleware

    async def three_requests_wait_then_robots_txt_arrives():
        crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
        middleware = RobotsTxtMiddleware(crawler)
        download = Deferred()
        middleware._parsers["a.example"] = download  # robots.txt is being fetched
        waiting = [asyncio.ensure_future(middleware.process_request(Request(f"http://a.example/private/{n}")))
                   for n in range(3)]
        await asyncio.sleep(0)
        parser = build_from_crawler(ProtegoRobotParser, crawler, b"User-agent: *\nDisallow: /private/\n")
        middleware._parsers["a.example"] = parser
        download.callback(parser)
        return await asyncio.gather(*waiting, return_exceptions=True)

    outcomes = asyncio.run(three_requests_wait_then_robots_txt_arrives())
    assert [str(outcome) for outcome in outcomes] == ["Forbidden by robots.txt"] * 3


@pytest.mark.parametrize(("url", "expected"), [
    ("http://a.example/x;jsessionid=ABC123?page=2", "http://a.example/x?page=2"),
    ("http://a.example/x;JSESSIONID=1;v=2/y", "http://a.example/x;v=2/y"),
    ("http://a.example/x?sid=9&id=4&id=5#top", "http://a.example/x?id=4&id=5#top"),
    ("http://a.example/x?PHPSESSID=zz", "http://a.example/x"),
    ("http://a.example/news?id=1&side=left", "http://a.example/news?id=1&side=left"),
])
def test_session_ids_are_removed(url, expected):
    assert without_session_ids(url) == expected


def test_a_request_with_a_session_id_is_replaced_by_one_without():
    request = Request("http://a.example/article;jsessionid=42?sid=7", meta={PAGE_META: True})
    replaced = SessionIdMiddleware().process_request(request)
    assert replaced is not None and replaced.url == "http://a.example/article" and replaced.meta[PAGE_META]
    assert SessionIdMiddleware().process_request(replaced) is None


@pytest.mark.parametrize(("status", "forbidden"), [(500, True), (503, True), (404, False)])
def test_a_robots_txt_the_server_fails_to_serve_disallows_everything(status, forbidden):
    """RFC 9309 2.3.1.4: a 5xx robots.txt means complete disallow (Scrapy parsed the error page)."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.utils.test import get_crawler
    from twisted.internet.defer import Deferred

    from crawler.middlewares import RobotsTxtMiddleware

    async def robots_txt_answers_then_a_page_is_asked_for():
        middleware = RobotsTxtMiddleware(get_crawler(settings_dict={"ROBOTSTXT_OBEY": True}))
        middleware._parsers["a.example"] = Deferred()  # robots.txt is being fetched
        page = Request("http://a.example/article")
        answer = Response("http://a.example/robots.txt", status=status, body=b"<html>Internal error</html>")
        await middleware._parse_robots(answer, "a.example", page)
        return await middleware.process_request(page)

    if forbidden:
        with pytest.raises(IgnoreRequest, match="Forbidden by robots.txt"):
            asyncio.run(robots_txt_answers_then_a_page_is_asked_for())
    else:
        assert asyncio.run(robots_txt_answers_then_a_page_is_asked_for()) is None
