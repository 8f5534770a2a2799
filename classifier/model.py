"""The hype model: sentence-level scoring per signal, aggregated to the document.

How it scores a document:
1. The text is split into sentences (with offsets). Each sentence gets word and character n-gram
   TF-IDF features plus the analyst cue counts of `features.CueFeatures`.
2. For each signal and counter-signal a logistic regression scores every sentence. It was trained
   on the evidence sentences the corpus marks (positives) and on sentences of documents where that
   signal is absent (negatives).
3. A document-level logistic regression per target combines, for *all* targets, the strongest
   sentence score, the mean of the three strongest, and a whole-document n-gram score, with the
   document's cue counts. (The absence of a trial reference, or of any named risk, is itself
   evidence; this is where it is seen.) These stacked models are trained on cross-fitted scores,
   so they learn how far held-out sentence scores can be trusted.
4. Relevance is a document-level classifier and gates everything: a page that is not relevant has
   no flags and a hype score of 0.
5. Each signal is flagged above its own threshold (chosen by cross-validation to maximise F1);
   its evidence is the sentences that score highest for it.
6. The 0-100 hype score is documented in `hype_score`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import nnls
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.preprocessing import normalize

from classifier.features import CONDITIONS, PATTERNS
from classifier.signals import COUNTER_SIGNALS, SIGNALS, TARGETS
from classifier.text import Sentence, split_sentences

logger = logging.getLogger(__name__)

N_TARGETS = len(TARGETS)


@dataclass(frozen=True)
class Evidence:
    text: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 4)}


@dataclass(frozen=True)
class SignalResult:
    probability: float
    flagged: bool
    evidence: tuple[Evidence, ...] = ()


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
            "signals": {
                name: {
                    "probability": round(result.probability, 4),
                    "flagged": result.flagged,
                    "evidence": [e.to_dict() for e in result.evidence],
                }
                for name, result in self.signals.items()
            },
            "counter_signals": {
                name: {"present": result.flagged, "evidence": [e.to_dict() for e in result.evidence]}
                for name, result in self.counter_signals.items()
            },
            "model_version": self.model_version,
        }


def cue_counts(texts: Sequence[str]) -> np.ndarray:
    """Raw counts of each cue pattern per text: (len(texts), len(PATTERNS))."""
    return np.array([[len(p.findall(t)) for p in PATTERNS.values()] for t in texts], dtype=np.float64).reshape(
        len(texts), len(PATTERNS)
    )


class HypeModel(BaseEstimator):
    """Scores relevance, the five hype signals and the four counter-signals of a document.

    `fit(X, y, evidence=..., hype=...)`: X is a list of texts; y is an (n, 1 + 9) 0/1 array of
    relevance then `TARGETS`; evidence is a list (per document) of {target: [quotes]}; hype is the
    0-3 overall label used to fit the hype score's weights.
    """

    def __init__(
        self,
        C_sentence: float = 4.0,
        C_document: float = 0.5,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (3, 5),
        max_features: int = 60000,
        cv: int = 5,
        evidence_top_k: int = 3,
        evidence_min_score: float = 0.35,
        random_state: int = 0,
    ):
        self.C_sentence = C_sentence
        self.C_document = C_document
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.max_features = max_features
        self.cv = cv
        self.evidence_top_k = evidence_top_k
        self.evidence_min_score = evidence_min_score
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Sequence[str], y, evidence: Sequence[Mapping[str, Sequence[str]]] | None = None,
            hype: Sequence[int] | None = None, groups: Sequence | None = None) -> HypeModel:
        texts = list(X)
        y = np.asarray(y, dtype=int)
        if y.shape != (len(texts), 1 + N_TARGETS):
            raise ValueError(f"y must have shape ({len(texts)}, {1 + N_TARGETS}), got {y.shape}")
        evidence = list(evidence) if evidence is not None else [{} for _ in texts]
        hype_labels = np.asarray(hype if hype is not None else y[:, 1:6].sum(axis=1).clip(0, 3), dtype=float)
        groups = np.asarray(groups if groups is not None else np.arange(len(texts)))

        doc_sentences = [split_sentences(t) or [Sentence(0, len(t), t)] for t in texts]
        flat = [s.text for sents in doc_sentences for s in sents]
        owner = np.repeat(np.arange(len(texts)), [len(s) for s in doc_sentences])
        self.word_vectorizer_ = TfidfVectorizer(
            ngram_range=self.word_ngram_range, min_df=2, max_features=self.max_features, sublinear_tf=True,
            lowercase=True,
        ).fit(flat)
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.char_ngram_range, min_df=3, max_features=self.max_features,
            sublinear_tf=True,
        ).fit(flat)
        # stop_words_ lists every pruned term; it is only for introspection and dominates the file size.
        for vectorizer in (self.word_vectorizer_, self.char_vectorizer_):
            vectorizer.__dict__.pop("stop_words_", None)
        S, cues = self._sentence_matrix(flat)
        D = self._document_matrix(S, cues, owner, len(texts), texts)
        sentence_targets = self._sentence_targets(texts, doc_sentences, y[:, 1:], evidence)

        # Cross-fitted first-level scores for the stacker.
        folds = self._folds(y, groups)
        Z = np.zeros((len(texts), 3 * N_TARGETS + 1))
        for train, test in folds:
            level1 = self._fit_level1(S, D, owner, sentence_targets, y, train)
            Z[test] = self._level1_features(level1, S, D, owner, test)
        self.level1_ = self._fit_level1(S, D, owner, sentence_targets, y, np.arange(len(texts)))

        doc_cues = self._cue_block(D)
        F = np.hstack([Z, doc_cues])
        relevant = y[:, 0] == 1
        self.stackers_ = []
        oof = np.zeros((len(texts), N_TARGETS))
        for j in range(N_TARGETS):
            target = y[:, 1 + j]
            train_rows = relevant if j < len(SIGNALS) else np.ones(len(texts), bool)
            self.stackers_.append(self._fit_stacker(F[train_rows], target[train_rows]))
            for train, test in folds:
                rows_train = np.intersect1d(train, np.flatnonzero(train_rows))
                model = self._fit_stacker(F[rows_train], target[rows_train])
                oof[test, j] = model.predict_proba(F[test])[:, 1] if model is not None else target[rows_train].mean()
        self.thresholds_ = np.array([self._best_threshold(y[relevant, 1 + j], oof[relevant, j]) for j in range(N_TARGETS)])
        self.relevance_threshold_ = 0.5
        self.hype_weights_ = self._fit_hype_weights(oof, Z[:, -1], hype_labels)
        self.oof_probabilities_ = oof
        self.oof_relevance_ = Z[:, -1]
        self.n_documents_ = len(texts)
        return self

    def _folds(self, y: np.ndarray, groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        n_splits = max(2, min(self.cv, len(np.unique(groups)), int(np.bincount(y[:, 0]).min()) or 2))
        strata = y[:, 0] * 4 + y[:, 1:6].sum(axis=1).clip(0, 3)
        try:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
            return list(splitter.split(np.zeros(len(y)), strata, groups))
        except ValueError:
            return list(GroupKFold(n_splits=n_splits).split(np.zeros(len(y)), strata, groups))

    def _sentence_matrix(self, sentences: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
        cues = cue_counts(sentences)
        S = sparse.hstack(
            [self.word_vectorizer_.transform(sentences), self.char_vectorizer_.transform(sentences),
             sparse.csr_matrix(np.log1p(cues))],
            format="csr",
        )
        return S, cues

    def _document_matrix(self, S: sparse.csr_matrix, cues: np.ndarray, owner: np.ndarray, n_docs: int,
                         texts: Sequence[str]) -> sparse.csr_matrix:
        """Document rows built from their sentences: summed n-grams (L2-normalised) and summed cues."""
        n_word = len(self.word_vectorizer_.vocabulary_)
        n_char = len(self.char_vectorizer_.vocabulary_)
        membership = sparse.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(n_docs, len(owner)))
        summed = membership @ S[:, : n_word + n_char]
        word = normalize(summed[:, :n_word])
        char = normalize(summed[:, n_word:])
        doc_cues = membership @ cues
        conditions = np.array([[len({m.lower() for m in CONDITIONS.findall(t)})] for t in texts], dtype=float)
        lengths = np.array([[len(t)] for t in texts], dtype=float)
        extra = np.hstack([np.log1p(doc_cues), np.log1p(conditions), np.log1p(lengths) / 10])
        return sparse.hstack([word, char, sparse.csr_matrix(extra)], format="csr")

    def _cue_block(self, D: sparse.csr_matrix) -> np.ndarray:
        n_cues = len(PATTERNS) + 2
        return D[:, -n_cues:].toarray()

    @staticmethod
    def _sentence_targets(texts, doc_sentences, y_targets, evidence) -> list[np.ndarray]:
        """Per target, a label per sentence: 1 evidence, 0 from a document without the target, -1 unknown."""
        labels = []
        for j, name in enumerate(TARGETS):
            per_doc = []
            for text, sents, row, ev in zip(texts, doc_sentences, y_targets, evidence, strict=True):
                if not row[j]:
                    per_doc.append(np.zeros(len(sents), dtype=int))
                    continue
                spans = [(i, i + len(q)) for q in ev.get(name, ()) for i in _find_all(text, q)]
                marks = np.full(len(sents), -1, dtype=int)
                for k, s in enumerate(sents):
                    if any(min(s.end, b) - max(s.start, a) >= 0.5 * min(s.end - s.start, b - a) for a, b in spans):
                        marks[k] = 1
                per_doc.append(marks)
            labels.append(np.concatenate(per_doc))
        return labels

    def _fit_level1(self, S, D, owner, sentence_targets, y, doc_rows) -> dict:
        in_train = np.isin(owner, doc_rows)
        sentence_models, document_models = [], []
        for j in range(N_TARGETS):
            marks = sentence_targets[j]
            rows = in_train & (marks >= 0)
            sentence_models.append(_fit_logistic(S[rows], marks[rows], self.C_sentence, self.random_state))
            document_models.append(_fit_logistic(D[doc_rows], y[doc_rows, 1 + j], self.C_document * 4, self.random_state))
        relevance = _fit_logistic(D[doc_rows], y[doc_rows, 0], self.C_document * 8, self.random_state)
        return {"sentence": sentence_models, "document": document_models, "relevance": relevance}

    def _level1_features(self, level1: dict, S, D, owner, doc_rows) -> np.ndarray:
        out = np.zeros((len(doc_rows), 3 * N_TARGETS + 1))
        sentence_rows = np.isin(owner, doc_rows)
        S_part, owner_part = S[sentence_rows], owner[sentence_rows]
        position = {doc: i for i, doc in enumerate(doc_rows)}
        local_owner = np.array([position[o] for o in owner_part])
        for j in range(N_TARGETS):
            scores = _proba(level1["sentence"][j], S_part)
            out[:, 3 * j] , out[:, 3 * j + 1] = _max_and_top3(scores, local_owner, len(doc_rows))
            out[:, 3 * j + 2] = _proba(level1["document"][j], D[doc_rows])
        out[:, -1] = _proba(level1["relevance"], D[doc_rows])
        return out

    def _fit_stacker(self, F: np.ndarray, target: np.ndarray):
        return _fit_logistic(F, target, self.C_document, self.random_state)

    @staticmethod
    def _best_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
        if truth.sum() == 0 or truth.sum() == len(truth):
            return 0.5
        candidates = np.linspace(0.15, 0.85, 29)
        f1s = [f1_score(truth, scores >= c, zero_division=0) for c in candidates]
        return float(candidates[int(np.argmax(f1s))])

    @staticmethod
    def _fit_hype_weights(probabilities: np.ndarray, relevance: np.ndarray, hype: np.ndarray) -> np.ndarray:
        """Non-negative weights: hype/3 ≈ rel · (w·signals − v·counters + b), fitted by NNLS."""
        gate = relevance[:, None]
        design = np.hstack([
            probabilities[:, : len(SIGNALS)] * gate,
            -probabilities[:, len(SIGNALS):] * gate,
            gate,
        ])
        weights, _ = nnls(design, hype / 3.0)
        return weights

    # ------------------------------------------------------------------ scoring
    def score(self, text: str) -> DocumentScore:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[DocumentScore]:
        texts = list(texts)
        if not texts:
            return []
        doc_sentences = [split_sentences(t) or [Sentence(0, len(t), t)] for t in texts]
        flat = [s.text for sents in doc_sentences for s in sents]
        owner = np.repeat(np.arange(len(texts)), [len(s) for s in doc_sentences])
        S, cues = self._sentence_matrix(flat)
        D = self._document_matrix(S, cues, owner, len(texts), texts)
        rows = np.arange(len(texts))
        Z = self._level1_features(self.level1_, S, D, owner, rows)
        F = np.hstack([Z, self._cue_block(D)])
        probabilities = np.column_stack([_proba(m, F) for m in self.stackers_])
        sentence_scores = [_proba(m, S) for m in self.level1_["sentence"]]
        results = []
        for i, text in enumerate(texts):
            mine = np.flatnonzero(owner == i)
            results.append(self._result(text, doc_sentences[i], Z[i, -1], probabilities[i],
                                        [s[mine] for s in sentence_scores]))
        return results

    def _result(self, text, sentences, relevance, probabilities, sentence_scores) -> DocumentScore:
        relevant = bool(relevance >= self.relevance_threshold_)
        results = {}
        for j, name in enumerate(TARGETS):
            flagged = relevant and probabilities[j] >= self.thresholds_[j] if j < len(SIGNALS) else probabilities[j] >= self.thresholds_[j]
            evidence = self._evidence(sentences, sentence_scores[j], bool(flagged)) if relevant else ()
            results[name] = SignalResult(float(probabilities[j]), bool(flagged), evidence)
        return DocumentScore(
            relevance=float(relevance),
            relevant=relevant,
            hype_score=self.hype_score(relevance, probabilities),
            signals={n: results[n] for n in SIGNALS},
            counter_signals={n: results[n] for n in COUNTER_SIGNALS},
            model_version=getattr(self, "version_", "unversioned"),
            sentences=len(sentences),
        )

    def _evidence(self, sentences: Sequence[Sentence], scores: np.ndarray, flagged: bool) -> tuple[Evidence, ...]:
        order = np.argsort(-scores)[: self.evidence_top_k]
        chosen = [k for k in order if scores[k] >= self.evidence_min_score]
        if flagged and not chosen and len(order):
            chosen = [order[0]]
        return tuple(Evidence(sentences[k].text, sentences[k].start, sentences[k].end, float(scores[k])) for k in chosen)

    def hype_score(self, relevance: float, probabilities: np.ndarray) -> float:
        """0-100. With relevance r, signal probabilities p and counter-signal probabilities q:

        score = 100 · clip(r · (Σ wᵢ·pᵢ − Σ vⱼ·qⱼ + b), 0, 1)

        where w, v, b ≥ 0 are fitted (non-negative least squares, on cross-validated
        probabilities) so the score tracks the guide's 0-3 hype level / 3. It therefore rises with
        every signal, falls with every counter-signal, and is 0 for a page that is not relevant.
        """
        if relevance < self.relevance_threshold_:
            return 0.0
        w = self.hype_weights_
        raw = relevance * (probabilities[: len(SIGNALS)] @ w[: len(SIGNALS)]
                           - probabilities[len(SIGNALS):] @ w[len(SIGNALS): N_TARGETS] + w[-1])
        return float(100 * np.clip(raw, 0.0, 1.0))


def _find_all(text: str, quote: str) -> list[int]:
    positions, start = [], text.find(quote)
    while start != -1:
        positions.append(start)
        start = text.find(quote, start + 1)
    return positions


class _Constant:
    """Stands in for a classifier when the training labels have one class only."""

    def __init__(self, p: float):
        self.p = p

    def predict_proba(self, X) -> np.ndarray:
        n = X.shape[0]
        return np.column_stack([np.full(n, 1 - self.p), np.full(n, self.p)])


def _fit_logistic(X, y, C: float, random_state: int):
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return _Constant(float(y.mean()) if len(y) else 0.0)
    return LogisticRegression(
        C=C, class_weight="balanced", solver="liblinear", max_iter=1000, random_state=random_state
    ).fit(X, y)


def _proba(model, X) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def _max_and_top3(scores: np.ndarray, owner: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    best = np.zeros(n_docs)
    top3 = np.zeros(n_docs)
    order = np.lexsort((-scores, owner))
    sorted_owner, sorted_scores = owner[order], scores[order]
    starts = np.searchsorted(sorted_owner, np.arange(n_docs))
    ends = np.searchsorted(sorted_owner, np.arange(n_docs), side="right")
    for d in range(n_docs):
        chunk = sorted_scores[starts[d] : ends[d]]
        if len(chunk):
            best[d] = chunk[0]
            top3[d] = chunk[:3].mean()
    return best, top3
