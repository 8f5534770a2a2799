"""Cue features (one tokenisation pass), the featurizer's matrices and its persisted vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.features import FAMILIES, TextFeaturizer, analyse, cue_summary, distinct_conditions
from classifier.text import split_sentences


@pytest.mark.parametrize(("text", "family"), [
    ("The trial is registered as NCT01234567.", "registry_id"),
    ("Registered at ISRCTN12345678 and EudraCT 2019-001234-56.", "registry_id"),
    ("See doi:10.1001/jama.2018.18648 and PMID 30667502.", "doi_pmid"),
    ("The MIST trial and BEAT-MS are randomised.", "named_trial"),
    ("Results were published in JAMA Neurology.", "journal"),
    ("A recent study showed remarkable results.", "vague_study"),
    ("Studies have shown that patients improve.", "vague_study"),
    ("The package costs $24,800 including the hotel.", "price"),
    ("Treatment from 18.500 EUR per cycle.", "price"),
    ("Book your free consultation today.", "call_to_action"),
    ("Write to info@clinic.example or call +52 998 000 1147.", "contact"),
    ("Our patients see results and we offer financing.", "provider_voice"),
    ("I walked my daughter down the aisle after my treatment.", "first_person"),
    ("It may help, but early results are preliminary.", "hedge"),
    ("Our treatment reverses MS and halts progression.", "efficacy"),
    ("There is no cure for MS.", "efficacy_negated"),
    ("The procedure has no side effects.", "risk_negated"),
    ("Risks include infection, febrile neutropenia and death.", "named_risk"),
    ("It is completely safe and minimally invasive.", "safety_claim"),
    ("These products are not approved by the FDA.", "unapproved"),
    ("Our lab is FDA-registered and IRB-approved.", "legitimacy_marker"),
    ("Can stem cells cure MS?", "efficacy_question"),
    ("The clinic claimed its cells cure MS.", "efficacy_reported"),
    ("Mesenchymal stem cells for multiple sclerosis.", "topic_cooccurrence"),
])
def test_cue_families_are_found(text, family):
    assert family in FAMILIES
    assert cue_summary(text).get(family, 0) >= 1, cue_summary(text)


def test_negation_scope_flips_efficacy_and_risk_words_only_nearby():
    assert "efficacy" not in cue_summary("There is no cure for MS.")
    assert cue_summary("No, we cannot promise anything, but many patients say this cured their MS.").get("efficacy")
    assert "named_risk" not in cue_summary("There are no side effects.")
    assert cue_summary("Side effects include infection.")["named_risk"] >= 2


def test_distinct_conditions_counts_each_condition_once():
    text = ("We treat autism, ALS, Parkinson's, multiple sclerosis, lupus and diabetes. "
            "Autism and lupus patients love us.")
    assert distinct_conditions(text) == 6
    assert distinct_conditions("Stem cells for multiple sclerosis.") == 1


def test_analysis_keeps_sentence_offsets():
    text = "Title line\nDr. Smith said it may work. Another sentence!  Last one?"
    doc = analyse(text)
    assert [s.text for s in doc.sentences] == [s.text for s in split_sentences(text)]
    for sentence in doc.sentences:
        assert text[sentence.start:sentence.end] == sentence.text
    assert "Dr. Smith said it may work." in [s.text for s in doc.sentences]


def test_featurizer_matrices_line_up_with_sentences_and_documents():
    texts = ["Stem cells cure MS. Book now for $5,000!", "There is no cure for MS. Risks include death.",
             "Broccoli soup recipe."] * 3
    featurizer = TextFeaturizer(min_df=1)
    bundle = featurizer.fit_transform(texts)
    assert bundle.sentence_matrix.shape[0] == bundle.offsets[-1] == sum(len(s) for s in bundle.sentences)
    assert bundle.document_matrix.shape[0] == len(texts) == bundle.document_cues.shape[0]
    assert bundle.sentence_matrix.shape[1] == featurizer.n_sentence_features_
    # TF-IDF part of each non-empty row has unit length.
    terms = bundle.sentence_matrix[:, : featurizer.n_terms_].toarray()
    norms = np.linalg.norm(terms, axis=1)
    assert np.allclose(norms[norms > 0], 1.0)
    again = featurizer.transform(texts)
    assert (again.sentence_matrix != bundle.sentence_matrix).nnz == 0
    subset = bundle.subset([2, 0])
    assert subset.texts == [texts[2], texts[0]]
    assert (subset.sentence_matrix != featurizer.transform([texts[2], texts[0]]).sentence_matrix).nnz == 0


def test_featurizer_state_stores_the_vocabulary_as_arrays_not_dicts():
    featurizer = TextFeaturizer(min_df=1).fit(["stem cells cure MS", "no cure for MS"])
    state = featurizer.__getstate__()
    assert isinstance(state["unigrams_"], np.ndarray) and state["unigrams_"].dtype.kind == "U"
    assert isinstance(state["bigram_pairs_"], np.ndarray) and state["bigram_pairs_"].dtype.kind == "i"
    assert not any(isinstance(v, dict) for v in state.values())
    clone = TextFeaturizer.__new__(TextFeaturizer)
    clone.__setstate__(state)
    text = ["stem cells cure MS"]
    assert (clone.transform(text).sentence_matrix != featurizer.transform(text).sentence_matrix).nnz == 0
