"""Cross-validated evaluation of the model beside a keyword baseline and a DummyClassifier.

`evaluate(corpus)` splits the corpus with `StratifiedGroupKFold` (strata: relevance x number of
signals; groups: near-duplicate documents, so a near-copy never sits on both sides of a split),
fits each system on the training folds only and predicts the held-out fold. The held-out
predictions of all folds are pooled and scored:

* per signal (and counter-signal): precision, recall, F1 of the gated flags, ROC-AUC and Brier
  score (calibration) of the probabilities, against the guide's labels on every document (a page
  that is not relevant has every signal "no"; counter-signals are judged on relevant pages);
* relevance: precision, recall, F1, ROC-AUC;
* macro-F1 over the five signals;
* Spearman correlation of the 0-100 hype score with the 0-3 hype labels, and the mean score at
  each label;
* the macro-F1 of each fold, to show the spread.

Labels marked unknown (-1, analysts' partial labels) are left out of the figures they concern.

The quality gate: `quality_floors.json` (beside this module) pins a floor for the model's figures;
`check_floors(report.to_dict())` lists every figure below its floor, and every signal on which the
model is not ahead of the keyword baseline. `tests/test_quality_gate.py` runs it in CI.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import brier_score_loss, precision_recall_fscore_support, roc_auc_score

from classifier.baselines import DummyBaseline, KeywordBaseline
from classifier.corpus import Corpus, near_duplicate_groups
from classifier.model import best_threshold, grouped_folds, make_model
from classifier.signals import COUNTER_SIGNALS, OUTPUTS, SIGNALS

logger = logging.getLogger(__name__)

SYSTEMS = ("model", "keyword", "dummy")
FLOORS_FILE = Path(__file__).resolve().parent / "quality_floors.json"


@dataclass
class Predictions:
    """Held-out outputs of one system, pooled over folds."""

    probabilities: np.ndarray
    flags: np.ndarray
    hype: np.ndarray


@dataclass
class EvaluationReport:
    n_documents: int
    n_splits: int
    random_state: int
    systems: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    # Held-out outputs per system, in corpus order (for error analysis; not part of `to_dict`).
    predictions: dict[str, Predictions] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        model, keyword = self.systems["model"], self.systems["keyword"]
        return {
            "n_documents": self.n_documents,
            "cross_validation": {"splitter": "StratifiedGroupKFold", "n_splits": self.n_splits,
                                 "groups": "near-duplicate documents", "random_state": self.random_state},
            "systems": self.systems,
            "model_ahead_of_keyword": {
                name: model["signals"][name]["f1"] > keyword["signals"][name]["f1"] for name in SIGNALS
            },
            "seconds": round(self.seconds, 1),
        }

    def summary_rows(self) -> list[tuple[str, ...]]:
        """(figure, model, keyword, dummy) rows for a table."""
        rows = []
        for name in SIGNALS:
            rows.append((f"{name} F1", *(_fmt(self.systems[s]["signals"][name]["f1"]) for s in SYSTEMS)))
        for name in SIGNALS:
            rows.append((f"{name} ROC-AUC", *(_fmt(self.systems[s]["signals"][name]["roc_auc"]) for s in SYSTEMS)))
        rows.append(("macro-F1 (5 signals)", *(_fmt(self.systems[s]["macro_f1"]) for s in SYSTEMS)))
        rows.append(("relevance F1", *(_fmt(self.systems[s]["relevance"]["f1"]) for s in SYSTEMS)))
        rows.append(("hype Spearman", *(_fmt(self.systems[s]["hype_spearman"]) for s in SYSTEMS)))
        return rows


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def folds(corpus: Corpus, n_splits: int = 5, random_state: int = 0,
          groups: Sequence | np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped, stratified folds of the corpus (near-duplicates share a fold)."""
    group_ids = np.asarray(groups if groups is not None else near_duplicate_groups(corpus))
    return grouped_folds(corpus.targets(), group_ids, n_splits, random_state)


