"""Item pipelines, one concern each, in this order:

1. CanonicalUrlPipeline     the page's canonical URL (tracking parameters gone, normalised).
2. DuplicateUrlPipeline     drops a canonical URL already seen in this crawl ("duplicate-url").
3. ExtractionPipeline       text and metadata, extracted in the crawl's extraction processes (off
                            the reactor thread); drops what is not an article ("not-html", "not-article:<why>").
4. DuplicateContentPipeline drops the same text under another URL ("duplicate-content").
5. ScoringPipeline          the hype model's scores, in the same extraction processes; drops
                            what its relevance gate rejects ("off-topic"), except pages that name
                            MS and a cell treatment (`classifier.topic`, also checked there): those are kept, counted
                            ("kept"), and stored with their relevance figure.
6. StoragePipeline          idempotent upsert (a version only when the text changed), in batches,
                            with the references the text cites (`crawler.citations`).

Every reason a pipeline drops an item for (`crawler.vocabulary`) is counted by `extensions.RunStats`.
In a shared crawl what the duplicate pipelines have seen is the whole run's, over all its workers
(`crawler.run_memory`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import time
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem

from crawler.articles import ArticleExtraction
from crawler.citations import citations
from crawler.counts import KEPT, stat_key
from crawler.extract import Extraction
from crawler.fetch import HTML_TYPES, looks_like_html
from crawler.items import PageItem
from crawler.run_memory import LocalRunMemory, RunMemory, run_memory
from crawler.signals import batch_stored
from crawler.urls import canonical_url
from crawler.vocabulary import (
    DUPLICATE_CONTENT,
    DUPLICATE_URL,
    LINK_LIST,
    NOT_HTML,
    NOT_SCORED,
    OFF_TOPIC,
    STORAGE_FAILED,
    TOO_SHORT,
    not_article,
)
from crawler.workers import ProcessWorkers, extract_page, extraction_processes, score_text
from storage.db import Database
from storage.documents import ExtractedDocument, PredictionScores, content_fingerprint, url_with_content
from storage.repository import upsert_source
from storage.writes import PendingDocument, store_batch

logger = logging.getLogger(__name__)

STORAGE_ERRORS = stat_key("errors", STORAGE_FAILED)


# What the earlier pipelines filled in, for the later ones (each runs only after those before it).
def _canonical_url(item: PageItem) -> str:
    assert item.canonical_url is not None, "CanonicalUrlPipeline runs first"
    return item.canonical_url


def _extraction(item: PageItem) -> Extraction:
    assert item.extraction is not None, "ExtractionPipeline runs before"
    return item.extraction


# ---------------------------------------------------------------------------- 1. canonical URL
class CanonicalUrlPipeline:
    """The URL a page is stored under: its declared canonical when that stays on the same host,
    otherwise the URL it was served from; tracking parameters removed either way."""

    def process_item(self, item: PageItem) -> PageItem:
        served = canonical_url(item.response_url)
        declared = canonical_url(item.declared_canonical) if item.declared_canonical else None
        same_host = declared and urlsplit(declared).netloc == urlsplit(served).netloc
        item.canonical_url = declared if same_host and urlsplit(declared).scheme in ("http", "https") else served
        return item


# ---------------------------------------------------------------------------- 2. duplicate URL
class DuplicateUrlPipeline:
    """Each canonical URL once per crawl (the same page reached through differently-tagged links).

    The first requested URL to reach a canonical URL owns it: a later one is a duplicate, and the
    same request crawled again (after a lost worker, in a shared crawl) is not."""

    def __init__(self, memory: RunMemory | None = None) -> None:
        self.memory = memory or LocalRunMemory()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(run_memory(crawler.settings))

    def process_item(self, item: PageItem) -> PageItem:
        if self.memory.claim("urls", _canonical_url(item), item.url) != item.url:
            raise DropItem(DUPLICATE_URL)
        return item


# ---------------------------------------------------------------------------- 3. extraction
class ExtractionPipeline:
    """Extracts text in the crawl's extraction processes, so the reactor keeps fetching meanwhile."""

    def __init__(self, workers: ProcessWorkers, timeout: float, min_words: int, max_link_ratio: float,
                 max_pending: int):
        self.workers = workers
        self.timeout = timeout
        self.min_words = min_words
        self.max_link_ratio = max_link_ratio
        # Backpressure: at most this many pages wait for a worker at once.
        self.slots = asyncio.Semaphore(max_pending)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        workers = extraction_processes(crawler)
        return cls(workers, timeout=settings.getfloat("HYPEWATCH_EXTRACTION_TIMEOUT"),
                   min_words=settings.getint("HYPEWATCH_MIN_ARTICLE_WORDS"),
                   max_link_ratio=settings.getfloat("HYPEWATCH_MAX_LINK_RATIO"), max_pending=4 * workers.processes)

    async def open_spider(self) -> None:
        await self.workers.open()

    def close_spider(self) -> None:
        self.workers.close()

    async def process_item(self, item: PageItem) -> PageItem:
        if not _is_html(item):
            raise DropItem(NOT_HTML)
        result = await self._extract(item)
        extraction = result.extraction
        if extraction.status != "ok":
            raise DropItem(not_article(extraction.status))
        if len(extraction.text.split()) < self.min_words:
            raise DropItem(TOO_SHORT)
        if result.link_ratio > self.max_link_ratio:
            raise DropItem(LINK_LIST)
        item.extraction = extraction
        item.raw_html_gz = result.raw_html_gz
        item.body = b""  # the compressed copy is all that is kept; free the memory early
        return item

    async def _extract(self, item: PageItem) -> ArticleExtraction:
        async with self.slots:
            try:
                return await self.workers.run(extract_page, item.body, item.response_url, item.charset,
                                              timeout=self.timeout)
            except TimeoutError:
                logger.warning("extraction of %s took over %.0f s; given up", item.response_url, self.timeout)
                return ArticleExtraction(Extraction("failed", reason="extraction timed out"))
            except concurrent.futures.process.BrokenProcessPool:
                return ArticleExtraction(Extraction("failed", reason="extraction worker died"))


