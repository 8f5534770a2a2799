"""The hype classifier: scores a document for the annotation guide's signals, with evidence.

It imports nothing else of hypewatch's, so the model can be trained, evaluated and used alone.

- `signals`: the vocabulary of the guide (signal names, labels, the hype bands).
- `text`, `furniture`, `topic`, `lexicon`, `features`: sentences with offsets, lines that are not
  prose, the two topics, the analyst cue lexicon, and the featurizer built on them.
- `model`: the scikit-learn Pipeline (`HypeModel`) and its `DocumentScore`.
- `corpus`, `realset`: the written corpus in `seeds/` and the real-page development set.
- `baselines`, `evaluation`, `thresholds`: the keyword and dummy baselines, cross-validation and
  real-page evaluation, and the flag thresholds chosen on real pages.
- `registry`: trained models on disk, versioned and checked by hash.
- `references`, `trials`: the registry ids, named trials, DOIs and PMIDs a text cites (with
  offsets), and the judgements of a cited trial against its registry record.
- `grounding`: those judgements as evidence for `missing_trial_reference`, applied to a score.
- `errors`: the package's exceptions.
"""
