"""The hype model: one Pipeline, the scoring contract, evidence offsets, the gate and the hype score."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from classifier.corpus import load_corpus
from classifier.features import TextFeaturizer
from classifier.model import DocumentScore, HypeModel, HypeSignals, make_model, model_params
from classifier.registry import ModelRegistry
from classifier.signals import COUNTER_SIGNALS, SIGNALS
from hypewatch.settings import PROJECT_ROOT

CLINIC_PAGE = """Stem Cell Treatment for Multiple Sclerosis | Renew Clinic Cancun
Our clinic has helped hundreds of MS patients reverse their symptoms with umbilical cord stem cells.
Our protocol stops the progression of MS and repairs damaged myelin. Most of our patients walk better within weeks.
The treatment is completely safe: there are no side effects because the cells are natural.
"Six months after my treatment I walked again without my cane," says Maria, one of our patients.
Our all-inclusive package costs $21,500 USD, including hotel, airport pickup and four infusions.
Book your free consultation today on WhatsApp +52 998 555 0199 - limited places this month!"""

WARNING_PAGE = """Regulator warns against unapproved stem cell clinics marketing to people with MS
The medicines regulator today warned people with multiple sclerosis about clinics that sell unapproved stem cell products.
Clinics have claimed their treatments can "cure MS" and have "no side effects"; these claims are false and unsupported.
Mesenchymal and umbilical cord cell products are not approved for MS anywhere, and there is no cure for MS.
Patients have suffered serious infections, meningitis and tumours after such injections, and some have died.
Autologous haematopoietic stem cell transplantation is a different procedure that was tested in the MIST trial (NCT00273364).
It carries risks including febrile neutropenia and a small risk of death, and is only offered through specialist centres."""

DIET_PAGE = """Ten anti-inflammatory recipes for people with MS
Eating well can help you manage fatigue when you live with multiple sclerosis.
Try a lentil soup with turmeric, or roast vegetables with olive oil and herbs.
Broccoli stems can be sliced thinly and added to stir-fries, so nothing goes to waste.
Talk to your dietitian before making big changes to what you eat."""


@pytest.fixture(scope="module")
def model(model_dir) -> HypeModel:
    """The session's trained model (trained once by conftest's `model_dir`)."""
    loaded, _ = ModelRegistry(model_dir).load()
    return loaded


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(PROJECT_ROOT / "seeds")


def test_the_persisted_model_is_one_sklearn_pipeline(model):
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["features", "signals"]
    assert isinstance(model.named_steps["features"], TextFeaturizer)
    assert isinstance(model.named_steps["signals"], HypeSignals)
    # The estimator contract: parameters only in __init__, clone gives an unfitted twin.
    twin = clone(model)
    assert twin.get_params()["signals__C_stack"] == model.get_params()["signals__C_stack"]
    assert not hasattr(twin.named_steps["signals"], "stack_coef_")


def test_make_model_routes_plain_parameters_and_rejects_unknown_ones():
    model = make_model(C_stack=0.25, min_df=3)
    assert model.get_params()["signals__C_stack"] == 0.25
    assert model.get_params()["features__min_df"] == 3
    assert model_params(model)["signals__C_stack"] == 0.25
    with pytest.raises(ValueError, match="unknown model parameter"):
        make_model(no_such_parameter=1)
    assert HypeSignals().get_params() == clone(HypeSignals()).get_params()


def test_score_returns_the_documented_shape_with_exact_evidence_offsets(model):
    score = model.score(CLINIC_PAGE)
    assert isinstance(score, DocumentScore)
    data = score.to_dict()
    assert set(data) == {"relevance", "relevant", "hype_score", "signals", "counter_signals", "model_version"}
    assert list(data["signals"]) == list(SIGNALS)
    assert list(data["counter_signals"]) == list(COUNTER_SIGNALS)
    assert data["model_version"] == model.version_
    for signal in data["signals"].values():
        assert set(signal) == {"probability", "flagged", "evidence"}
        assert 0.0 <= signal["probability"] <= 1.0
        for item in signal["evidence"]:
            assert set(item) == {"text", "start", "end", "score"}
            assert CLINIC_PAGE[item["start"]:item["end"]] == item["text"]
    for counter in data["counter_signals"].values():
        assert set(counter) == {"present", "evidence"}
    json.dumps(data)  # serialisable as is


def test_a_promotional_clinic_page_is_flagged_with_evidence(model):
    score = model.score(CLINIC_PAGE)
    assert score.relevant
    flagged = {name for name, s in score.signals.items() if s.flagged}
    assert {"clinic_promotion", "cure_claim", "risk_minimisation"} <= flagged
    promotion = score.signals["clinic_promotion"]
    assert promotion.evidence, "a flagged signal shows the sentences behind it"
    assert any("$21,500" in e.text or "consultation" in e.text for e in promotion.evidence)
    assert score.hype_score >= 60


def test_a_regulator_warning_quoting_hype_is_not_hype(model):
    score = model.score(WARNING_PAGE)
    assert score.relevant
    assert not score.signals["cure_claim"].flagged, "'there is no cure' and quoted claims are not cure claims"
    assert not score.signals["clinic_promotion"].flagged
    assert score.counter_signals["risk_disclosure"].flagged
    assert score.hype_score < model.score(CLINIC_PAGE).hype_score
    assert score.hype_score <= 35


def test_an_irrelevant_page_is_gated(model):
    score = model.score(DIET_PAGE)
    assert not score.relevant
    assert score.hype_score == 0.0
    assert not any(s.flagged or s.evidence for s in score.signals.values())
    assert not any(s.flagged for s in score.counter_signals.values())


def test_score_many_matches_score_and_handles_degenerate_texts(model):
    texts = [CLINIC_PAGE, "", "   \n  ", "MS", WARNING_PAGE, "x" * 5000]
    many = model.score_many(texts)
    assert len(many) == len(texts)
    for text, batch_score in zip(texts, many, strict=True):
        assert batch_score.to_dict() == model.score(text).to_dict()
    assert model.score_many([]) == []
    assert not many[1].relevant and many[1].hype_score == 0.0


def test_hype_score_rises_with_signals_and_falls_with_counter_signals(model):
    signals = model.named_steps["signals"]
    assert (signals.hype_weights_ >= 0).all()
    base = np.full((1, 10), 0.3)
    base[0, 0] = 1.0
    reference = signals.hype_scores(base)[0]
    for k in range(1, 1 + len(SIGNALS)):
        more = base.copy()
        more[0, k] = 0.9
        assert signals.hype_scores(more)[0] >= reference
    for k in range(1 + len(SIGNALS), 10):
        more = base.copy()
        more[0, k] = 0.9
        assert signals.hype_scores(more)[0] <= reference
    not_relevant = base.copy()
    not_relevant[0, 0] = 0.0
    assert signals.hype_scores(not_relevant)[0] == 0.0


def test_training_chose_a_threshold_per_signal_by_cross_validation(model):
    signals = model.named_steps["signals"]
    assert signals.thresholds_.shape == (10,)
    assert ((signals.thresholds_ > 0) & (signals.thresholds_ < 1)).all()
    assert set(signals.cv_scores_) == {"relevant", *SIGNALS, *COUNTER_SIGNALS}
    # Platt calibration: a positive slope per output.
    assert (signals.calibration_[:, 0] > 0).all()


def test_hype_score_ranks_the_guides_seed_documents(model, corpus):
    seeds = [d for d in corpus.documents if d.origin == "user"]
    scores = {d.id: model.score(d.text).hype_score for d in seeds}
    high = [scores[d.id] for d in seeds if d.hype == 3]
    low = [scores[d.id] for d in seeds if d.hype == 1]
    assert min(high) > max(low)


def test_fit_accepts_unknown_labels(corpus):
    documents = corpus.documents[::3]
    texts = [d.text for d in documents]
    y = corpus.targets()[::3].copy()
    y[::3, 2] = -1  # clinic_promotion unknown on every third document
    y[5, 0] = -1
    hype = corpus.hype[::3].copy()
    hype[::4] = -1
    model = make_model(cv=3).fit_corpus(texts, y, [d.evidence for d in documents], hype)
    assert model.named_steps["signals"].thresholds_.shape == (10,)
    assert len(model.score_many(texts[:3])) == 3
