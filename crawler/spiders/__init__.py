"""hypewatch's spiders, one per source kind (site, feed and sitemap), and how to pick one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from scrapy import Request

from crawler.spiders.base import HypewatchSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.site import SiteSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS: dict[str, type[HypewatchSpider]] = {spider.name: spider for spider in (SiteSpider, FeedSpider, SitemapSpider)}


def spider_for(kind: str) -> type[HypewatchSpider]:
    return SPIDERS[kind]


async def _collect(requests: AsyncIterator[Any]) -> list[Request]:
    return [request async for request in requests]


def start_requests(source: Mapping[str, Any]) -> tuple[HypewatchSpider, list[Request]]:
    """The spider for `source` (without a crawler) and its start requests, to publish a shared run with."""
    spider = spider_for(source["kind"])(dict(source))
    return spider, asyncio.run(_collect(spider.start()))
