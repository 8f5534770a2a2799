"""The words a crawl's parts pass to each other, each defined once.

- Request-meta keys: what the spiders, the downloader middlewares and the shared frontier put in
  `request.meta` for one another.
- Drop reasons: why a pipeline rejects a page (`DropItem(reason)`). `extensions.RunStats` counts
  each under `hypewatch/dropped/<reason>`, and the spiders read them back to decide whether a
  dropped page's links are followed. A spider counts there too what it drops before any request
  (`UNDECODABLE_LINK`, `INVALID_LINK`).
- Request failure kinds that more than one module names (`middlewares.BlockedRequest.kind`, the
  spiders' error counts).

The items these words travel with are in `crawler.items`.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------- request.meta keys
PAGE_META: Final = "hypewatch_page"  # requests for candidate articles (not feeds, sitemaps or robots.txt)
DEPTH_META: Final = "hypewatch_depth"  # how many links away from a start URL the page is
BUDGETED_META: Final = "hypewatch_budgeted"  # counted against the page budget already (a retry or redirect)
TOKEN_META: Final = "hypewatch_frontier_token"  # on a request a shared-run worker took: its in-flight entry
PARENT_META: Final = "hypewatch_frontier_parent"  # on a request a taken one produced: the producer's token
HANDOFF_META: Final = "hypewatch_frontier_handoff"  # a taken request handed to an idle engine

# ---------------------------------------------------------------------------- drop reasons
DUPLICATE_URL: Final = "duplicate-url"  # its canonical URL was reached before in this crawl
NOT_HTML: Final = "not-html"
TOO_SHORT: Final = "not-article:too-short"  # fewer words than HYPEWATCH_MIN_ARTICLE_WORDS
LINK_LIST: Final = "not-article:link-list"  # mostly link texts: an index page
DUPLICATE_CONTENT: Final = "duplicate-content"  # the same text under another URL
NOT_SCORED: Final = "not-scored"  # the scoring worker timed out or died
OFF_TOPIC: Final = "off-topic"  # the relevance gate rejected it; its links are not followed
# A feed entry's aggregator link whose publisher URL cannot be read offline (a newer Google News
# id; `crawler.aggregator_links`): counted by the feed spider, never fetched.
UNDECODABLE_LINK: Final = "undecodable-link"
# A feed entry's link that is no fetchable http(s) URL (a broken IPv6 literal, a bad port, another
# scheme, a malformed host; `crawler.urls.parse_web_url`): counted by the feed spider, never fetched.
INVALID_LINK: Final = "invalid-link"


def not_article(extraction_status: str) -> str:
    """The drop reason for a page whose extraction did not come out "ok" (`extract.ExtractionStatus`)."""
    return f"not-article:{extraction_status}"


# ---------------------------------------------------------------------------- request failure kinds
BLOCKED_ADDRESS: Final = "blocked-address"  # a loopback, private or link-local address (netguard)
PAGE_BUDGET: Final = "page-budget"  # HYPEWATCH_MAX_PAGES reached
ROBOTS_DISALLOWED: Final = "robots-disallowed"
SKIPPED_KINDS: Final = (ROBOTS_DISALLOWED, PAGE_BUDGET)  # counted as skipped, not as errors
CONNECTION_FAILED: Final = "connection"  # refused, reset or dropped before a whole response came
TOO_LARGE: Final = "too-large"  # the body outgrew DOWNLOAD_MAXSIZE, as sent or as decompressed
TIMED_OUT: Final = "timeout"
DNS_FAILED: Final = "dns"
# The site could not be reached at all: a run whose every request ended so fetched nothing from a
# working site (`hypewatch.runs.conclude` records it failed, not ok).
UNREACHABLE_KINDS: Final = (CONNECTION_FAILED, TIMED_OUT, DNS_FAILED)
# Errors of ours: a pipeline, the spider or storage failed on a page (not the site's doing).
PIPELINE_FAILED: Final = "pipeline"
SPIDER_FAILED: Final = "spider"
STORAGE_FAILED: Final = "storage"
BROKEN_KINDS: Final = (PIPELINE_FAILED, SPIDER_FAILED, STORAGE_FAILED)