def _is_html(item: PageItem) -> bool:
    if item.content_type:
        return item.content_type in HTML_TYPES
    return looks_like_html(item.body)


# ---------------------------------------------------------------------------- 4. duplicate content
class DuplicateContentPipeline:
    """Drops a page whose text is already stored, or already seen in this crawl, under another URL
    (mirrors, print and AMP versions, syndicated copies)."""

    def __init__(self, database_url: str, memory: RunMemory | None = None):
        self.database_url = database_url
        self.memory = memory or LocalRunMemory()
        self.database: Database | None = None  # opened with the spider

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("HYPEWATCH_DATABASE_URL"), run_memory(crawler.settings))

    def open_spider(self) -> None:
        self.database = Database(self.database_url)

    def close_spider(self) -> None:
        if self.database is not None:
            self.database.close()

    def process_item(self, item: PageItem) -> PageItem:
        url = _canonical_url(item)
        item.fingerprint = fingerprint = content_fingerprint(_extraction(item).text)
        if self.memory.claim("content", fingerprint, url) != url:
            raise DropItem(DUPLICATE_CONTENT)
        assert self.database is not None, "open_spider opens it"
        with self.database.session() as session:
            if url_with_content(session, fingerprint, other_than=url):
                raise DropItem(DUPLICATE_CONTENT)
        return item


# ---------------------------------------------------------------------------- 5. scoring
class ScoringPipeline:
    """Scores each page with the crawl's model (in an extraction process); off-topic pages go no further,
    unless they name both MS and a cell treatment: the gate can be wrong, and a page it drops is
    never seen. Such a page is stored as the model judged it (not relevant, so out of trends and
    flags) where an analyst can find and label it."""

    def __init__(self, workers: ProcessWorkers, timeout: float, store_off_topic: bool, stats=None):
        self.workers = workers
        self.timeout = timeout
        self.store_off_topic = store_off_topic
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(extraction_processes(crawler), settings.getfloat("HYPEWATCH_EXTRACTION_TIMEOUT"),
                   settings.getbool("HYPEWATCH_STORE_OFF_TOPIC"), crawler.stats)

    async def open_spider(self) -> None:
        await self.workers.open()

    def close_spider(self) -> None:
        self.workers.close()

    async def process_item(self, item: PageItem) -> PageItem:
        try:
            scored = await self.workers.run(score_text, _extraction(item).text, timeout=self.timeout)
        except (TimeoutError, concurrent.futures.process.BrokenProcessPool):
            raise DropItem(NOT_SCORED) from None
        item.score = scored.scores
        if not item.score["relevant"]:
            if scored.names_topic:
                if self.stats is not None:
                    self.stats.inc_value(KEPT)
            elif not self.store_off_topic:
                raise DropItem(OFF_TOPIC)
        return item


