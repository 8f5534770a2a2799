"""The systems the model is compared with: a keyword alert and scikit-learn's DummyClassifier.

Both follow the model's output layout: `predict_proba(texts)` and `predict(texts)` give an
(n, 10) array of relevance then `TARGETS` (`signals.OUTPUTS`), and `hype_scores(texts)` a 0-100
score per text.

`KeywordBaseline` is what a keyword alert does: a fixed list of hype words per signal (and per
counter-signal), matched case-insensitively on word boundaries; a signal is flagged when any of
its words occurs. It is given the same relevance gate a keyword alert would use (a stem-cell word
and an MS word both present), which makes it a stronger, fairer baseline than no gate. Its
"probability" is a monotone function of the number of hits (for ROC-AUC), and its hype score is
20 points per flagged signal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from classifier.signals import OUTPUTS, SIGNALS, TARGETS

KEYWORDS: dict[str, tuple[str, ...]] = {
    "cure_claim": ("cure", "cures", "cured", "reverse", "reverses", "reversed", "reversal", "disease-free",
                   "miracle", "breakthrough", "game-changer", "game changer", "halt", "halts", "halted",
                   "stop MS", "stops MS", "walk again", "walked again", "success rate", "remission",
                   "in its tracks", "MS-free"),
    "clinic_promotion": ("price", "prices", "cost", "package", "packages", "book now", "book a", "book your",
                         "consultation", "contact us", "call us", "our clinic", "our patients", "financing",
                         "discount", "affordable", "all-inclusive", "payment plan"),
    "missing_trial_reference": ("studies show", "studies have shown", "studies have found", "research shows",
                                "research has shown", "research suggests", "a recent study", "a new study",
                                "clinically proven", "proven", "success rate", "of our patients"),
    "testimonial": ("testimonial", "testimonials", "my story", "success story", "success stories",
                    "patient story", "patient stories", "I walked", "I can walk", "changed my life",
                    "my life back", "since my treatment", "after my treatment", "I feel"),
    "risk_minimisation": ("safe", "no side effects", "risk-free", "no risk", "no risks", "minimally invasive",
                          "no downtime", "natural", "painless", "your own cells", "no rejection"),
    "trial_reference": ("NCT", "ISRCTN", "randomised", "randomized", "journal", "published in", "doi", "PMID",
                        "MIST", "BEAT-MS"),
    "risk_disclosure": ("side effects", "infection", "infections", "death", "deaths", "mortality",
                        "complications", "adverse events", "chemotherapy", "risks"),
    "regulatory_status": ("FDA", "EMA", "not approved", "unapproved", "experimental", "regulator",
                          "warning letter", "unproven"),
    "hedging": ("may", "might", "could", "preliminary", "early", "more research", "small study", "uncertain"),
}
RELEVANCE_KEYWORDS = (
    ("stem cell", "stem cells", "stem-cell", "HSCT", "aHSCT", "mesenchymal", "MSC", "MSCs", "exosome",
     "exosomes", "umbilical", "SVF", "regenerative"),
    ("multiple sclerosis", "MS"),
)


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class KeywordBaseline(ClassifierMixin, BaseEstimator):
    """A keyword alert: fixed hype words per signal, a topic-word relevance gate. Learns nothing."""

    def __init__(self, keywords: dict[str, tuple[str, ...]] | None = None):
        self.keywords = keywords

    def fit(self, X, y=None, **fit_params) -> KeywordBaseline:
        words = self.keywords or KEYWORDS
        self.patterns_ = [_pattern(words[name]) for name in TARGETS]
        self.relevance_patterns_ = [_pattern(group) for group in RELEVANCE_KEYWORDS]
        self.classes_ = np.array([0, 1])
        return self

    def _hits(self, texts: Sequence[str]) -> np.ndarray:
        hits = np.zeros((len(texts), len(OUTPUTS)))
        for i, text in enumerate(texts):
            topic = [len(p.findall(text)) for p in self.relevance_patterns_]
            hits[i, 0] = min(topic)
            hits[i, 1:] = [len(p.findall(text)) for p in self.patterns_]
        return hits

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        hits = self._hits(list(X))
        relevant = hits[:, :1] > 0
        scores = hits / (1.0 + hits)
        scores[:, 1:] *= relevant
        return scores

    def predict(self, X: Sequence[str]) -> np.ndarray:
        hits = self._hits(list(X))
        flags = hits > 0
        flags[:, 1:] &= flags[:, :1]
        return flags.astype(int)

    def hype_scores(self, X: Sequence[str]) -> np.ndarray:
        flags = self.predict(X)
        return 20.0 * flags[:, 1:1 + len(SIGNALS)].sum(axis=1)


class DummyBaseline(ClassifierMixin, BaseEstimator):
    """`sklearn.dummy.DummyClassifier` per output (and for the 0-3 hype level): chance level."""

    def __init__(self, strategy: str = "stratified", random_state: int = 0):
        self.strategy = strategy
        self.random_state = random_state

    def fit(self, X, y, hype=None, **fit_params) -> DummyBaseline:
        y = np.asarray(y)
        n = len(y)
        placeholder = np.zeros((n, 1))
        self.estimators_ = []
        for k in range(y.shape[1]):
            known = y[:, k] >= 0
            self.estimators_.append(DummyClassifier(strategy=self.strategy, random_state=self.random_state + k)
                                    .fit(placeholder[known], y[known, k]))
        hype = np.asarray(hype if hype is not None else np.zeros(n), dtype=int)
        self.hype_estimator_ = DummyClassifier(strategy=self.strategy, random_state=self.random_state + 99).fit(
            placeholder[hype >= 0], hype[hype >= 0])
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        placeholder = np.zeros((len(X), 1))
        columns = []
        for est in self.estimators_:
            proba = est.predict_proba(placeholder)
            columns.append(proba[:, list(est.classes_).index(1)] if 1 in est.classes_ else np.zeros(len(X)))
        return np.column_stack(columns)

    def predict(self, X) -> np.ndarray:
        placeholder = np.zeros((len(X), 1))
        flags = np.column_stack([est.predict(placeholder) for est in self.estimators_]).astype(int)
        flags[:, 1:] &= flags[:, :1]
        return flags

    def hype_scores(self, X) -> np.ndarray:
        return self.hype_estimator_.predict(np.zeros((len(X), 1))) * 100.0 / 3.0
