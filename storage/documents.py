"""What a stored document is: the payloads callers hand to storage and get back, and the rules
for telling one text from another and keeping raw HTML small.

`ExtractedDocument` is a page as the crawler or `hypewatch check` extracted it, `PredictionScores`
a classifier's result for it; storage imports nothing of ours, so callers build these from their
own types. Two texts are the same document version when their `content_fingerprint`s match.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SIGNAL_NAMES, DocumentVersion, Page

_WHITESPACE = re.compile(r"\s+")


def content_fingerprint(text: str) -> str:
    """A hash of the text that ignores case and whitespace, so cosmetic reflows are not changes."""
    normalised = _WHITESPACE.sub(" ", text).strip().casefold()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def compress_html(html: str | bytes | None) -> bytes | None:
    if html is None:
        return None
    raw = html.encode("utf-8") if isinstance(html, str) else html
    return gzip.compress(raw, compresslevel=6)


def decompress_html(blob: bytes | None) -> str | None:
    return None if blob is None else gzip.decompress(blob).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Citation:
    """A reference the text cites (a registry id, named trial, DOI or PMID): `text[start:end]`."""

    kind: str
    identifier: str
    start: int
    end: int


@dataclass(frozen=True)
class ExtractedDocument:
    """What storage needs of an extracted page."""

    url: str
    domain: str
    text: str
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    language: str | None = None
    site_name: str | None = None
    raw_html: str | bytes | None = None
    fetched_at: dt.datetime | None = None
    citations: tuple[Citation, ...] = ()  # stored with the version (`cited_references`)


@dataclass(frozen=True)
class PredictionScores:
    """A classifier's result for one document version, as a `predictions` row keeps it."""

    model_version: str
    relevance: float
    relevant: bool
    hype_score: float
    probabilities: Mapping[str, float]  # signal name (every one of SIGNAL_NAMES) -> probability
    flagged: Mapping[str, bool]  # signal name -> flagged
    # Kept whole as JSON: {"signals": {name: {probability, flagged, evidence}}, "counter_signals": {...}}
    details: Mapping[str, Any]

    @classmethod
    def from_dict(cls, score: Mapping[str, Any]) -> PredictionScores:
        """From a classifier's `DocumentScore.to_dict()` (the form that crosses process boundaries)."""
        signals = score["signals"]
        return cls(
            model_version=score["model_version"],
            relevance=float(score["relevance"]),
            relevant=bool(score["relevant"]),
            hype_score=float(score["hype_score"]),
            probabilities={name: float(signals[name]["probability"]) for name in SIGNAL_NAMES},
            flagged={name: bool(signals[name]["flagged"]) for name in SIGNAL_NAMES},
            details={"signals": signals, "counter_signals": score["counter_signals"]},
        )


StoreStatus = Literal["new", "changed", "unchanged"]


@dataclass(frozen=True)
class StoreResult:
    page_id: int
    version_id: int
    status: StoreStatus


def url_with_content(session: Session, fingerprint: str, *, other_than: str) -> str | None:
    """A stored page, other than `other_than`, whose current text has this fingerprint."""
    return session.scalar(
        select(Page.url)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .where(DocumentVersion.fingerprint == fingerprint, Page.url != other_than)
        .limit(1)
    )