# ---------------------------------------------------------------------------- 6. storage
class StoragePipeline:
    """Stores pages in batches: one transaction per HYPEWATCH_BATCH_SIZE pages (or per
    HYPEWATCH_BATCH_SECONDS), written by one background thread so the reactor never waits on the
    database. A batch that fails is retried page by page, so one bad page costs only itself.
    Once a batch is written its items go out with the `batch_stored` signal."""

    def __init__(self, stats, database_url: str, source: dict, batch_size: int, batch_seconds: float,
                 signals=None):
        self.stats = stats
        self.signals = signals
        self.database_url = database_url
        self.source = source
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.pending: list[PendingDocument] = []
        self.pending_items: list[PageItem] = []
        self.oldest: float | None = None
        self.writer: concurrent.futures.ThreadPoolExecutor | None = None
        self.writing: asyncio.Future | None = None
        self.ticker: asyncio.Task | None = None
        self.database: Database | None = None  # opened with the spider, with the writer thread
        self.source_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(crawler.stats, settings.get("HYPEWATCH_DATABASE_URL"), settings.getdict("HYPEWATCH_SOURCE"),
                   settings.getint("HYPEWATCH_BATCH_SIZE"), settings.getfloat("HYPEWATCH_BATCH_SECONDS"),
                   crawler.signals)

    def open_spider(self) -> None:
        self.database = database = Database(self.database_url)
        with database.session() as session:
            self.source_id = upsert_source(session, self.source["name"], self.source["kind"], self.source).id
        self.writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hypewatch-store")
        self.ticker = asyncio.ensure_future(self._flush_old_batches())

    async def _flush_old_batches(self) -> None:
        # A partial batch is written once it is HYPEWATCH_BATCH_SECONDS old even when no page follows.
        while True:
            await asyncio.sleep(self.batch_seconds / 2)
            if self.oldest is not None and time.monotonic() - self.oldest >= self.batch_seconds:
                await self._flush()

    async def close_spider(self) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        await self._flush()
        if self.writing is not None:
            await self.writing
        assert self.writer is not None and self.database is not None, "open_spider opens them"
        self.writer.shutdown(wait=True)
        self.database.close()

    async def process_item(self, item: PageItem) -> PageItem:
        scores = PredictionScores.from_dict(item.score) if item.score is not None else None
        self.pending.append(PendingDocument(_document(item), scores, item.raw_html_gz))
        self.pending_items.append(item)
        self.oldest = self.oldest or time.monotonic()
        if len(self.pending) >= self.batch_size or time.monotonic() - self.oldest >= self.batch_seconds:
            await self._flush()
        return item

    async def _flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending, self.oldest = self.pending, [], None
        items, self.pending_items = self.pending_items, []
        if self.writing is not None:  # one batch in flight at a time: backpressure on the crawl
            await self.writing
        loop = asyncio.get_running_loop()
        self.writing = loop.run_in_executor(self.writer, self._write, batch)
        self.writing.add_done_callback(functools.partial(self._count, items))

    def _write(self, batch: list[PendingDocument]) -> list[str]:
        database = self.database
        assert database is not None, "open_spider opens it"
        try:
            with database.session() as session:
                return [r.status for r in store_batch(session, batch, source_id=self.source_id)]
        except Exception:
            logger.warning("storing a batch of %d pages failed; storing them one by one", len(batch), exc_info=True)
        statuses: list[str] = []
        for pending in batch:
            try:
                with database.session() as session:
                    statuses.extend(r.status for r in store_batch(session, [pending], source_id=self.source_id))
            except Exception:
                logger.exception("could not store %s", pending.document.url)
                statuses.append("error")
        return statuses

    def _count(self, items: list[PageItem], future: asyncio.Future) -> None:
        if future.cancelled() or future.exception() is not None:
            self.stats.inc_value(STORAGE_ERRORS)
        else:
            for status in future.result():
                self.stats.inc_value(STORAGE_ERRORS if status == "error" else stat_key("stored", status))
        if self.signals is not None:
            self.signals.send_catch_log(signal=batch_stored, items=items)


def _document(item: PageItem) -> ExtractedDocument:
    extraction = _extraction(item)
    url = _canonical_url(item)
    return ExtractedDocument(
        url=url,
        domain=urlsplit(url).hostname or "",
        text=extraction.text,
        title=extraction.title,
        author=extraction.author,
        published=extraction.published,
        language=extraction.language,
        site_name=extraction.site_name,
        raw_html=None,  # stored from item.raw_html_gz
        fetched_at=item.fetched_at,
        citations=citations(extraction.text),
    )
