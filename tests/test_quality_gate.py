"""The quality gate: the cross-validated evaluation must stay at or above its pinned floors.

`classifier/quality_floors.json` pins the model's figures (macro-F1, hype-score Spearman,
relevance F1, per-signal F1 and ROC-AUC) and requires the model to beat the keyword baseline on
every signal's F1. A change that drops any figure below its floor fails here. Floors only go up:
raise one when a change durably improves its figure, never lower one to make a change pass.

This runs the same evaluation as `hypewatch evaluate` (5-fold grouped, stratified
cross-validation of the model, the keyword baseline and DummyClassifier on seeds/).
"""

from __future__ import annotations

import os

import pytest

from classifier.corpus import load_corpus
from classifier.evaluation import check_floors, evaluate
from classifier.signals import SIGNALS
from hypewatch.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def report() -> dict:
    corpus = load_corpus(PROJECT_ROOT / "seeds")
    return evaluate(corpus, n_splits=5, n_jobs=min(5, os.cpu_count() or 1)).to_dict()


def test_every_figure_is_at_or_above_its_floor(report):
    assert check_floors(report) == []


def test_the_issue_acceptance_criteria_hold(report):
    model, keyword = report["systems"]["model"], report["systems"]["keyword"]
    for signal in SIGNALS:
        assert model["signals"][signal]["f1"] > keyword["signals"][signal]["f1"], signal
    assert model["macro_f1"] >= 0.80
    assert model["hype_spearman"] >= 0.75


def test_the_model_is_far_from_chance(report):
    model, dummy = report["systems"]["model"], report["systems"]["dummy"]
    assert model["macro_f1"] > dummy["macro_f1"] + 0.3
    for signal in SIGNALS:
        assert model["signals"][signal]["roc_auc"] > 0.85