def _run_fold(texts: list[str], y: np.ndarray, evidence: list, hype: np.ndarray, groups: np.ndarray,
              origins: np.ndarray, train: np.ndarray, test: np.ndarray, params: dict) -> dict[str, tuple]:
    train_texts = [texts[i] for i in train]
    test_texts = [texts[i] for i in test]
    model = make_model(**params).fit_corpus(train_texts, y[train], [evidence[i] for i in train], hype[train],
                                            groups[train], origins[train])
    keyword = KeywordBaseline().fit(train_texts, y[train])
    dummy = DummyBaseline().fit(train_texts, y[train], hype=hype[train])
    predictions = system_predictions(model, keyword, dummy, test_texts)
    return {system: (p.probabilities, p.flags, p.hype) for system, p in predictions.items()}


def evaluate(corpus: Corpus, *, n_splits: int = 5, random_state: int = 0, n_jobs: int = 1,
             params: dict | None = None) -> EvaluationReport:
    """Cross-validate the model (with `params`), the keyword baseline and the dummy on `corpus`."""
    started = time.perf_counter()
    params = dict(params or {})
    texts = corpus.texts
    y = corpus.targets()
    hype = corpus.hype
    evidence = corpus.evidence
    groups = np.asarray(near_duplicate_groups(corpus))
    splits = folds(corpus, n_splits, random_state, groups)
    origins = np.array([d.origin for d in corpus.documents])
    jobs = [(texts, y, evidence, hype, groups, origins, train, test, params) for train, test in splits]
    if n_jobs == 1:
        results = [_run_fold(*job) for job in jobs]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(_run_fold)(*job) for job in jobs)

    report = EvaluationReport(n_documents=len(corpus), n_splits=len(splits), random_state=random_state)
    for system in SYSTEMS:
        pooled = Predictions(np.zeros(y.shape), np.zeros(y.shape, dtype=int), np.zeros(len(y)))
        fold_macro = []
        for (_train, test), result in zip(splits, results, strict=True):
            probabilities, flags, hype_scores = result[system]
            pooled.probabilities[test] = probabilities
            pooled.flags[test] = flags
            pooled.hype[test] = hype_scores
            fold_macro.append(_macro_f1(y[test], flags))
        report.predictions[system] = pooled
        report.systems[system] = _figures(y, hype, pooled)
        report.systems[system]["fold_macro_f1"] = [round(v, 4) for v in fold_macro]
    report.seconds = time.perf_counter() - started
    logger.info("evaluated %d documents in %d folds in %.1f s", len(corpus), len(splits), report.seconds)
    return report


def _binary(truth: np.ndarray, flags: np.ndarray, probabilities: np.ndarray) -> dict:
    known = truth >= 0
    truth, flags, probabilities = truth[known], flags[known], probabilities[known]
    if not len(truth):  # not labelled here (counter-signals on real pages)
        return {"precision": None, "recall": None, "f1": None, "roc_auc": None, "brier": None, "support": 0, "n": 0}
    precision, recall, f1, _ = precision_recall_fscore_support(truth, flags, average="binary", zero_division=0)
    auc = float(roc_auc_score(truth, probabilities)) if 0 < truth.sum() < len(truth) else None
    brier = float(brier_score_loss(truth, np.clip(probabilities, 0, 1))) if len(truth) else None
    return {"precision": round(float(precision), 4), "recall": round(float(recall), 4), "f1": round(float(f1), 4),
            "roc_auc": None if auc is None else round(auc, 4), "brier": None if brier is None else round(brier, 4),
            "support": int(truth.sum()), "n": len(truth)}


def _labels_with_gate(y: np.ndarray) -> np.ndarray:
    y = y.copy()
    y[y[:, 0] == 0, 1:] = 0
    return y


def _macro_f1(y: np.ndarray, flags: np.ndarray) -> float:
    y = _labels_with_gate(y)
    values = []
    for k in range(1, 1 + len(SIGNALS)):
        known = y[:, k] >= 0
        _, _, f1, _ = precision_recall_fscore_support(y[known, k], flags[known, k], average="binary",
                                                      zero_division=0)
        values.append(f1)
    return float(np.mean(values))


