"""The trial registry's judgements as evidence for `missing_trial_reference`.

The guide's `missing_trial_reference` is a benefit claimed with no way to find its evidence, or
with legitimacy markers misused as proof. The text alone cannot tell a registry identifier that
backs a claim from one that does not: "proven in our clinical trial NCT0…" reads the same whether
the record is a completed MS cell-therapy trial with results or a withdrawn one. The registry can
(`classifier.trials.judge`), so its judgements are two more features of the signal, added after
the model has scored the text:

- a verified or in-progress relevant trial is evidence that can be found: the signal's logit
  goes down by `TRIAL_JUDGEMENT_LOGIT`;
- a misused one (not found, not about MS or a cell therapy, stopped, no results, sponsored by the
  clinic, participants pay) is a legitimacy marker offered as proof: the logit goes up as much,
  and the sentences citing it become the signal's evidence;
- an unverified one (no record to check it against) changes nothing: never a judgement on a guess.

A page citing both kinds gets both features, which cancel: the text's own evidence decides.

The shift is a fixed coefficient, not a fitted one: the corpus has no registry records to fit it
on. It acts on the calibrated probability given relevance, as a stacker input would, so a page
whose text already shows it makes no benefit claim (probability near 0) stays below the flag,
while a vague claim beside a withdrawn trial crosses it. The flag, the relevance gate and the hype
score are then derived from the shifted probabilities exactly as `HypeSignals.score_bundle` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from scipy.special import expit, logit

from classifier.model import DocumentScore, Evidence, HypeModel, HypeSignals, RegistryShift, SignalResult
from classifier.signals import OUTPUTS, TARGETS
from classifier.text import split_sentences
from classifier.trials import IN_PROGRESS, MISUSE, VERIFIED

SIGNAL = "missing_trial_reference"
# How far one kind of judgement moves the signal's log-odds. On the written corpus, the pages that
# cite a registry identifier and are flagged anyway have a median log-odds of about +1.4 (and the
# shipped threshold, 0.16, is about -1.7): a shift of 4 brings such a typical flag below the
# threshold (about 7 in 10 of them), and the same shift up flags a page whose vague claim sat
# just under it, but not one that makes no claim (log-odds below -6).
TRIAL_JUDGEMENT_LOGIT = 4.0
# Probabilities are kept off 0 and 1 before taking their log-odds.
_EPSILON = 1e-9
# A sentence citing a misused trial is the registry's evidence, not a sentence model's score:
# it is shown with full weight.
CITING_SENTENCE_SCORE = 1.0


class JudgedCitationLike(Protocol):
    """A trial a page cites, judged: its identifier, where the page cites it, the judgements."""

    @property
    def identifier(self) -> str: ...
    @property
    def spans(self) -> Sequence[tuple[int, int]]: ...
    @property
    def judgements(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class JudgedCitation:
    """A judged citation, for callers that have no object of their own."""

    identifier: str
    judgements: tuple[str, ...]
    spans: tuple[tuple[int, int], ...] = ()


def misused(citation: JudgedCitationLike) -> bool:
    return any(j in MISUSE for j in citation.judgements)


def backed(citation: JudgedCitationLike) -> bool:
    """A relevant trial the registry confirms: completed with results, or not due yet."""
    return not misused(citation) and any(j in (VERIFIED, IN_PROGRESS) for j in citation.judgements)


def reference_shift(citations: Sequence[JudgedCitationLike]) -> float:
    """The log-odds shift of `missing_trial_reference` the judgements add: +`TRIAL_JUDGEMENT_LOGIT`
    when a cited trial is misused, minus as much when one is verified or in progress (both: 0)."""
    return TRIAL_JUDGEMENT_LOGIT * (any(misused(c) for c in citations) - any(backed(c) for c in citations))


def ground_score(score: DocumentScore, citations: Sequence[JudgedCitationLike], *, text: str,
                 model: HypeModel | HypeSignals) -> DocumentScore:
    """`score` (the model's score of `text`) with `missing_trial_reference` moved by the registry's
    judgements of the trials `text` cites (`reference_shift`), its flag, evidence and the hype
    score recomputed; unchanged when no judgement moves it (none cited, all unverified, or the
    page is not about the topic at all).

    `model` is the one that scored `text`: its threshold flags the signal and its `hype_scores`
    gives the hype score. A document's probabilities are P(relevant) x P(signal | relevant)
    (`DocumentScore`), so the conditional probabilities the hype score is made of are read back
    by dividing by the relevance.
    """
    shift = reference_shift(citations)
    relevance = score.relevance
    if shift == 0.0 or relevance <= 0.0:
        return score
    signals = model.named_steps["signals"] if isinstance(model, HypeModel) else model
    results = {**score.signals, **score.counter_signals}
    conditional = np.array([relevance] + [results[name].probability / relevance for name in TARGETS])
    k = OUTPUTS.index(SIGNAL)
    before = results[SIGNAL]
    conditional[k] = expit(logit(np.clip(conditional[k], _EPSILON, 1 - _EPSILON)) + shift)
    probability = float(relevance * conditional[k])
    flagged = score.relevant and probability >= float(signals.thresholds_[k])
    moved_by = tuple(c for c in citations if (misused(c) if shift > 0 else backed(c)))
    evidence: tuple[Evidence, ...] = ()
    if flagged:
        evidence = before.evidence if before.flagged else ()
        if shift > 0:
            evidence = _with_citing_sentences(text, moved_by, evidence, signals.evidence_top_k)
    moved = SignalResult(probability, flagged, evidence, RegistryShift(
        shift, before.probability, before.flagged,
        tuple((c.identifier, tuple(c.judgements)) for c in moved_by)))
    hype = float(signals.hype_scores(conditional[None, :])[0]) if score.relevant else 0.0
    return replace(score, hype_score=hype, signals={**score.signals, SIGNAL: moved})


def _with_citing_sentences(text: str, citations: Sequence[JudgedCitationLike], evidence: tuple[Evidence, ...],
                           top_k: int) -> tuple[Evidence, ...]:
    """The sentences citing `citations`, and as many of the model's own evidence sentences as keep
    the total within `top_k` (the citing ones are always kept), in text order."""
    starts = sorted(start for c in citations for start, _ in c.spans)
    citing: dict[int, Evidence] = {}
    sentences = split_sentences(text)
    for start in starts:
        sentence = next((s for s in sentences if s.start <= start < s.end), None)
        if sentence is not None:
            citing.setdefault(sentence.start, Evidence(sentence.text, sentence.start, sentence.end,
                                                       CITING_SENTENCE_SCORE))
    others = [e for e in evidence if e.start not in citing][:max(top_k - len(citing), 0)]
    return tuple(sorted([*citing.values(), *others], key=lambda e: e.start))
