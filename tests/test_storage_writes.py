"""storage.writes: batch stores, and single stores agreeing with them (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.documents import ExtractedDocument, PredictionScores, content_fingerprint, url_with_content
from storage.models import SIGNAL_NAMES, DocumentVersion, Page, Prediction
from storage.repository import register_model_version
from storage.writes import PendingDocument, replace_prediction, store_batch, store_document, store_prediction
from tests.conftest import BACKENDS


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.close()


def score(model: str, relevance: float = 0.9) -> PredictionScores:
    signals = {name: {"probability": 0.5, "flagged": False, "evidence": []} for name in SIGNAL_NAMES}
    return PredictionScores.from_dict({"relevance": relevance, "relevant": True, "hype_score": 40.0, "signals": signals,
                                       "counter_signals": {}, "model_version": model})


def text(n: int) -> str:
    return f"Version {n}: stem cell transplantation for multiple sclerosis was studied in a randomised trial. " * 3


def doc(url: str, n: int) -> ExtractedDocument:
    return ExtractedDocument(url=url, domain="a.example", text=text(n), title=f"T{n}", raw_html=f"<p>{n}</p>".encode())


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_batch_store_adds_versions_only_for_changed_text(db):
    with db.session() as session:
        for model in ("m1", "m2"):
            register_model_version(session, model, file_sha256="0" * 64)
    a, b = "https://a.example/1", "https://a.example/2"

    def store(*pending):
        with db.session() as session:
            return [r.status for r in store_batch(session, list(pending), source_id=None)]

    assert store(PendingDocument(doc(a, 1), score("m1")), PendingDocument(doc(b, 1), None)) == ["new", "new"]
    assert store(PendingDocument(doc(a, 1), score("m1")), PendingDocument(doc(b, 2), score("m1"))) == [
        "unchanged", "changed"]
    assert store(PendingDocument(doc(b, 1), score("m1"))) == ["changed"]  # back to the first text
    assert store(PendingDocument(doc(a, 1), score("m2"))) == ["unchanged"]  # a newer model's prediction
    with db.session() as session:
        assert session.scalar(select(func.count(DocumentVersion.id))) == 3  # a1, b1, b2
        page_a = session.scalars(select(Page).where(Page.url == a)).one()
        page_b = session.scalars(select(Page).where(Page.url == b)).one()
        assert session.get(DocumentVersion, page_b.current_version_id).fingerprint == content_fingerprint(text(1))
        current = session.get(Prediction, page_a.current_prediction_id)
        assert current.model_version == "m2" and current.version_id == page_a.current_version_id
        assert session.get(DocumentVersion, page_a.current_version_id).raw_html_gz is not None
        # one store at a time (store_document) agrees with the batches
        assert store_document(session, doc(a, 1)).status == "unchanged"
        assert url_with_content(session, content_fingerprint(text(1)), other_than=b) == a
        assert url_with_content(session, content_fingerprint(text(2)), other_than=b) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_batch_stores_of_the_same_pages_store_each_once(db):
    """Crawl workers on several machines store overlapping batches at once: no deadlock, no error,
    one page, one version and one prediction per URL."""
    with db.session() as session:
        register_model_version(session, "m1", file_sha256="0" * 64)
    pending = [PendingDocument(doc(f"https://a.example/{n}", n), score("m1")) for n in range(40)]
    errors = []

    def store(batch):
        try:
            for _ in range(5):
                with db.session() as session:
                    store_batch(session, batch, source_id=None)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)

    orders = (pending, pending[::-1], pending[5:] + pending[:5])
    threads = [threading.Thread(target=store, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.session() as session:
        assert session.scalar(select(func.count(Page.id))) == 40
        assert session.scalar(select(func.count(DocumentVersion.id))) == 40
        assert session.scalar(select(func.count(Prediction.id))) == 40
        assert session.scalar(select(func.count(Page.id)).where(Page.current_prediction_id.is_(None))) == 0


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_replacing_a_prediction_writes_a_new_row_the_page_points_to(db):
    with db.session() as session:
        for model in ("m1", "m2"):
            register_model_version(session, model, file_sha256="0" * 64)
        stored = store_document(session, doc("https://a.example/1", 1))
        assert not replace_prediction(session, stored.version_id, score("m1"))  # nothing to replace: nothing added
        assert session.scalar(select(func.count(Prediction.id))) == 0
        first = store_prediction(session, stored.version_id, score("m1")).id
        other = store_prediction(session, stored.version_id, score("m2")).id
        assert not replace_prediction(session, stored.version_id, score("m1"))  # the same scores: left alone
        assert replace_prediction(session, stored.version_id, score("m2", relevance=0.7))
        rows = session.scalars(select(Prediction).where(Prediction.version_id == stored.version_id)).all()
        assert {(r.model_version, r.relevance) for r in rows} == {("m1", 0.9), ("m2", 0.7)}
        replaced = next(r.id for r in rows if r.model_version == "m2")
        assert replaced > other and first in {r.id for r in rows}
        assert session.get(Page, stored.page_id).current_prediction_id == replaced
