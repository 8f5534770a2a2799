"""Evaluation machinery: grouped folds, the keyword and dummy baselines, the report and the floors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from classifier.baselines import DummyBaseline, KeywordBaseline
from classifier.corpus import Corpus, analyst_document, load_corpus, near_duplicate_groups
from classifier.evaluation import check_floors, evaluate, folds, load_floors
from classifier.signals import SIGNALS
from hypewatch.settings import PROJECT_ROOT

ISSUE_MINIMUMS = {"macro_f1": 0.80, "hype_spearman": 0.75}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(PROJECT_ROOT / "seeds")


def test_keyword_baseline_has_the_failure_the_issue_describes():
    keyword = KeywordBaseline().fit([])
    texts = ["There is no cure for MS, and stem cell clinics selling one should be avoided.",
             "She walked again after her treatment in Panama with stem cells for her MS."]
    flags = keyword.predict(texts)
    assert flags[0, 0] == 1 and flags[0, 1] == 1, "a keyword alert flags a negated cure as a cure claim"
    assert flags[1, 4] == 0, "and misses a testimonial without hype words"
    assert keyword.hype_scores(texts).shape == (2,)
    probabilities = keyword.predict_proba(texts)
    assert probabilities.shape == (2, 10) and ((probabilities >= 0) & (probabilities < 1)).all()


def test_keyword_baseline_gates_on_topic_words():
    keyword = KeywordBaseline().fit([])
    flags = keyword.predict(["Our knee clinic offers a miracle cure with stem cells. Book now, price $900."])
    assert flags[0].sum() == 0


def test_dummy_baseline_is_sklearn_dummyclassifier_per_output(corpus):
    dummy = DummyBaseline().fit(corpus.texts, corpus.targets(), hype=corpus.hype)
    assert len(dummy.estimators_) == 10
    assert dummy.predict(corpus.texts[:7]).shape == (7, 10)
    assert dummy.predict_proba(corpus.texts[:7]).shape == (7, 10)
    assert set(np.unique(dummy.hype_scores(corpus.texts))) <= {0.0, 100 / 3, 200 / 3, 100.0}


def test_near_duplicates_stay_in_one_fold(corpus):
    base = corpus.documents[:40]
    copies = [replace(d, id=d.id + "-copy", text=d.text + "\nShared on social media.") for d in base[:6]]
    extended = Corpus(tuple(base) + tuple(copies))
    groups = near_duplicate_groups(extended)
    assert len(set(groups)) == 40
    ids = [d.id for d in extended.documents]
    for train, test in folds(extended, n_splits=4, groups=groups):
        test_ids = {ids[i] for i in test}
        train_ids = {ids[i] for i in train}
        for copy in copies:
            original = copy.id.removesuffix("-copy")
            assert (copy.id in test_ids) == (original in test_ids)
            assert (copy.id in train_ids) == (original in train_ids)


def test_evaluate_reports_three_systems_side_by_side(corpus):
    # Analysts' partial labels ride along: their unknown labels are left out of the figures.
    analyst = [analyst_document(f"analyst-v{i}", d.text, relevant=None, signals={"cure_claim": "cure_claim" in d.signals},
                                hype=None) for i, d in enumerate(corpus.documents[1:40:8])]
    small = Corpus(corpus.documents[::3]).extended(analyst)
    report = evaluate(small, n_splits=3)
    data = report.to_dict()
    json.dumps(data)
    model = data["systems"]["model"]
    assert model["signals"]["cure_claim"]["n"] == len(small)
    assert model["signals"]["testimonial"]["n"] == len(small) - len(analyst)
    assert set(data["systems"]) == {"model", "keyword", "dummy"}
    for system in data["systems"].values():
        assert set(system["signals"]) == set(SIGNALS)
        for figures in system["signals"].values():
            assert {"precision", "recall", "f1", "roc_auc", "brier", "support"} <= set(figures)
        assert {"macro_f1", "hype_spearman", "relevance", "fold_macro_f1", "counter_signals"} <= set(system)
        assert len(system["fold_macro_f1"]) == 3
    assert set(data["model_ahead_of_keyword"]) == set(SIGNALS)
    assert len(report.summary_rows()) == 13


def test_check_floors_lists_every_figure_below_its_floor():
    report = {"systems": {
        "model": {"macro_f1": 0.7, "hype_spearman": 0.9, "relevance": {"f1": 0.95},
                  "signals": {s: {"f1": 0.8, "roc_auc": 0.9} for s in SIGNALS}},
        "keyword": {"signals": {s: {"f1": 0.85 if s == "testimonial" else 0.5} for s in SIGNALS}},
    }}
    floors = {"model": {"macro_f1": 0.8, "hype_spearman": 0.75, "signals": {"cure_claim": {"roc_auc": 0.95}}},
              "model_ahead_of_keyword": True}
    failures = check_floors(report, floors)
    assert len(failures) == 3
    assert any("macro_f1" in f for f in failures)
    assert any("cure_claim roc_auc" in f for f in failures)
    assert any("testimonial" in f and "keyword" in f for f in failures)


def test_pinned_floors_cover_every_signal_and_meet_the_issue():
    floors = load_floors()
    model = floors["model"]
    for name, minimum in ISSUE_MINIMUMS.items():
        assert model[name] >= minimum
    assert set(model["signals"]) == set(SIGNALS)
    assert all({"f1", "roc_auc"} <= set(v) for v in model["signals"].values())
    assert floors["model_ahead_of_keyword"] is True
