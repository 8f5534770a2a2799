"""Items: what a spider hands to the pipelines, and what each pipeline adds.

The request-meta keys and drop reasons that go with them are in `crawler.vocabulary`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from crawler.extract import Extraction


@dataclass
class PageLink:
    url: str
    priority: int = 0


@dataclass
class PageItem:
    """A fetched page on its way through the pipelines.

    Set by the spider: the URLs, the raw body and the links to follow if the page turns out to be
    on topic. Each pipeline fills in its own field (canonical URL, extraction, fingerprint, score,
    storage status); a pipeline that rejects the page raises `DropItem(reason)`, with one of the
    reasons in `crawler.vocabulary`.
    """

    url: str  # as requested
    response_url: str  # after redirects
    body: bytes
    content_type: str = ""
    charset: str | None = None  # the encoding the Content-Type header declares, if any
    declared_canonical: str | None = None  # <link rel="canonical">, when the page has one
    depth: int = 0
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    links: list[PageLink] = field(default_factory=list)

    canonical_url: str | None = None
    extraction: Extraction | None = None
    raw_html_gz: bytes | None = None  # compressed by the extraction worker, for storage
    fingerprint: str | None = None
    score: dict[str, Any] | None = None
    store_status: str | None = None  # new | changed | unchanged
    frontier_token: str | None = None  # in a shared crawl: the taken request this page came from

    def __repr__(self) -> str:  # Scrapy logs dropped items; never dump a whole page body there
        return f"PageItem({self.canonical_url or self.response_url!r}, depth={self.depth})"
