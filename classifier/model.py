"""The hype model: one scikit-learn Pipeline, sentence-level scoring aggregated to the document.

    HypeModel = Pipeline([("features", TextFeaturizer()), ("signals", HypeSignals())])

How a document is scored:

1. `TextFeaturizer` splits the text into sentences (with offsets) and, in one tokenisation pass,
   gives each sentence TF-IDF word n-grams plus analyst cue counts (`features.FAMILIES`), and the
   document its summed n-grams, cue counts and extras (distinct conditions treated, length, prose).
2. `HypeSignals`, per target (relevance, the five signals, the four counter-signals):
   * a sentence model (logistic regression) scores every sentence. It is trained on the evidence
     sentences the corpus marks (positives) and on the sentences of relevant documents without
     that target (negatives);
   * a document model (logistic regression) scores the whole document;
   * a stacker (logistic regression) combines, for *all* targets, the strongest sentence score,
     the mean of the three strongest, how many sentences score above one half, and the document
     score, with the document's cue counts. The absence of a trial reference or of any named risk
     is itself evidence, and this is where it is seen. The stacker is trained on cross-fitted
     first-level scores, so it learns how far held-out sentence scores can be trusted;
   * a Platt calibrator, fitted on the stacker's cross-validated (out-of-fold) scores, turns its
     output into a probability.
3. Relevance gates everything: a page that is not relevant has no flags and a hype score of 0. A
   signal's reported probability is P(relevant) x P(signal | relevant). A text that does not name
   both MS and a stem-cell or cell treatment (`classifier.topic`, in every language the corpus
   covers) is not relevant, as the guide says, whatever else its words suggest; so, optionally,
   is text that is mostly not prose (`min_prose_share`, `features.prose_share`; off by default,
   since on real pages it dropped academic pages the guide counts as relevant).
4. Each target is flagged at or above its own threshold (smoothed-F1 optimum): one chosen on real
   pages (`classifier.thresholds`), or on analysts' real pages once there are enough of them, or
   else by cross-validation. Its evidence is the sentences that score highest for it; a
   sentence's score is its sentence model's probability, and page furniture
   (`classifier.furniture`) scores 0 for every hype signal.
5. The 0-100 hype score is documented in `HypeSignals.hype_scores`.

Unknown labels (-1, from analysts' partial judgements) are left out of every model they concern.
Training on the 270-document corpus takes a few seconds: the n-gram models use liblinear's dual
solver, and every cross-fitting step reuses one featurisation.

At scoring time the fitted logistic regressions are applied as stacked coefficient matrices (one
sparse-dense product per level for all targets), not one `predict_proba` call per model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from classifier.features import FeatureBundle, TextFeaturizer
from classifier.signals import COUNTER_SIGNALS, OUTPUTS, SIGNALS, TARGETS
from classifier.text import Sentence
from classifier.thresholds import load_thresholds

logger = logging.getLogger(__name__)

N_TARGETS = len(TARGETS)
N_SIGNALS = len(SIGNALS)
N_OUTPUTS = len(OUTPUTS)
UNKNOWN = -1
# Every signal adds, and every counter-signal takes away, at least this much (x 100 points at
# probability 1) from the hype score: the score is monotone in each of them by construction.
MIN_HYPE_WEIGHT = 0.02
# Analysts' labels on real pages choose a flag threshold once there are this many labelled pages,
# this many of them positive.
MIN_REAL_PAGES = 60
MIN_REAL_POSITIVES = 8


@dataclass(frozen=True)
class Evidence:
    text: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 4)}


@dataclass(frozen=True)
class RegistryShift:
    """How the trial registry's judgements of the trials a page cites moved a signal after the
    model scored the page's text (`classifier.grounding`): the logit shift applied, the signal as
    the text alone had it, and the citations that moved it, each as (identifier, judgements)."""

    logit: float
    probability_before: float
    flagged_before: bool
    citations: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_dict(self) -> dict:
        return {"logit_shift": self.logit, "probability_before": round(self.probability_before, 4),
                "flagged_before": self.flagged_before,
                "citations": [{"identifier": ident, "judgements": list(judgements)}
                              for ident, judgements in self.citations]}


@dataclass(frozen=True)
class SignalResult:
    probability: float
    flagged: bool
    evidence: tuple[Evidence, ...] = ()
    registry: RegistryShift | None = None  # set when the registry's judgements moved it

    def to_dict(self) -> dict:
        out = {"probability": round(self.probability, 4), "flagged": self.flagged,
               "evidence": [e.to_dict() for e in self.evidence]}
        if self.registry is not None:
            out["registry"] = self.registry.to_dict()
        return out


@dataclass(frozen=True)
class DocumentScore:
    relevance: float
    relevant: bool
    hype_score: float
    signals: Mapping[str, SignalResult]
    counter_signals: Mapping[str, SignalResult]
    model_version: str = "unversioned"
    sentences: int = field(default=0, compare=False)

    def to_dict(self) -> dict:
        return {
            "relevance": round(self.relevance, 4),
            "relevant": self.relevant,
            "hype_score": round(self.hype_score, 1),
            "signals": {name: result.to_dict() for name, result in self.signals.items()},
            "counter_signals": {
                name: {"present": result.flagged, "evidence": [e.to_dict() for e in result.evidence]}
                for name, result in self.counter_signals.items()
            },
            "model_version": self.model_version,
        }


class HypeSignals(ClassifierMixin, BaseEstimator):
    """The signal model: sentence and document logistic regressions, a calibrated stacker per target.

    `fit(bundle, y, evidence=..., hype=..., groups=...)`: `bundle` is `TextFeaturizer` output; `y`
    is an (n, 10) array of relevance then `TARGETS`, 1/0, or -1 where a label is unknown;
    `evidence` is, per document, {target: [quoted sentences]}; `hype` the 0-3 overall labels (-1
    unknown), used to fit the hype score's weights; `groups` keeps near-duplicates in one fold.

    `predict_proba(bundle)` returns an (n, 10) array of probabilities in the layout of `y` (a
    signal's probability is P(relevant) x P(signal | relevant)); `predict` the gated 0/1 flags.

    Parameters
    ----------
    C_sentence, C_document, C_stack: inverse regularisation of the sentence, document and stacking
        logistic regressions (class-balanced).
    cv: folds of the internal cross-fitting (stacker inputs, calibration and thresholds).
    evidence_top_k: at most this many evidence sentences per flagged signal.
    evidence_min_score: a sentence is evidence when its score reaches this (the best sentence of a
        flagged signal always is).
    min_prose_share, min_prose_words: the prose gate (see `_prose_gate`).
    analyst_weight: how much more a document labelled by an analyst on a real page (`origins`
        "analyst") counts than a written one, in every model it trains. Chosen on the real set
        (`tests/benchmarks/bench_analyst_learning.py`: of 1, 2 and 3, 1 lifted the other half's
        macro-F1 most); real pages also count more through the stacker's real-page copy of its
        inputs and by choosing the flag thresholds (`_choose_thresholds`).
    implied_evidence: for a document labelled with a signal but no evidence sentence (analysts
        often label only the page), this many of its sentences that a first fit scores highest
        for the signal are taken as its evidence, so the sentence models learn from it too.
    thresholds: per output, a flag threshold to use instead of the one cross-validation picks
        (None: all picked); chosen on real pages (`hypewatch evaluate --real --part tuning`).
    random_state: seeds the folds; fitting is deterministic.
    """

    def __init__(self, C_sentence: float = 4.0, C_document: float = 2.0, C_stack: float = 0.5, cv: int = 5,
                 evidence_top_k: int = 3, evidence_min_score: float = 0.5, min_prose_share: float = 0.0,
                 min_prose_words: int = 40, analyst_weight: float = 1.0, implied_evidence: int = 2,
                 thresholds: tuple[float, ...] | None = None, random_state: int = 0):
        self.C_sentence = C_sentence
        self.C_document = C_document
        self.C_stack = C_stack
        self.cv = cv
        self.evidence_top_k = evidence_top_k
        self.evidence_min_score = evidence_min_score
        self.min_prose_share = min_prose_share
        self.min_prose_words = min_prose_words
        self.analyst_weight = analyst_weight
        self.implied_evidence = implied_evidence
        self.thresholds = thresholds
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, X: FeatureBundle, y, evidence: Sequence[Mapping[str, Sequence[str]]] | None = None,
            hype: Sequence[int] | np.ndarray | None = None, groups: Sequence | np.ndarray | None = None,
            origins: Sequence[str] | np.ndarray | None = None) -> HypeSignals:
        bundle = X
        n = len(bundle)
        y = np.asarray(y, dtype=int)
        if y.shape != (n, N_OUTPUTS):
            raise ValueError(f"y must have shape ({n}, {N_OUTPUTS}), got {y.shape}")
        y_true = y.copy()
        y_true[y_true[:, 0] == 0, 1:] = 0  # the guide: a page that is not relevant has no signals
        y = _gate_labels(y)
        evidence = list(evidence) if evidence is not None else [{} for _ in range(n)]
        hype_levels = np.asarray(hype if hype is not None else np.full(n, UNKNOWN), dtype=float)
        group_ids = np.asarray(groups if groups is not None else np.arange(n))
        analyst = np.asarray(origins if origins is not None else ["written"] * n) == "analyst"
        self.weights_ = np.where(analyst, float(self.analyst_weight), 1.0)
        marks = _sentence_marks(bundle, y, evidence)
        marks = self._implied_marks(bundle, y, marks)

        folds = self._folds(y, group_ids)
        Z = np.zeros((n, _n_stack_scores()))
        for train, test in folds:
            level1 = self._fit_level1(bundle, y, marks, train)
            Z[test] = _level1_scores(level1, bundle.subset(test))
        level1 = self._fit_level1(bundle, y, marks, np.arange(n))
        self.sentence_coef_, self.sentence_intercept_ = level1["sentence"]
        self.document_coef_, self.document_intercept_ = level1["document"]

        Fs = np.hstack([Z, bundle.document_cues])
        width = Fs.shape[1]
        if analyst.any():
            # Feature augmentation (Daume III, 2007) for the stacker: each input also gets a copy that
            # is non-zero on analysts' real pages only, so it learns how far level-1 scores can be
            # trusted on real pages beside how far they can be trusted overall. Pages scored later
            # are real pages, so the stored weights are the two copies added up.
            Fs = np.hstack([Fs, Fs * analyst[:, None]])
        self.stack_coef_ = np.zeros((width, N_OUTPUTS))
        self.stack_intercept_ = np.zeros(N_OUTPUTS)
        oof_decision = np.zeros((n, N_OUTPUTS))
        for k in range(N_OUTPUTS):
            rows = _training_rows(y, k)
            coef, intercept = _fit_linear(Fs[rows], y[rows, k], self.C_stack, self.random_state, self.weights_[rows])
            self.stack_coef_[:, k] = coef[:width] + coef[width:] if len(coef) > width else coef
            self.stack_intercept_[k] = intercept
            for train, test in folds:
                train_rows = train[rows[train]]
                c, b = _fit_linear(Fs[train_rows], y[train_rows, k], self.C_stack, self.random_state,
                                   self.weights_[train_rows])
                oof_decision[test, k] = Fs[test] @ c + b

        self.calibration_ = np.zeros((N_OUTPUTS, 2))
        for k in range(N_OUTPUTS):
            rows = _training_rows(y, k)
            self.calibration_[k] = _platt(oof_decision[rows, k], y[rows, k])
        conditional = self._prose_gate(expit(oof_decision * self.calibration_[:, 0] + self.calibration_[:, 1]),
                                       bundle)
        oof = _joint(conditional)

        self.thresholds_ = self._choose_thresholds(y_true, oof, analyst)
        relevant_pred = oof[:, 0] >= self.thresholds_[0]
        self.hype_weights_ = _fit_hype_weights(conditional, hype_levels)
        self.cv_scores_ = _cv_scores(y_true, oof, self.thresholds_, relevant_pred)
        self.n_features_in_ = bundle.sentence_matrix.shape[1]
        self.classes_ = np.array([0, 1])
        self.n_documents_ = n
        logger.debug("fitted signal model on %d documents; cross-validated F1 %s", n, self.cv_scores_)
        return self

    def _choose_thresholds(self, y_true: np.ndarray, oof: np.ndarray, real: np.ndarray) -> np.ndarray:
        """Per output, the flag threshold: read off the analysts' real pages when there are enough of
        them (their cross-validated scores are what real pages look like), else the `thresholds`
        parameter (chosen on real pages), else cross-validation over the whole corpus."""
        known = y_true >= 0
        given = self.thresholds if self.thresholds is not None else (None,) * N_OUTPUTS
        if len(given) != N_OUTPUTS:
            raise ValueError(f"thresholds must give {N_OUTPUTS} values ({', '.join(OUTPUTS)})")
        chosen = np.full(N_OUTPUTS, 0.5)
        for k in range(N_OUTPUTS):
            gate = oof[:, 0] >= chosen[0] if k else None
            rows = known[:, k] & real
            fixed = given[k]
            if rows.sum() >= MIN_REAL_PAGES and y_true[rows, k].sum() >= MIN_REAL_POSITIVES:
                chosen[k] = best_threshold(y_true[rows, k], oof[rows, k], gate=None if gate is None else gate[rows])
            elif fixed is not None:
                chosen[k] = float(fixed)
            else:
                rows = known[:, k]
                chosen[k] = best_threshold(y_true[rows, k], oof[rows, k], gate=None if gate is None else gate[rows])
        return chosen

    def _folds(self, y: np.ndarray, groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        relevant = np.clip(y[:, 0], 0, 1)
        n_splits = max(2, min(self.cv, len(np.unique(groups)), max(2, int(np.bincount(relevant, minlength=2).min()))))
        return grouped_folds(y, groups, n_splits, self.random_state)

    def _implied_marks(self, bundle: FeatureBundle, y: np.ndarray, marks: np.ndarray) -> np.ndarray:
        """Marks with, for each (document, target) labelled yes but with no evidence sentence, the
        `implied_evidence` sentences a first fit of the sentence models scores highest."""
        lengths = np.diff(bundle.offsets)
        owner = np.repeat(np.arange(len(bundle)), lengths)
        has_mark = np.zeros((len(bundle), N_OUTPUTS), dtype=bool)
        np.logical_or.at(has_mark, owner, marks == 1)
        needs = (y == 1) & ~has_mark
        needs[:, 0] = False
        if self.implied_evidence <= 0 or not needs.any():
            return marks
        sentence_coef, sentence_intercept = self._fit_level1(bundle, y, marks, np.arange(len(bundle)),
                                                             documents=False)["sentence"]
        scores = expit(bundle.sentence_matrix @ sentence_coef + sentence_intercept)
        scores[bundle.furniture, :N_SIGNALS] = -1.0
        marks = marks.copy()
        for i, k in zip(*np.nonzero(needs), strict=True):
            lo, hi = bundle.offsets[i], bundle.offsets[i + 1]
            best = lo + np.argsort(-scores[lo:hi, k - 1], kind="stable")[: self.implied_evidence]
            marks[best[scores[best, k - 1] >= 0], k] = 1
        return marks

    def _fit_level1(self, bundle: FeatureBundle, y: np.ndarray, marks: np.ndarray, doc_rows: np.ndarray,
                    documents: bool = True) -> dict:
        """Sentence and document logistic regressions for every output, fitted on `doc_rows`."""
        in_train = np.zeros(len(bundle), dtype=bool)
        in_train[doc_rows] = True
        lengths = np.diff(bundle.offsets)
        sentence_in_train = np.repeat(in_train, lengths)
        sentence_weights = np.repeat(self.weights_, lengths)
        S, D = bundle.sentence_matrix, bundle.document_design()
        # Sentence models exist for TARGETS only: relevance is a property of the whole document.
        sentence_coef = np.zeros((S.shape[1], N_TARGETS))
        sentence_intercept = np.zeros(N_TARGETS)
        document_coef = np.zeros((D.shape[1], N_OUTPUTS))
        document_intercept = np.zeros(N_OUTPUTS)
        for k in range(N_OUTPUTS):
            if k > 0:
                rows = sentence_in_train & (marks[:, k] >= 0)
                sentence_coef[:, k - 1], sentence_intercept[k - 1] = _fit_linear(
                    S[rows], marks[rows, k], self.C_sentence, self.random_state, sentence_weights[rows])
            if not documents:
                continue
            rows = doc_rows[_training_rows(y, k)[doc_rows]]
            document_coef[:, k], document_intercept[k] = _fit_linear(
                D[rows], y[rows, k], self.C_document, self.random_state, self.weights_[rows])
        return {"sentence": (sentence_coef, sentence_intercept), "document": (document_coef, document_intercept)}

    # ------------------------------------------------------------------ predicting
    def _scores(self, bundle: FeatureBundle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(joint probabilities (n, 10), conditional probabilities (n, 10), sentence scores)."""
        level1 = {"sentence": (self.sentence_coef_, self.sentence_intercept_),
                  "document": (self.document_coef_, self.document_intercept_)}
        Z, sentence_scores = _level1_scores(level1, bundle, return_sentences=True)
        Fs = np.hstack([Z, bundle.document_cues])
        decision = Fs @ self.stack_coef_ + self.stack_intercept_
        conditional = self._prose_gate(expit(decision * self.calibration_[:, 0] + self.calibration_[:, 1]), bundle)
        return _joint(conditional), conditional, sentence_scores

    def _prose_gate(self, conditional: np.ndarray, bundle: FeatureBundle) -> np.ndarray:
        """The guide: text that is not prose about the topic (reference lists, navigation, lists of
        links or headlines) is not relevant. A text of at least `min_prose_words` tokens with less
        than `min_prose_share` of its characters in prose lines (`features.prose_share`) gets
        relevance probability 0. So does a text that never names both MS and a stem-cell or cell
        treatment (`classifier.topic`): the guide's relevance needs the two together."""
        not_prose = ((bundle.prose < self.min_prose_share) & (bundle.words >= self.min_prose_words)) | ~bundle.topic
        if not_prose.any():
            conditional = conditional.copy()
            conditional[not_prose, 0] = 0.0
        return conditional

    def predict_proba(self, X: FeatureBundle) -> np.ndarray:
        return self._scores(X)[0]

    def predict(self, X: FeatureBundle) -> np.ndarray:
        return self._flags(self.predict_proba(X))

    def _flags(self, joint: np.ndarray) -> np.ndarray:
        flags = joint >= self.thresholds_
        flags[:, 1:] &= flags[:, :1]
        return flags.astype(int)

    def score_bundle(self, bundle: FeatureBundle, model_version: str = "unversioned") -> list[DocumentScore]:
        joint, conditional, sentence_scores = self._scores(bundle)
        flags = self._flags(joint)
        hype = self.hype_scores(conditional)
        results = []
        for i in range(len(bundle)):
            sentences = bundle.sentences[i]
            scores = sentence_scores[bundle.offsets[i]:bundle.offsets[i + 1]]
            relevant = bool(flags[i, 0])
            by_name = {}
            for k, name in enumerate(TARGETS, start=1):
                flagged = bool(flags[i, k])
                evidence = self._evidence(sentences, scores[:, k], flagged) if relevant else ()
                by_name[name] = SignalResult(float(joint[i, k]), flagged, evidence)
            results.append(DocumentScore(
                relevance=float(joint[i, 0]),
                relevant=relevant,
                hype_score=float(hype[i]) if relevant else 0.0,
                signals={name: by_name[name] for name in SIGNALS},
                counter_signals={name: by_name[name] for name in COUNTER_SIGNALS},
                model_version=model_version,
                sentences=len(sentences),
            ))
        return results

    def _evidence(self, sentences: Sequence[Sentence], scores: np.ndarray, flagged: bool) -> tuple[Evidence, ...]:
        if not flagged:
            return ()
        order = [k for k in np.argsort(-scores, kind="stable")[: self.evidence_top_k] if scores[k] > 0]
        chosen = [k for k in order if scores[k] >= self.evidence_min_score] or order[:1]
        chosen.sort()
        return tuple(Evidence(sentences[k].text, sentences[k].start, sentences[k].end, float(scores[k]))
                     for k in chosen)

    def hype_scores(self, conditional: np.ndarray) -> np.ndarray:
        """The 0-100 hype score of each document.

        With relevance probability r, signal probabilities p₁…p₅ (given relevance) and
        counter-signal probabilities q₁…q₄:

            score = 100 · clip(r · (b + Σ wᵢ·pᵢ − Σ vⱼ·qⱼ), 0, 1)

        where b ≥ 0 and every wᵢ, vⱼ ≥ `MIN_HYPE_WEIGHT` (0.02) are fitted by bounded least
        squares on cross-validated probabilities, so that the score tracks the guide's 0-3 hype
        level as a fraction of 3 (0 ≈ 0, 1 ≈ 33, 2 ≈ 67, 3 ≈ 100; `hypewatch.report` reads it back in
        equal quarters). Because the weights are positive the score strictly rises with each
        signal's probability and falls with each counter-signal's (until it is clipped at 0 or
        100), and it is 0 for a page that is not relevant (the gate zeroes it). The fitted weights
        are `hype_weights_` (b, then w for `SIGNALS`, then v for `COUNTER_SIGNALS`).
        """
        w = self.hype_weights_
        r = conditional[:, 0]
        raw = r * (w[0] + conditional[:, 1:1 + N_SIGNALS] @ w[1:1 + N_SIGNALS]
                   - conditional[:, 1 + N_SIGNALS:] @ w[1 + N_SIGNALS:])
        return 100.0 * np.clip(raw, 0.0, 1.0)


class HypeModel(Pipeline):
    """The persisted model: `Pipeline([("features", TextFeaturizer()), ("signals", HypeSignals())])`.

    Build one with `make_model(**params)`; parameters name their step (`signals__C_stack`) or, via
    `make_model`, are routed to the step that has them. `score(text)` and `score_many(texts)`
    return `DocumentScore`s; `version_` is set by the registry.
    """

    def score(self, text: str) -> DocumentScore:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[DocumentScore]:
        texts = list(texts)
        if not texts:
            return []
        bundle = self.named_steps["features"].transform(texts)
        return self.named_steps["signals"].score_bundle(bundle, getattr(self, "version_", "unversioned"))

    def fit_corpus(self, texts: Sequence[str], y, evidence=None, hype=None, groups=None, origins=None) -> HypeModel:
        """`fit` with the signal step's extra inputs routed to it."""
        return self.fit(list(texts), y, signals__evidence=evidence, signals__hype=hype, signals__groups=groups,
                        signals__origins=origins)


def make_model(**params) -> HypeModel:
    """A `HypeModel` with `params` set; plain names (`C_stack`) go to the step that has them.

    Unless `thresholds` is given, the model flags at the thresholds chosen on real pages
    (`classifier.thresholds`)."""
    if "thresholds" not in params and "signals__thresholds" not in params:
        params = {**params, "thresholds": load_thresholds()}
    model = HypeModel([("features", TextFeaturizer()), ("signals", HypeSignals())])
    routed = {}
    for name, value in params.items():
        if "__" in name:
            routed[name] = value
            continue
        owners = [step for step, est in model.steps if name in est.get_params(deep=False)]
        if not owners:
            raise ValueError(f"unknown model parameter {name!r}")
        routed[f"{owners[0]}__{name}"] = value
    return model.set_params(**routed)


def model_params(model: HypeModel) -> dict:
    """The model's step parameters as a flat JSON-friendly dict (`step__name: value`)."""
    params = {}
    for step, est in model.steps:
        for name, value in est.get_params(deep=False).items():
            params[f"{step}__{name}"] = list(value) if isinstance(value, tuple) else value
    return params


# ---------------------------------------------------------------------- helpers
def strata(y: np.ndarray, n_splits: int) -> np.ndarray:
    """Stratum per document for stratified folds: relevance x number of signals (0-3+).

    A stratum with fewer documents than folds is merged into the largest stratum of the same
    relevance, so every stratum can be spread over the folds."""
    relevant = np.clip(y[:, 0], 0, 1)
    labels = relevant * 4 + np.clip(y[:, 1:1 + N_SIGNALS], 0, 1).sum(axis=1).clip(0, 3)
    values, counts = np.unique(labels, return_counts=True)
    for value, count in zip(values, counts, strict=True):
        if count < n_splits:
            same = [(c, v) for v, c in zip(values, counts, strict=True) if v // 4 == value // 4 and c >= n_splits]
            if same:
                labels[labels == value] = max(same)[1]
    return labels


def grouped_folds(y: np.ndarray, groups: np.ndarray, n_splits: int, random_state: int = 0
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep each group (near-duplicates) in one fold."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold  # training only: see `_fit_linear`

    labels = strata(y, n_splits)
    try:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        return list(splitter.split(np.zeros(len(y)), labels, groups))
    except ValueError:
        return list(GroupKFold(n_splits=n_splits).split(np.zeros(len(y)), labels, groups))


def _gate_labels(y: np.ndarray) -> np.ndarray:
    """A document that is not relevant has every target 'no' by the guide; for training the
    first-level models its signal and counter-signal labels carry no information about the text,
    so they are marked unknown (the gate, not the text, decides them)."""
    y = y.copy()
    not_relevant = y[:, 0] == 0
    y[not_relevant, 1:] = UNKNOWN
    unknown_relevance = y[:, 0] == UNKNOWN
    y[unknown_relevance, 1:] = np.where(y[unknown_relevance, 1:] == 1, 1, UNKNOWN)
    return y


def _training_rows(y: np.ndarray, k: int) -> np.ndarray:
    return y[:, k] >= 0


def _sentence_marks(bundle: FeatureBundle, y: np.ndarray, evidence) -> np.ndarray:
    """(n_sentences, 10): 1 evidence sentence, 0 sentence of a document without the target, -1 unknown."""
    n_sentences = bundle.sentence_matrix.shape[0]
    marks = np.full((n_sentences, N_OUTPUTS), UNKNOWN, dtype=int)
    for i, (text, sentences) in enumerate(zip(bundle.texts, bundle.sentences, strict=True)):
        lo, hi = bundle.offsets[i], bundle.offsets[i + 1]
        for k, name in enumerate(TARGETS, start=1):
            if y[i, k] == 0:
                marks[lo:hi, k] = 0
            elif y[i, k] == 1:
                spans = [(p, p + len(q)) for q in evidence[i].get(name, ()) for p in _find_all(text, q)]
                for j, s in enumerate(sentences):
                    if any(min(s.end, b) - max(s.start, a) >= 0.5 * min(s.end - s.start, b - a) for a, b in spans):
                        marks[lo + j, k] = 1
    marks[bundle.furniture, 1:1 + N_SIGNALS] = UNKNOWN  # scored 0 anyway: nothing to learn from them
    return marks


def _n_stack_scores() -> int:
    return 3 * N_TARGETS + N_OUTPUTS


def _level1_scores(level1: dict, bundle: FeatureBundle, return_sentences: bool = False):
    """Stacker inputs per document: per target the max, top-3 mean and log count (> 0.5) of its
    sentence scores; then every output's document score."""
    sentence_coef, sentence_intercept = level1["sentence"]
    document_coef, document_intercept = level1["document"]
    S = expit(bundle.sentence_matrix @ sentence_coef + sentence_intercept)
    S[bundle.furniture, :N_SIGNALS] = 0.0  # furniture never shows a hype signal (`classifier.furniture`)
    width = bundle.document_matrix.shape[1]
    D = expit(bundle.document_matrix @ document_coef[:width] + bundle.document_extras @ document_coef[width:]
              + document_intercept)
    n = len(bundle)
    out = np.zeros((n, _n_stack_scores()))
    offsets = bundle.offsets
    for i in range(n):
        block = S[offsets[i]:offsets[i + 1]]
        if not len(block):
            continue
        top = -np.sort(-block, axis=0)[:3]
        out[i, 0:N_TARGETS] = top[0]
        out[i, N_TARGETS:2 * N_TARGETS] = top.mean(axis=0)
        out[i, 2 * N_TARGETS:3 * N_TARGETS] = np.log1p((block > 0.5).sum(axis=0))
    out[:, 3 * N_TARGETS:] = D
    if return_sentences:
        return out, np.hstack([np.zeros((S.shape[0], 1)), S])
    return out


def _fit_linear(X, y, C: float, random_state: int, sample_weight: np.ndarray | None = None
                ) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of a class-balanced (and sample-weighted) logistic regression, or a
    constant."""
    y = np.asarray(y)
    n_features = X.shape[1]
    if len(y) == 0 or len(np.unique(y)) < 2:
        p = float(np.clip(y.mean() if len(y) else 0.0, 1e-3, 1 - 1e-3))
        return np.zeros(n_features), float(np.log(p / (1 - p)))
    # Imported here, as in every training-only helper: scoring a page (`hypewatch check`, the crawl's
    # extraction processes) never fits a model and would otherwise pay for the import on every start.
    from sklearn.linear_model import LogisticRegression

    # The dual solver is far faster when features outnumber samples (the n-gram models).
    model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", dual=X.shape[1] > X.shape[0],
                               max_iter=2000, random_state=random_state).fit(X, y, sample_weight=sample_weight)
    return model.coef_.ravel().astype(np.float64), float(model.intercept_[0])


def _platt(decision: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: slope and intercept of a logistic regression of `y` on the decision value."""
    if len(y) == 0 or len(np.unique(y)) < 2:
        p = float(np.clip(y.mean() if len(y) else 0.0, 1e-3, 1 - 1e-3))
        return 0.0, float(np.log(p / (1 - p)))
    from sklearn.linear_model import LogisticRegression  # training only: see `_fit_linear`

    model = LogisticRegression(C=100.0, solver="lbfgs").fit(decision.reshape(-1, 1), y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def _joint(conditional: np.ndarray) -> np.ndarray:
    joint = conditional.copy()
    joint[:, 1:] *= conditional[:, :1]
    return joint


def best_threshold(truth: np.ndarray, scores: np.ndarray, gate: np.ndarray | None = None) -> float:
    """The threshold with the best F1 on cross-validated scores, read off a smoothed F1 curve.

    F1 is computed on a grid of thresholds and averaged over a window of +-0.05 before taking the
    maximum: a threshold on a broad plateau generalises better than one on a narrow peak."""
    if truth.sum() == 0 or truth.sum() == len(truth):
        return 0.5
    gate = np.ones(len(truth), dtype=bool) if gate is None else gate
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1s = _f1((scores[None, :] >= candidates[:, None]) & gate, truth.astype(bool))
    window = 5
    padded = np.pad(f1s, window, mode="edge")
    smoothed = np.convolve(padded, np.ones(2 * window + 1) / (2 * window + 1), mode="valid")
    return float(candidates[int(np.argmax(smoothed))])


def _f1(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """F1 of each row of a boolean prediction matrix against `truth` (0 where undefined)."""
    tp = (predicted & truth).sum(axis=-1)
    denominator = predicted.sum(axis=-1) + truth.sum()
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _fit_hype_weights(conditional: np.ndarray, hype: np.ndarray) -> np.ndarray:
    """b >= 0 and w, v >= MIN_HYPE_WEIGHT with hype/3 ≈ r·(b + w·p − v·q): bounded least squares
    on the labelled rows."""
    rows = hype >= 0
    n_weights = 1 + N_TARGETS
    if not rows.any():
        return np.concatenate([[0.0], np.full(N_SIGNALS, 0.2), np.full(N_TARGETS - N_SIGNALS, MIN_HYPE_WEIGHT)])
    r = conditional[rows, :1]
    design = np.hstack([r, conditional[rows, 1:1 + N_SIGNALS] * r, -conditional[rows, 1 + N_SIGNALS:] * r])
    lower = np.full(n_weights, MIN_HYPE_WEIGHT)
    lower[0] = 0.0
    from scipy.optimize import lsq_linear  # training only: see `_fit_linear`

    return lsq_linear(design, hype[rows] / 3.0, bounds=(lower, np.inf)).x


def _cv_scores(y: np.ndarray, oof: np.ndarray, thresholds: np.ndarray, relevant_pred: np.ndarray) -> dict:
    scores = {}
    for k, name in enumerate(OUTPUTS):
        rows = y[:, k] >= 0
        pred = oof[rows, k] >= thresholds[k]
        if k:
            pred &= relevant_pred[rows]
        scores[name] = round(float(_f1(pred, y[rows, k].astype(bool))), 4)
    return scores


def _find_all(text: str, quote: str) -> list[int]:
    positions, start = [], text.find(quote)
    while start != -1:
        positions.append(start)
        start = text.find(quote, start + 1)
    return positions