def _figures(y: np.ndarray, hype: np.ndarray, pred: Predictions) -> dict:
    y = _labels_with_gate(y)
    figures: dict = {"relevance": _binary(y[:, 0], pred.flags[:, 0], pred.probabilities[:, 0])}
    figures["signals"] = {name: _binary(y[:, k], pred.flags[:, k], pred.probabilities[:, k])
                          for k, name in enumerate(OUTPUTS) if name in SIGNALS}
    # Counter-signals are labelled on relevant documents only.
    relevant = y[:, 0] == 1
    figures["counter_signals"] = {
        name: _binary(y[relevant, k], pred.flags[relevant, k], pred.probabilities[relevant, k])
        for k, name in enumerate(OUTPUTS) if name in COUNTER_SIGNALS
    }
    figures["macro_f1"] = round(float(np.mean([figures["signals"][n]["f1"] for n in SIGNALS])), 4)
    known = hype >= 0
    rho = spearmanr(pred.hype[known], hype[known]).statistic
    figures["hype_spearman"] = None if np.isnan(rho) else round(float(rho), 4)
    figures["hype_score_by_level"] = {
        str(level): round(float(np.mean(pred.hype[hype == level])), 1) for level in range(4) if (hype == level).any()
    }
    return figures


def load_floors(path: Path | None = None) -> dict:
    return json.loads(Path(path or FLOORS_FILE).read_text(encoding="utf-8"))


def check_floors(report: dict, floors: dict | None = None) -> list[str]:
    """Every figure of `report` (an `EvaluationReport.to_dict()`) below its floor, as messages.

    Floors (`quality_floors.json`): `macro_f1`, `hype_spearman`, `relevance_f1`, and per signal
    `f1` and `roc_auc`, all for the model; with `model_ahead_of_keyword` true, each signal's F1
    must also beat the keyword baseline's.
    """
    floors = floors if floors is not None else load_floors()
    model = report["systems"]["model"]
    actual = {
        "macro_f1": model["macro_f1"],
        "hype_spearman": model["hype_spearman"],
        "relevance_f1": model["relevance"]["f1"],
    }
    failures = []
    for name, floor in floors.get("model", {}).items():
        if name == "signals":
            continue
        value = actual.get(name)
        if value is None or value < floor:
            failures.append(f"{name} {value} is below its floor {floor}")
    for signal, figures in floors.get("model", {}).get("signals", {}).items():
        for figure, floor in figures.items():
            value = model["signals"][signal][figure]
            if value is None or value < floor:
                failures.append(f"{signal} {figure} {value} is below its floor {floor}")
    if floors.get("model_ahead_of_keyword"):
        keyword = report["systems"]["keyword"]["signals"]
        for signal in SIGNALS:
            if not model["signals"][signal]["f1"] > keyword[signal]["f1"]:
                failures.append(f"{signal} F1 {model['signals'][signal]['f1']} is not ahead of the keyword "
                                f"baseline's {keyword[signal]['f1']}")
    return failures


# ---------------------------------------------------------------------------- real pages
@dataclass
class RealEvaluationReport:
    """The trained model, the keyword baseline and the dummy on labelled real pages (`realset`)."""

    part: str
    n_pages: int
    n_sites: int
    model_version: str
    systems: dict[str, dict] = field(default_factory=dict)
    by_genre: dict[str, dict[str, dict]] = field(default_factory=dict)
    by_language: dict[str, dict[str, dict]] = field(default_factory=dict)
    # Cohen's kappa per field between the two independent annotators (`realset.agreement`).
    agreement: dict[str, dict] = field(default_factory=dict)
    predictions: dict[str, Predictions] = field(default_factory=dict, repr=False)
    missing: tuple[str, ...] = ()  # ids of the part's pages left out: their texts are not collected

    def to_dict(self) -> dict:
        return {"part": self.part, "n_pages": self.n_pages, "n_sites": self.n_sites, "missing": list(self.missing),
                "model_version": self.model_version, "systems": self.systems,
                "by_genre": self.by_genre, "by_language": self.by_language, "agreement": self.agreement}

    def summary_rows(self) -> list[tuple[str, ...]]:
        rows = []
        for name in SIGNALS:
            for figure in ("f1", "precision", "recall", "roc_auc"):
                rows.append((f"{name} {figure}",
                             *(_fmt(self.systems[s]["signals"][name][figure]) for s in SYSTEMS)))
        rows.append(("macro-F1 (5 signals)", *(_fmt(self.systems[s]["macro_f1"]) for s in SYSTEMS)))
        rows.append(("relevance F1", *(_fmt(self.systems[s]["relevance"]["f1"]) for s in SYSTEMS)))
        rows.append(("hype Spearman", *(_fmt(self.systems[s]["hype_spearman"]) for s in SYSTEMS)))
        return rows


