"""`hypewatch train`, `evaluate` and `rescore` end to end: real subprocesses and a real database."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS_DIR
from sqlalchemy import select

from classifier.registry import ModelRegistry
from storage.documents import ExtractedDocument
from storage.labels import add_label, analyst_labels
from storage.models import Page, Prediction
from storage.writes import store_document
from tests.test_classifier_registry import plant_call, rehash, touch_source

CLINIC_TEXT = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")
NEWS_TEXT = (SEEDS_DIR / "docs" / "news-b01.txt").read_text(encoding="utf-8")


def _store(app, url: str, text: str, *, fetched_at: dt.datetime | None = None) -> int:
    with app.database.session() as session:
        stored = store_document(session, ExtractedDocument(
            url=url, domain="example.org", text=text, title=text.split("\n", 1)[0],
            fetched_at=fetched_at or dt.datetime.now(dt.UTC)))
    return stored.version_id


def test_rescore_scores_every_stored_version_once(run_cli, app):
    first = _store(app, "https://example.org/a", CLINIC_TEXT)
    second = _store(app, "https://example.org/a", CLINIC_TEXT + "\nNow with a 95% success rate.")
    third = _store(app, "https://example.org/b", NEWS_TEXT)
    result = run_cli("rescore")
    assert result.exit_code == 0, result.stderr
    version = ModelRegistry(app.settings.model_dir).current_version()
    assert result.stdout.strip() == f"rescored 3 document version(s) with model {version}"
    with app.database.session() as session:
        predictions = session.scalars(select(Prediction)).all()
        assert sorted(p.version_id for p in predictions) == sorted([first, second, third])
        assert {p.model_version for p in predictions} == {version}
        page = session.scalars(select(Page).where(Page.url == "https://example.org/a")).one()
        current = session.get(Prediction, page.current_prediction_id)
        assert current.version_id == second and current.relevant and current.hype_score > 40
    again = run_cli("rescore")
    assert again.exit_code == 0 and again.stdout.startswith("rescored 0 ")


@pytest.mark.parametrize("model_file", ["runs code", "not a zip"])
def test_check_refuses_a_hostile_or_corrupt_model_file_in_one_line(run_cli, settings, tmp_path, model_file):
    registry = ModelRegistry(settings.model_dir)
    version = registry.current_version()
    marker = tmp_path / "payload-ran"
    if model_file == "runs code":
        plant_call(settings.model_dir, "builtins.exec", touch_source(marker))
        expected = "holds types outside the allow-list: builtins.exec"
    else:
        (settings.model_dir / f"{version}.skops").write_bytes(b"PK but not really a zip file")
        rehash(registry, version)
        expected = "cannot be read"
    result = run_cli("check", "-", input=CLINIC_TEXT)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("hypewatch: error: model file ") and expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_analyst_labels_merge_newest_first(app):
    version_id = _store(app, "https://example.org/labelled", CLINIC_TEXT)
    with app.database.session() as session:
        add_label(session, version_id, "ana", relevant=True, cure_claim=False, hype=2)
        add_label(session, version_id, "ben", cure_claim=True, testimonial=False, note="cure claim in para 3")
    with app.database.session() as session:
        (label,) = analyst_labels(session)
    assert label.relevant is True and label.hype == 2
    assert label.signals["cure_claim"] is True and label.signals["testimonial"] is False
    assert label.signals["clinic_promotion"] is None
    assert label.authors == ("ana", "ben") and label.notes == ("cure claim in para 3",)
    (doc,) = app.analyst_documents()
    assert doc.id == f"analyst-v{version_id}" and doc.origin == "analyst"
    assert doc.target_vector()[:5] == [1, -1, -1, 0, -1]


@pytest.fixture
def small_seeds(tmp_path) -> Path:
    """A fifth of seeds/ (plus the five user seeds): training and evaluating it takes seconds."""
    seeds = tmp_path / "small-seeds"
    (seeds / "docs").mkdir(parents=True)
    lines = (SEEDS_DIR / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for i, line in enumerate(lines) if i < 5 or i % 5 == 0]
    for line in kept:
        doc_id = json.loads(line)["id"]
        shutil.copy(SEEDS_DIR / "docs" / f"{doc_id}.txt", seeds / "docs" / f"{doc_id}.txt")
    (seeds / "labels.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return seeds


def test_train_with_labels_adds_the_analysts_documents(run_cli, app, small_seeds):
    env = {"HYPEWATCH_SEEDS": str(small_seeds)}
    plain = run_cli("train", "--json", env=env)
    assert plain.exit_code == 0, plain.stderr
    plain_manifest = json.loads(plain.stdout)
    assert plain_manifest["analyst_documents"] == 0
    version_id = _store(app, "https://example.org/analyst", NEWS_TEXT + "\nThis cured my MS, says one patient.")
    with app.database.session() as session:
        add_label(session, version_id, "ana", relevant=True, cure_claim=True, testimonial=True, hype=2)
    result = run_cli("train", "--with-labels", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["analyst_documents"] == 1
    assert manifest["documents"] == plain_manifest["documents"] + 1
    assert manifest["version"] != plain_manifest["version"]
    assert ModelRegistry(app.settings.model_dir).current_version() == manifest["version"]
    assert manifest["training_seconds"] > 0 and "training_cv_f1" in manifest["metrics"]


def test_evaluate_prints_three_systems_and_records_the_figures(run_cli, app, small_seeds):
    env = {"HYPEWATCH_SEEDS": str(small_seeds)}
    trained = run_cli("train", env=env)
    assert trained.exit_code == 0, trained.stderr
    registry = ModelRegistry(app.settings.model_dir)
    version = registry.current_version()
    assert trained.stdout.startswith(f"trained {version} on {registry.info(version).documents} documents")
    result = run_cli("evaluate", "--json", "--folds", "3", "--jobs", "1", env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["systems"]) == {"model", "keyword", "dummy"}
    assert report["cross_validation"]["n_splits"] == 3
    assert report["n_documents"] == registry.info(version).documents
    info = registry.info(version)
    assert info.metrics["evaluation"]["systems"]["model"]["macro_f1"] == report["systems"]["model"]["macro_f1"]

    table = run_cli("evaluate", "--folds", "2", "--jobs", "1", env=env)
    assert table.exit_code == 0, table.stderr
    assert "keyword baseline" in table.stdout and "DummyClassifier" in table.stdout
    assert "hype Spearman" in table.stdout and "macro-F1" in table.stdout
