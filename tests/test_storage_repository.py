"""Idempotent writes, labels apart from predictions, sources and the export query, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from conftest import BACKENDS
from sqlalchemy import func, select

from storage.db import Database
from storage.documents import ExtractedDocument, PredictionScores, compress_html, content_fingerprint, decompress_html
from storage.labels import add_label
from storage.models import DocumentVersion, Label, Page, Prediction
from storage.repository import iter_export_rows, register_model_version, upsert_source
from storage.writes import store_document, store_prediction

both_backends = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

SIGNALS = ("cure_claim", "clinic_promotion", "missing_trial_reference", "testimonial", "risk_minimisation")


def a_score(model_version="hm-test", hype=72.5):
    return PredictionScores.from_dict({
        "relevance": 0.93, "relevant": True, "hype_score": hype, "model_version": model_version,
        "signals": {name: {"probability": 0.1 * (i + 1), "flagged": i % 2 == 0,
                           "evidence": [{"text": "It cures MS.", "start": 0, "end": 12, "score": 0.9}]}
                    for i, name in enumerate(SIGNALS)},
        "counter_signals": {name: {"present": False, "evidence": []}
                            for name in ("trial_reference", "risk_disclosure", "regulatory_status", "hedging")},
    })


def a_document(url="https://clinic.example/ms", text="It cures MS. Book now.", **changes):
    values = dict(url=url, domain="clinic.example", text=text, title="Stem cells for MS",
                  published=dt.date(2026, 3, 1), language="en", raw_html="<html><p>It cures MS.</p></html>")
    values.update(changes)
    return ExtractedDocument(**values)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.close()


@both_backends
def test_same_text_twice_stores_one_page_and_one_version(db):
    with db.session() as session:
        first = store_document(session, a_document())
    with db.session() as session:
        second = store_document(session, a_document(text="It  cures MS.\nBook now."))  # whitespace only
    assert (first.status, second.status) == ("new", "unchanged")
    assert first.version_id == second.version_id
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Page)) == 1
        assert session.scalar(select(func.count()).select_from(DocumentVersion)) == 1


@both_backends
def test_changed_text_adds_exactly_one_version_and_becomes_current(db):
    with db.session() as session:
        first = store_document(session, a_document())
        changed = store_document(session, a_document(text="Updated: it does not cure MS."))
        again = store_document(session, a_document(text="Updated: it does not cure MS."))
    assert changed.status == "changed" and again.status == "unchanged"
    with db.session() as session:
        page = session.get(Page, first.page_id)
        assert page.current_version_id == changed.version_id
        assert [v.id for v in page.versions] == [first.version_id, changed.version_id]


@both_backends
def test_raw_html_is_kept_compressed(db):
    html = "<html><body>" + "<p>stem cells and MS</p>" * 500 + "</body></html>"
    with db.session() as session:
        stored = store_document(session, a_document(raw_html=html))
    with db.session() as session:
        blob = session.get(DocumentVersion, stored.version_id).raw_html_gz
    assert len(blob) < len(html) / 5
    assert decompress_html(blob) == html
    assert decompress_html(compress_html(None)) is None


@both_backends
def test_prediction_is_idempotent_per_model_version_and_tracked_on_the_page(db):
    with db.session() as session:
        register_model_version(session, "hm-test", file_sha256="0" * 64)
        register_model_version(session, "hm-next", file_sha256="1" * 64)
        stored = store_document(session, a_document())
        first = store_prediction(session, stored.version_id, a_score())
        again = store_prediction(session, stored.version_id, a_score(hype=10))
        newer = store_prediction(session, stored.version_id, a_score("hm-next", hype=55))
    assert first.id == again.id and again.hype_score == 72.5
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == 2
        page = session.get(Page, stored.page_id)
        assert page.current_prediction_id == newer.id
        prediction = session.get(Prediction, first.id)
        assert prediction.p_clinic_promotion == pytest.approx(0.2)
        assert prediction.flag_cure_claim and not prediction.flag_clinic_promotion
        assert prediction.details["signals"]["cure_claim"]["evidence"][0]["text"] == "It cures MS."


@both_backends
def test_labels_live_apart_from_predictions(db):
    with db.session() as session:
        register_model_version(session, "hm-test", file_sha256="0" * 64)
        stored = store_document(session, a_document())
        store_prediction(session, stored.version_id, a_score())
        add_label(session, stored.version_id, "analyst", relevant=True, cure_claim=False, note="negated claim")
    with db.session() as session:
        label = session.scalars(select(Label)).one()
        prediction = session.scalars(select(Prediction)).one()
    assert label.cure_claim is False and prediction.flag_cure_claim is True
    assert label.created_at.tzinfo is not None
    with db.session() as session, pytest.raises(ValueError, match="unknown label fields"):
        add_label(session, stored.version_id, "analyst", colour="red")


@both_backends
def test_export_rows_give_latest_version_and_prediction(db):
    with db.session() as session:
        register_model_version(session, "hm-test", file_sha256="0" * 64)
        first = store_document(session, a_document())
        store_prediction(session, first.version_id, a_score(hype=40))
        second = store_document(session, a_document(text="A new text about MS stem cells."))
        store_prediction(session, second.version_id, a_score(hype=80))
        store_document(session, a_document(url="https://news.example/a", text="Unscored page about MS."))
    with db.session() as session:
        rows = {row.url: row for row in iter_export_rows(session)}
    clinic = rows["https://clinic.example/ms"]
    assert clinic.versions == 2 and clinic.hype_score == 80 and clinic.published == dt.date(2026, 3, 1)
    assert rows["https://news.example/a"].hype_score is None
    assert set(clinic.as_flat_dict()) >= {"url", "title", "domain", "published", "versions", "hype_score",
                                          "relevance", *SIGNALS}


@both_backends
def test_sources_upsert_by_name(db):
    with db.session() as session:
        first = upsert_source(session, "ms-news", "feed", {"start_urls": ["https://a.example/feed"]})
        second = upsert_source(session, "ms-news", "site", {"start_urls": ["https://b.example/"]})
    assert first.id == second.id and second.kind == "site"


def test_fingerprint_ignores_case_and_whitespace_only():
    assert content_fingerprint("Stem  cells\ncure MS") == content_fingerprint("stem cells cure ms")
    assert content_fingerprint("stem cells cure MS") != content_fingerprint("stem cells do not cure MS")
