"""Text and metadata extraction with trafilatura.

An extraction always says how it went. `empty` (no article text found) and `failed` (the
document could not be parsed) are outcomes in their own right: callers must never score them as
"no hype".
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

ExtractionStatus = Literal["ok", "empty", "not-html", "failed"]
MIN_TEXT_CHARS = 40  # below this, what trafilatura returns is page furniture, not an article
LANGUAGE_SAMPLE_CHARS = 3000


@dataclass(frozen=True)
class Extraction:
    status: ExtractionStatus
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    site_name: str | None = None
    language: str | None = None
    reason: str | None = None

    @property
    def chars(self) -> int:
        return len(self.text)


def extract_html(html: str | bytes | Any, url: str | None = None, *, charset: str | None = None,
                 fast: bool = False, with_language: bool = True) -> Extraction:
    """Extract the main text and metadata of an HTML page: its bytes (decoded by their BOM,
    `charset` from the server, or their `<meta>`), its text, or its tree from
    `crawler.html_input.parse_html`.

    Without `with_language`, a language the page does not declare is left unknown rather than
    detected (`detect_language` loads a model: about 0.4 s of CPU, once a process)."""
    # trafilatura (and lxml under it) is imported on first use: a plain-text document never needs it,
    # and `hypewatch check FILE.txt` should not pay for it.
    from crawler.html_input import looks_binary, parse_html

    if isinstance(html, bytes) and looks_binary(html):
        return Extraction("not-html", reason="binary content")
    import trafilatura
    from trafilatura.settings import Document

    try:
        tree = parse_html(html, charset) if isinstance(html, (str, bytes)) else html
        doc = None if tree is None else trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, include_tables=True, fast=fast
        )
    except Exception as exc:  # trafilatura/lxml raise a variety of parser errors on broken input
        logger.debug("extraction failed for %s", url, exc_info=True)
        return Extraction("failed", reason=f"{type(exc).__name__}: {exc}")
    # A Document, or None; bare_extraction returns a dict only when asked to (as_dict=True).
    if not isinstance(doc, Document) or len((doc.text or "").strip()) < MIN_TEXT_CHARS:
        return Extraction("empty", title=getattr(doc, "title", None), reason="no article text found")
    text = (doc.text or "").strip()
    return Extraction(
        "ok",
        text=text,
        title=doc.title or None,
        author=doc.author or None,
        published=parse_date(doc.date),
        site_name=doc.sitename or None,
        language=doc.language or (detect_language(text) if with_language else None),
    )


def extract_plain_text(text: str, *, with_language: bool = True) -> Extraction:
    """A plain-text document: the text itself, its first line as the title when it looks like one
    (and its language, unless not `with_language`: see `extract_html`)."""
    text = text.strip()
    if len(text) < MIN_TEXT_CHARS:
        return Extraction("empty", text=text, reason="no article text found")
    first_line = text.split("\n", 1)[0].strip().lstrip("#").strip()
    title = first_line if 0 < len(first_line) <= 200 and "\n" in text else None
    return Extraction("ok", text=text, title=title, language=detect_language(text) if with_language else None)


def parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


@functools.cache
def _language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if len(sample.strip()) < 20:
        return None
    language, probability = _language_identifier().classify(sample)
    return language if probability >= 0.5 else None
