"""Full-text search over stored pages, from a private SQLite FTS5 index beside the database.

Matching every word against 100,000 texts with LIKE reads all of them (seconds); an inverted
index answers in milliseconds. The index is derived data, like a cache: it lives in its own file
(HYPEWATCH_HOME/cache/), holds each document version's title, text and URL, is filled in the
background when the dashboard starts and then follows new versions by id. It works the same
whichever database hypewatch uses, and it can be deleted at any time: it is rebuilt. Until it
has caught up, searches fall back to LIKE in the database.

Query words match words and word beginnings ("clinic" finds "clinics"), case- and
accent-insensitively; every word must occur.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import DocumentVersion, Page

logger = logging.getLogger(__name__)

BATCH = 1000
# Letters and digits, as the index's unicode61 tokenizer reads words: an underscore or any other
# separator inside a query word would make it a phrase, which an index without positions refuses.
WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORDS = 6


def query_words(q: str) -> list[str]:
    return WORD.findall(q.casefold())[:MAX_WORDS]


class SearchIndex:
    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self.indexed_to = 0  # highest document version id indexed
        self.identity: str | None = None

    # ---------------------------------------------------------------- storage
    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            target = ":memory:"
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                target = str(self.path)
            connection = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # derived data: a crash means a rebuild
            connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            # Contentless (the texts stay in the database) and without word positions (every query
            # is words ANDed): the index holds only which words occur in which version.
            connection.execute("CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(title, body, url, content = '', "
                               "tokenize = 'unicode61 remove_diacritics 2', detail = none)")
            meta = dict(connection.execute("SELECT key, value FROM meta"))
            self.indexed_to = int(meta.get("indexed_to", 0))
            self.identity = meta.get("identity")
            self._connection = connection
        return self._connection

    def _reset(self, connection: sqlite3.Connection, identity: str) -> None:
        connection.execute("INSERT INTO docs (docs) VALUES ('delete-all')")
        connection.execute("DELETE FROM meta")
        connection.execute("INSERT INTO meta VALUES ('identity', ?)", (identity,))
        self.indexed_to, self.identity = 0, identity

    # ---------------------------------------------------------------- keeping up
    def sync(self, session: Session, newest_version: int, *, max_batches: int | None = None) -> bool:
        """Index versions up to `newest_version`; True when caught up (then searches use the index)."""
        with self._lock:
            connection = self._connect()
            identity = database_identity(session)
            if identity != self.identity or newest_version < self.indexed_to:
                self._reset(connection, identity)  # another database, or rows were removed
            batches = 0
            while self.indexed_to < newest_version:
                if max_batches is not None and batches >= max_batches:
                    return False
                if not self._index_batch(session, connection):
                    break
                batches += 1
            return True

    def try_sync(self, session: Session, newest_version: int, max_batches: int) -> bool:
        """`sync` unless someone else is indexing right now (then False at once: search falls back)."""
        if not self._lock.acquire(timeout=0.2):
            return False
        self._lock.release()
        return self.sync(session, newest_version, max_batches=max_batches)

    def _index_batch(self, session: Session, connection: sqlite3.Connection) -> int:
        rows = session.execute(
            select(DocumentVersion.id, DocumentVersion.title, DocumentVersion.text, Page.url)
            .join(Page, Page.id == DocumentVersion.page_id)
            .where(DocumentVersion.id > self.indexed_to).order_by(DocumentVersion.id).limit(BATCH)
        ).all()
        if not rows:
            return 0
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO docs (rowid, title, body, url) VALUES (?, ?, ?, ?)",
                               [(r[0], r[1] or "", r[2], r[3]) for r in rows])
        self.indexed_to = rows[-1][0]
        connection.execute("INSERT OR REPLACE INTO meta VALUES ('indexed_to', ?)", (str(self.indexed_to),))
        connection.execute("COMMIT")
        return len(rows)

    def caught_up(self, newest_version: int) -> bool:
        return self._connection is not None and self.indexed_to >= newest_version

    # ---------------------------------------------------------------- searching
    def version_ids(self, q: str) -> np.ndarray:
        words = query_words(q)
        if not words:
            return np.array([], dtype=np.int64)
        match = " AND ".join(f'"{w}"*' for w in words)
        with self._lock:
            rows = self._connect().execute("SELECT rowid FROM docs WHERE docs MATCH ?", (match,)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def database_identity(session: Session) -> str:
    """Tells databases apart, even one recreated at the same URL: the URL and the first stored
    version (its fetch time is to the microsecond)."""
    first = session.execute(select(DocumentVersion.id, DocumentVersion.fingerprint, DocumentVersion.fetched_at)
                            .order_by(DocumentVersion.id).limit(1)).first()
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(f"{url}|{first}".encode()).hexdigest()[:16]


def index_path(cache_dir: Path, database_url: str) -> Path:
    """One index file per database, under the given cache directory."""
    return cache_dir / f"search-{hashlib.sha256(database_url.encode()).hexdigest()[:12]}.sqlite"
