"""classifier.grounding: the registry's judgements of cited trials move `missing_trial_reference`."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.grounding import TRIAL_JUDGEMENT_LOGIT, JudgedCitation, ground_score, reference_shift
from classifier.model import HypeModel
from classifier.registry import ModelRegistry
from classifier.signals import OUTPUTS, TARGETS
from classifier.trials import IN_PROGRESS, NOT_FOUND, NOT_MS, STOPPED, UNVERIFIED, VERIFIED

SIGNAL = "missing_trial_reference"
CLAIM = "Our treatment is proven in our clinical trial NCT10000002."
PAGE = ("Multiple sclerosis patients ask about stem cell treatment. " + CLAIM + " Our doctors review every case "
        "before a consultation, and the clinic answers questions by phone.")
STRONG = PAGE.replace(CLAIM, "Our stem cell treatment stops MS. " + CLAIM)  # the text alone flags it


@pytest.fixture(scope="module")
def model(model_dir) -> HypeModel:
    loaded, _ = ModelRegistry(model_dir).load()
    return loaded


def cited(text: str, *judgements: str) -> list[JudgedCitation]:
    start = text.index("NCT")
    return [JudgedCitation("NCT10000002", judgements, ((start, start + 11),))]


def test_the_shift_is_one_constant_up_for_misuse_down_for_backing_and_nothing_unverified():
    assert reference_shift(cited(PAGE, STOPPED)) == TRIAL_JUDGEMENT_LOGIT
    assert reference_shift(cited(PAGE, NOT_MS, NOT_FOUND)) == TRIAL_JUDGEMENT_LOGIT
    assert reference_shift(cited(PAGE, VERIFIED)) == reference_shift(cited(PAGE, IN_PROGRESS)) == -TRIAL_JUDGEMENT_LOGIT
    assert reference_shift(cited(PAGE, UNVERIFIED)) == reference_shift([]) == 0.0
    assert reference_shift(cited(PAGE, STOPPED) + [JudgedCitation("NCT10000001", (VERIFIED,))]) == 0.0


def test_a_misused_trial_flags_the_signal_with_the_citing_sentence_as_evidence(model):
    score = model.score(PAGE)
    assert score.relevant and not score.signals[SIGNAL].flagged
    grounded = ground_score(score, cited(PAGE, STOPPED), text=PAGE, model=model)
    result = grounded.signals[SIGNAL]
    assert result.flagged and result.probability > score.signals[SIGNAL].probability
    assert [e.text for e in result.evidence] == [CLAIM]
    assert PAGE[result.evidence[0].start:result.evidence[0].end] == CLAIM
    assert result.registry is not None and result.registry.logit == TRIAL_JUDGEMENT_LOGIT
    assert result.registry.citations == (("NCT10000002", (STOPPED,)),) and not result.registry.flagged_before
    assert grounded.hype_score > score.hype_score
    assert {n: r for n, r in grounded.signals.items() if n != SIGNAL} == {
        n: r for n, r in score.signals.items() if n != SIGNAL}
    assert grounded.counter_signals == score.counter_signals and grounded.relevance == score.relevance
    assert grounded.to_dict()["signals"][SIGNAL]["registry"]["citations"] == [
        {"identifier": "NCT10000002", "judgements": [STOPPED]}]


def test_a_verified_trial_brings_a_flag_below_its_threshold_and_lowers_the_hype_score(model):
    score = model.score(STRONG)
    assert score.signals[SIGNAL].flagged
    grounded = ground_score(score, cited(STRONG, VERIFIED), text=STRONG, model=model)
    result = grounded.signals[SIGNAL]
    assert not result.flagged and result.evidence == () and result.registry is not None
    assert result.registry.flagged_before and result.registry.logit == -TRIAL_JUDGEMENT_LOGIT
    assert grounded.hype_score < score.hype_score


def test_the_hype_score_is_the_models_own_function_of_the_moved_probabilities(model):
    score = model.score(STRONG)
    grounded = ground_score(score, cited(STRONG, VERIFIED), text=STRONG, model=model)
    signals = model.named_steps["signals"]
    both = {**grounded.signals, **grounded.counter_signals}
    conditional = np.array([grounded.relevance] + [both[n].probability / grounded.relevance for n in TARGETS])
    assert grounded.hype_score == pytest.approx(float(signals.hype_scores(conditional[None, :])[0]))
    weight = signals.hype_weights_[OUTPUTS.index(SIGNAL)]
    moved = score.signals[SIGNAL].probability - grounded.signals[SIGNAL].probability
    assert score.hype_score - grounded.hype_score == pytest.approx(100 * weight * moved)


def test_unverified_citations_and_pages_off_the_topic_are_left_as_scored(model):
    score = model.score(PAGE)
    assert ground_score(score, cited(PAGE, UNVERIFIED), text=PAGE, model=model) is score
    assert ground_score(score, [], text=PAGE, model=model) is score
    off_topic = "The council resurfaced the high street. " + CLAIM
    plain = model.score(off_topic)
    grounded = ground_score(plain, cited(off_topic, STOPPED), text=off_topic, model=model)
    assert not grounded.signals[SIGNAL].flagged and grounded.hype_score == 0.0
