"""Article extraction as the crawl's worker processes run it: trafilatura plus a link-list check.

Kept free of Scrapy, storage and the classifier so a worker process starts quickly.

trafilatura returns *something* for most pages; on an index or section page that something is a
list of headlines. Such a text is mostly the anchor texts of the page's own links, which an
article's paragraphs are not; `link_ratio` measures that share.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass

from crawler.extract import Extraction, extract_html
from crawler.html_input import looks_binary, parse_html

RAW_HTML_GZIP_LEVEL = 6  # as storage.documents.compress_html
_SPACE = re.compile(r"\s+")
_BULLET = re.compile(r"^(?:[-*\u2022\u00b7]|\d{1,3}[.)])\s+")  # trafilatura writes list items as "- item"


@dataclass(frozen=True)
class ArticleExtraction:
    extraction: Extraction
    link_ratio: float = 0.0  # share of the text's characters that are the page's own link texts
    raw_html_gz: bytes | None = None  # the page, compressed for storage (here, off the crawl's main process)


def extract_article(body: bytes, url: str | None = None, charset: str | None = None) -> ArticleExtraction:
    """trafilatura's extraction, plus the link-list check, from one parse of the page.

    `charset` is the encoding the server declared (`crawler.charset.header_charset`).
    """
    tree = _parse(body, charset)
    anchors = _anchor_texts(tree) if tree is not None else set()
    # trafilatura takes the parsed tree as it takes bytes (its load_html passes a tree through).
    extraction = extract_html(tree if tree is not None else body, url)
    if extraction.status != "ok":
        return ArticleExtraction(extraction)
    ratio = link_ratio(anchors, extraction.text)
    return ArticleExtraction(extraction, ratio, gzip.compress(body, compresslevel=RAW_HTML_GZIP_LEVEL))


def link_ratio(anchors: set[str], text: str) -> float:
    """The share of `text` (by characters, line by line) that is one of the page's link texts."""
    if not anchors:
        return 0.0
    total = linked = 0
    for line in text.splitlines():
        line = _normalise(_BULLET.sub("", line.strip()))
        if not line:
            continue
        total += len(line)
        if line in anchors:
            linked += len(line)
    return linked / total if total else 0.0


def _parse(body: bytes, charset: str | None):
    if looks_binary(body):
        return None  # binary: extract_html says so
    return parse_html(body, charset)


def _anchor_texts(tree) -> set[str]:
    return {text for anchor in tree.iter("a") if (text := _normalise(anchor.text_content()))}


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()

