"""RSS (0.9x, 1.0, 2.0) and Atom feeds: the entries' links, titles and dates.

Parsed with lxml without entity resolution or network access, so a hostile feed cannot read
local files or make the parser fetch anything. An entry's link is its original one where the feed
gives it (`feedburner:origLink`, beside a feedproxy redirect); links that aggregators wrap around
a publisher's URL in other ways are decoded by `crawler.aggregator_links`. A hostile link never
stops the parse: it is handed on as written, and the feed spider drops it (`INVALID_LINK`).
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree

# The advertised feed types `parse_feed` can read (a JSON Feed it cannot, so it is not followed).
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
ORIGINAL_LINK = "origlink"  # feedburner:origLink (local names are compared lower-cased)


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str = ""
    published: dt.datetime | None = None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False,
                           remove_comments=True, remove_pis=True)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _children(element, name: str) -> list:
    return [child for child in element if _local(child.tag) == name]


def _text(element, name: str) -> str:
    for child in _children(element, name):
        return (child.text or "").strip()
    return ""


def parse_feed(body: bytes, base_url: str) -> list[FeedEntry] | None:
    """The entries of an RSS or Atom document, or None when `body` is not a feed."""
    try:
        root = etree.fromstring(body.lstrip(), parser=_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    kind = _local(root.tag)
    if kind == "rss":
        items = [item for channel in _children(root, "channel") for item in _children(channel, "item")]
        return _entries(items, base_url, _rss_link)
    if kind == "rdf":  # RSS 1.0: items are siblings of the channel
        return _entries(_children(root, "item"), base_url, _rss_link)
    if kind == "feed":
        return _entries(_children(root, "entry"), base_url, _atom_link)
    return None


def _entries(elements, base_url: str, link_of) -> list[FeedEntry]:
    entries = []
    for element in elements:
        # feedburner (and its imitators) point `link` at their own redirector and keep the
        # publisher's URL beside it: fetching that skips a hop and the redirector's robots.txt.
        link = _text(element, ORIGINAL_LINK) or link_of(element)
        if not link:
            continue
        published = _date(_text(element, "pubdate") or _text(element, "published") or _text(element, "updated")
                          or _text(element, "date"))
        entries.append(FeedEntry(_resolved(base_url, link), _text(element, "title"), published))
    return entries


def _resolved(base_url: str, link: str) -> str:
    """`link` made absolute against the feed's URL; a link `urljoin` cannot take (a broken IPv6
    literal) is left as written, for the spider's URL check to reject with the others."""
    try:
        return urljoin(base_url, link)
    except ValueError:
        return link


def _rss_link(item) -> str:
    link = _text(item, "link")
    if link:
        return link
    for guid in _children(item, "guid"):
        if (guid.get("isPermaLink") or "true").lower() == "true" and (guid.text or "").strip().startswith("http"):
            return guid.text.strip()
    return ""


def _atom_link(entry) -> str:
    links = _children(entry, "link")
    for link in links:
        if (link.get("rel") or "alternate") == "alternate" and link.get("href"):
            return link.get("href").strip()
    return links[0].get("href", "").strip() if links else ""


def _date(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