def system_predictions(model, keyword: KeywordBaseline, dummy: DummyBaseline,
                       texts: list[str]) -> dict[str, Predictions]:
    """Each system's outputs on `texts`, in the model's output layout."""
    scores = model.score_many(texts)
    return {
        "model": Predictions(
            np.array([[s.relevance, *(s.signals[n].probability for n in SIGNALS),
                       *(s.counter_signals[n].probability for n in COUNTER_SIGNALS)] for s in scores]),
            np.array([[s.relevant, *(s.signals[n].flagged for n in SIGNALS),
                       *(s.counter_signals[n].flagged for n in COUNTER_SIGNALS)] for s in scores], dtype=int),
            np.array([s.hype_score for s in scores])),
        "keyword": Predictions(keyword.predict_proba(texts), keyword.predict(texts), keyword.hype_scores(texts)),
        "dummy": Predictions(dummy.predict_proba(texts), dummy.predict(texts), dummy.hype_scores(texts)),
    }


def evaluate_real(model, training: Corpus, real: Corpus, *, part: str, n_sites: int) -> RealEvaluationReport:
    """Score the real pages with the trained `model` and with both baselines fitted on `training`."""
    y, hype = real.targets(), real.hype
    keyword = KeywordBaseline().fit(training.texts, training.targets())
    dummy = DummyBaseline().fit(training.texts, training.targets(), hype=training.hype)
    predictions = system_predictions(model, keyword, dummy, real.texts)
    report = RealEvaluationReport(part=part, n_pages=len(real), n_sites=n_sites,
                                  model_version=getattr(model, "version_", "unversioned"), predictions=predictions)
    for system, pred in predictions.items():
        report.systems[system] = _figures(y, hype, pred)
    for attribute, target in (("genre", report.by_genre), ("lang", report.by_language)):
        values = np.array([getattr(d, attribute) for d in real.documents])
        for value in sorted(set(values)):
            rows = values == value
            target[str(value)] = {system: _group_figures(y[rows], pred, rows) for system, pred in predictions.items()}
    return report


def _group_figures(y: np.ndarray, pred: Predictions, rows: np.ndarray) -> dict:
    """The few figures that mean something on a small group of pages."""
    gated = _labels_with_gate(y)
    relevance = precision_recall_fscore_support(gated[:, 0], pred.flags[rows, 0], average="binary",
                                                zero_division=0)[2]
    return {"n": int(rows.sum()), "relevant": int(gated[:, 0].sum()),
            "macro_f1": round(_macro_f1(y, pred.flags[rows]), 4), "relevance_f1": round(float(relevance), 4)}


def tune_thresholds(model, real: Corpus) -> dict[str, float]:
    """Relevance and per-signal thresholds with the best smoothed F1 on the real pages `real`."""
    joint = model.named_steps["signals"].predict_proba(model.named_steps["features"].transform(real.texts))
    y = _labels_with_gate(real.targets())
    chosen = {"relevant": best_threshold(y[:, 0], joint[:, 0])}
    gate = joint[:, 0] >= chosen["relevant"]
    for k, name in enumerate(SIGNALS, start=1):
        known = y[:, k] >= 0
        chosen[name] = best_threshold(y[known, k], joint[known, k], gate=gate[known])
    return chosen
