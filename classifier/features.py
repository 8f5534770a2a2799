"""Text features: one tokenisation pass per document gives word n-grams and analyst cue counts.

`TextFeaturizer` is the first step of the model's Pipeline. For each document it splits the text
into sentences (with offsets), tokenises every sentence once and, from that single pass, builds

* TF-IDF word unigrams and bigrams per sentence, and summed per document, from a vocabulary
  fitted on the training texts;
* counts of analyst *cue families* (`FAMILIES`) per sentence and per document: trial registry IDs,
  DOIs and PMIDs, named trials and journals, study attributions, vague attributions ("research
  shows"), in-house statistics, prices and currencies, calls to action, contact details,
  first-person provider voice ("our patients", "we offer"), first-person patient voice, travel
  logistics, named clinics, fundraising, hedges, negations, efficacy and benefit words (split by
  negation scope, questions and reported speech), named risks, negated risks ("no side effects"),
  safety claims, regulators and approval status, legitimacy markers offered as proof,
  patient-story vocabulary, page furniture, and the topic words that decide relevance (stem-cell
  terms and MS terms, strong and contextual);
* document-level extras (`DOC_EXTRAS`): how many distinct conditions the page offers to treat,
  whether it names both topics, its length, and how prose-like it is (reference lists,
  navigation and tag pages are not prose).

Negation scope: a negator ("no", "not", "without", ... in several languages) up to
`NEGATION_WINDOW` tokens before an efficacy, benefit, risk or safety word turns it into its
negated family, so "there is no cure" is not a cure word and "no side effects" is a safety claim,
not a named risk.

Speed: cue words are found by dictionary look-ups on the tokens (memoised per distinct token),
multi-word cues by a phrase table keyed on the first two tokens, structured tokens (NCT numbers,
PMC ids, "XYZ-MS" trial acronyms) by patterns checked once per distinct token; n-gram columns by
one vectorised look-up. Nothing runs once per cue or per n-gram in Python, which keeps scoring a
1,000-word page to a few milliseconds.

Persistence: the fitted vocabulary is NumPy arrays (`unigrams_`, `bigram_pairs_`, `idf_`), which
skops saves and loads quickly; the look-up tables are rebuilt from them on load.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from classifier.furniture import is_furniture
from classifier.lexicon import (
    CASED,
    FACILITY_WORDS,
    FAMILIES,
    LEXICON,
    N_FAMILIES,
    NEGATED,
    NEGATION_WINDOW,
    NOT_NAMES,
    PHRASES,
    PMC_TOKEN,
    PREFIXES,
    REGISTRY_TOKEN,
    TRIAL_TOKEN,
    F,
)
from classifier.text import Sentence, split_sentences
from classifier.topic import mentions_topic

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*|[$€£%!?@+“”\"«»„›·•|]")
_DIGIT = re.compile(r"\d")

_PREFIX_ITEMS = tuple((prefix, F[family]) for prefix, family in PREFIXES.items())
_NEGATORS = {w for w, fam in LEXICON.items() if fam == "negation"}
_CONDITION_FAMILY = F["condition"]


def _analyse_token(raw: str) -> tuple[str, tuple[int, ...], tuple[int, ...], bool, bool, bool, bool, bool]:
    """(normalised form, plain cue families, negatable cue families, is a negator, may start a
    phrase, is capitalised, is a facility word, needs a look: negator, phrase, facility or a cue)."""
    lower = raw.lower().replace("’", "'")
    norm = _DIGIT.sub("0", lower) if any(c.isdigit() for c in lower) else lower
    families: list[int] = []
    cased = CASED.get(raw)
    if cased is not None:
        families.append(F[cased])
    family = LEXICON.get(lower)
    if family is not None and cased != family:
        families.append(F[family])
    if family is None and cased is None:
        if REGISTRY_TOKEN.match(raw):
            families.append(F["registry_id"])
        elif PMC_TOKEN.match(raw):
            families.append(F["doi_pmid"])
        elif TRIAL_TOKEN.match(raw):
            families.append(F["named_trial"])
        for prefix, fam in _PREFIX_ITEMS:
            if lower.startswith(prefix):
                families.append(fam)
                break
    families.extend(f for f in _SINGLE_TOKEN_PHRASES.get(norm, ()) if f not in families)
    if norm != lower:
        families.append(F["number"])
    if raw == "?":
        families.append(F["question"])
    elif raw == "!":
        families.append(F["exclaim"])
    elif raw == "%":
        families.append(F["statistic"])
    elif raw in "$€£":
        families.append(F["price"])
    plain = tuple(f for f in families if f not in NEGATED)
    scoped = tuple(f for f in families if f in NEGATED)
    negator = norm in _NEGATORS
    phrase = norm in _PHRASE_FIRST
    capital = raw[:1].isupper()
    facility = norm in FACILITY_WORDS
    return norm, plain, scoped, negator, phrase, capital, facility, bool(plain or scoped or negator or phrase or facility)


# Phrases are matched on normalised tokens: first token -> second token -> lengths to try (longest
# first). A "phrase" that tokenises to one token ("side-effects") is looked up with the token.
_PHRASE_FIRST: set[str] = set()  # filled below, once the phrases are tokenised
_SINGLE_TOKEN_PHRASES: dict[str, tuple[int, ...]] = {}
_PHRASE_TABLE: dict[tuple[str, ...], tuple[int, ...]] = {}
for _phrase, _families in PHRASES.items():
    _key = tuple(_analyse_token(t)[0] for t in _TOKEN.findall(_phrase))
    if len(_key) == 1:
        _SINGLE_TOKEN_PHRASES[_key[0]] = tuple(F[f] for f in _families)
    else:
        _PHRASE_TABLE[_key] = tuple(F[f] for f in _families)
_PHRASE_NEXT: dict[str, dict[str, tuple[int, ...]]] = {}
for _key in _PHRASE_TABLE:
    _lengths = _PHRASE_NEXT.setdefault(_key[0], {}).get(_key[1], ())
    _PHRASE_NEXT[_key[0]][_key[1]] = tuple(sorted({*_lengths, len(_key)}, reverse=True))
_PHRASE_FIRST.update(_PHRASE_NEXT)
_TOKEN_CACHE: dict[str, tuple] = {}
_TOKEN_CACHE_LIMIT = 200_000


def _token_info(raw: str) -> tuple:
    info = _TOKEN_CACHE.get(raw)
    if info is None:
        if len(_TOKEN_CACHE) >= _TOKEN_CACHE_LIMIT:
            _TOKEN_CACHE.clear()
        info = _TOKEN_CACHE[raw] = _analyse_token(raw)
    return info


@dataclass
class AnalysedDocument:
    """One document after the single tokenisation pass (flat lists, counted per sentence)."""

    text: str
    sentences: list[Sentence]
    tokens: list[str]  # normalised tokens of all sentences, in order
    token_counts: list[int]  # tokens per sentence
    cues: list[int]  # cue family ids of all sentences (one per hit)
    cue_counts: list[int]  # cues per sentence
    conditions: set[str]
    furniture: list[bool]  # per sentence: page furniture, not prose (`classifier.furniture`)

    def sentence_tokens(self) -> list[list[str]]:
        out, start = [], 0
        for n in self.token_counts:
            out.append(self.tokens[start : start + n])
            start += n
        return out


def analyse(text: str) -> AnalysedDocument:
    """Split, tokenise and find cues in one pass over `text`."""
    sentences = split_sentences(text) or [Sentence(0, len(text), text)]
    tokens: list[str] = []
    token_counts: list[int] = []
    cues: list[int] = []
    cue_counts: list[int] = []
    conditions: set[str] = set()
    cache_get = _TOKEN_CACHE.get
    findall = _TOKEN.findall
    negated, phrase_table, phrase_next = NEGATED, _PHRASE_TABLE, _PHRASE_NEXT
    question, efficacy, stem, ms = F["question"], F["efficacy"], F["stem_cell"], F["ms"]
    reported = (F["reported_claim"], F["warning"], F["quote"])
    condition = _CONDITION_FAMILY
    named_clinic = F["named_clinic"]
    for sentence in sentences:
        infos = [cache_get(raw) or _token_info(raw) for raw in findall(sentence.text)]
        sentence_tokens = [info[0] for info in infos]
        n = len(sentence_tokens)
        sentence_cues: list[int] = []
        hits: list[tuple[int, int]] = []
        negators: list[int] = []
        for i in [i for i, info in enumerate(infos) if info[7]]:
            _, plain, scoped, negator, phrase, _, facility, _ = infos[i]
            if facility and ((i > 1 and infos[i - 1][5] and sentence_tokens[i - 1] not in NOT_NAMES)
                             or (i + 1 < n and infos[i + 1][5])):
                sentence_cues.append(named_clinic)
            if plain:
                sentence_cues.extend(plain)
                if condition in plain:
                    conditions.add(sentence_tokens[i])
            if scoped:
                hits.extend((i, fam) for fam in scoped)
            if negator:
                negators.append(i)
            if not phrase or i + 1 >= n:
                continue
            for length in phrase_next[sentence_tokens[i]].get(sentence_tokens[i + 1], ()):
                if i + length <= n:
                    families = phrase_table.get(tuple(sentence_tokens[i : i + length]))
                    if families is not None:
                        for fam in families:
                            if fam in negated and sentence_tokens[i] not in _NEGATORS:
                                hits.append((i, fam))
                            else:  # includes phrases that carry their own negation ("no risk")
                                sentence_cues.append(fam)
                                if fam == condition:
                                    conditions.add(" ".join(sentence_tokens[i : i + length]))
                        break
        # Negation scope: a negator shortly before an efficacy, benefit, risk or safety cue flips it.
        for i, fam in hits:
            if negators and any(i - NEGATION_WINDOW <= j < i for j in negators):
                sentence_cues.append(negated[fam])
            else:
                sentence_cues.append(fam)
        if efficacy in sentence_cues:
            if question in sentence_cues:
                sentence_cues.append(F["efficacy_question"])
            if any(r in sentence_cues for r in reported):
                sentence_cues.append(F["efficacy_reported"])
        if stem in sentence_cues and ms in sentence_cues:
            sentence_cues.append(F["topic_cooccurrence"])
        tokens.extend(sentence_tokens)
        token_counts.append(n)
        cues.extend(sentence_cues)
        cue_counts.append(len(sentence_cues))
    furniture = [is_furniture(sentence.text) for sentence in sentences]
    return AnalysedDocument(text, sentences, tokens, token_counts, cues, cue_counts, conditions, furniture)


# ------------------------------------------------------------------------------ the featurizer
# Document-level extra columns (after the summed cue families).
DOC_EXTRAS = ("distinct_conditions", "log_tokens", "log_sentences", "mean_sentence_tokens",
              "short_sentence_share", "number_share", "cue_density", "both_topics", "punctuated_share",
              "list_line_share", "prose_share")
_LIST_LINE = re.compile(r"(?:[-–—•*·]+|\d{1,3}[.)])\s")
_PUNCTUATED = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_LINE_END = re.compile(r"[.!…:;][\"'”’)\]]*[^\w\s.!?…:;]*$")  # may end in emoji
_CJK_SENTENCE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]{12,}.*[。！？]")
_INNER_BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*\s+[\"“‘(]?[^\W_]")


def prose_share(text: str) -> float:
    """Share of the text's characters in prose lines: not a list item, six words or more, and
    ending like a sentence or holding a sentence boundary. Titles, dates, menus, link lists and
    reference lists are not prose; article and forum text mostly is."""
    total = prose = 0
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        total += len(line)
        if _CJK_SENTENCE.search(line):  # Chinese and Japanese prose has no spaces between words
            prose += len(line)
        elif (len(line.split()) >= 6 and not _LIST_LINE.match(line)
                and (_LINE_END.search(line) or _INNER_BOUNDARY.search(line))):
            prose += len(line)
    return prose / total if total else 0.0


@dataclass
class FeatureBundle:
    """What `TextFeaturizer.transform` hands to the signal model.

    `sentence_matrix` rows are the sentences of all documents in order (`offsets[i]:offsets[i+1]`
    are document i's); its columns are TF-IDF n-grams then log-scaled cue counts.
    `document_matrix` has one row per document with the same columns (n-grams summed over the
    document's sentences). `document_cues` is dense: the document's log-scaled cue counts, then
    `DOC_EXTRAS`; `document_design()` is the document models' input (matrix plus extras).
    """

    texts: list[str]
    sentences: list[list[Sentence]]
    offsets: np.ndarray
    sentence_matrix: sparse.csr_matrix
    document_matrix: sparse.csr_matrix
    document_cues: np.ndarray
    prose: np.ndarray  # `prose_share` of each text
    words: np.ndarray  # tokens in each text
    topic: np.ndarray  # per text: names both MS and a cell treatment (`classifier.topic`)
    furniture: np.ndarray  # per sentence row: page furniture (never evidence of a hype signal)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def document_extras(self) -> np.ndarray:
        return self.document_cues[:, N_FAMILIES:]

    def document_design(self) -> sparse.csr_matrix:
        return sparse.hstack([self.document_matrix, sparse.csr_matrix(self.document_extras)], format="csr")

    def subset(self, selected: Sequence[int] | np.ndarray) -> FeatureBundle:
        rows = np.asarray(selected, dtype=int)
        lengths = np.diff(self.offsets)[rows]
        sentence_rows = (np.concatenate([np.arange(self.offsets[r], self.offsets[r + 1]) for r in rows])
                         if len(rows) else np.zeros(0, dtype=int))
        return FeatureBundle(
            texts=[self.texts[r] for r in rows],
            sentences=[self.sentences[r] for r in rows],
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            sentence_matrix=self.sentence_matrix[sentence_rows],
            document_matrix=self.document_matrix[rows],
            document_cues=self.document_cues[rows],
            prose=self.prose[rows],
            words=self.words[rows],
            topic=self.topic[rows],
            furniture=self.furniture[sentence_rows],
        )


class TextFeaturizer(TransformerMixin, BaseEstimator):
    """Texts -> `FeatureBundle` (sentence and document features from one tokenisation pass).

    Parameters
    ----------
    bigrams: add word bigrams to the unigrams.
    min_df: keep n-grams that occur in at least this many training documents.
    max_features: keep at most this many n-grams (all kept unigrams, then the bigrams with the
        highest document frequency).
    cue_scale: weight of the log-scaled cue counts beside the unit-length TF-IDF vector.

    Fitted state is NumPy arrays only (`unigrams_`, `bigram_pairs_`, `idf_`); the look-up tables
    are rebuilt from them after loading.
    """

    def __init__(self, bigrams: bool = True, min_df: int = 2, max_features: int = 50000, cue_scale: float = 0.5):
        self.bigrams = bigrams
        self.min_df = min_df
        self.max_features = max_features
        self.cue_scale = cue_scale

    # -------------------------------------------------------------- fitting
    def fit(self, X: Iterable[str], y=None):
        self._fit([analyse(t) for t in X])
        return self

    def fit_transform(self, X: Iterable[str], y=None, **fit_params) -> FeatureBundle:
        docs = [analyse(t) for t in X]
        self._fit(docs)
        return self._transform(docs)

    def _fit(self, docs: list[AnalysedDocument]) -> None:
        unigram_df: Counter[str] = Counter()
        bigram_df: Counter[tuple[str, str]] = Counter()
        unigram_sf: Counter[str] = Counter()
        bigram_sf: Counter[tuple[str, str]] = Counter()
        n_sentences = 0
        for doc in docs:
            doc_unigrams: set[str] = set()
            doc_bigrams: set[tuple[str, str]] = set()
            for tokens in doc.sentence_tokens():
                sentence_unigrams = set(tokens)
                sentence_bigrams = set(pairwise(tokens)) if self.bigrams else set()
                unigram_sf.update(sentence_unigrams)
                bigram_sf.update(sentence_bigrams)
                doc_unigrams |= sentence_unigrams
                doc_bigrams |= sentence_bigrams
                n_sentences += 1
            unigram_df.update(doc_unigrams)
            bigram_df.update(doc_bigrams)
        frequent = sorted(t for t, df in unigram_df.items() if df >= self.min_df)
        unigrams = sorted(sorted(frequent, key=lambda t: -unigram_df[t])[: self.max_features])
        position = {t: i for i, t in enumerate(unigrams)}
        room = max(0, self.max_features - len(unigrams))
        candidates = [pair for pair, df in bigram_df.items()
                      if df >= self.min_df and pair[0] in position and pair[1] in position]
        candidates.sort(key=lambda pair: (-bigram_df[pair], pair))
        pairs = sorted(candidates[:room], key=lambda pair: (position[pair[0]], position[pair[1]]))
        self.unigrams_ = np.array(unigrams, dtype=str)
        self.bigram_pairs_ = np.array([[position[a], position[b]] for a, b in pairs], dtype=np.int64).reshape(-1, 2)
        sentence_freq = np.array([unigram_sf[t] for t in unigrams] + [bigram_sf[p] for p in pairs], dtype=np.float64)
        self.idf_ = np.log((1 + n_sentences) / (1 + sentence_freq)) + 1.0
        self.n_features_in_ = 1
        self._build_index()
        logger.debug("featurizer: %d unigrams and %d bigrams from %d documents", len(unigrams), len(pairs), len(docs))

    # -------------------------------------------------------------- persistence
    def _build_index(self) -> None:
        self._index = {t: i for i, t in enumerate(self.unigrams_.tolist())}
        n_unigrams = len(self.unigrams_)
        keys = self.bigram_pairs_[:, 0] * n_unigrams + self.bigram_pairs_[:, 1]
        order = np.argsort(keys, kind="stable")
        self._pair_keys = keys[order]
        self._pair_columns = (n_unigrams + np.arange(len(keys), dtype=np.int64))[order]

    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in ("_index", "_pair_keys", "_pair_columns"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "unigrams_" in self.__dict__:
            self._build_index()

    @property
    def n_terms_(self) -> int:
        return len(self.unigrams_) + len(self.bigram_pairs_)

    @property
    def n_sentence_features_(self) -> int:
        return self.n_terms_ + N_FAMILIES

    def get_feature_names_out(self, input_features=None):
        unigrams = self.unigrams_.tolist()
        terms = unigrams + [f"{unigrams[a]} {unigrams[b]}" for a, b in self.bigram_pairs_.tolist()]
        return np.asarray([f"term_{t}" for t in terms] + [f"cue_{f}" for f in FAMILIES], dtype=object)

    # -------------------------------------------------------------- transforming
    def transform(self, X: Iterable[str]) -> FeatureBundle:
        if not hasattr(self, "_index"):
            self._build_index()
        return self._transform([analyse(t) for t in X])

    def _transform(self, docs: list[AnalysedDocument]) -> FeatureBundle:
        """Build the sparse matrices from flat (row, column) arrays: vectorised look-ups throughout."""
        n_unigrams = len(self.unigrams_)
        n_terms = self.n_terms_
        n_cols = n_terms + N_FAMILIES
        number, stem, ms = F["number"], F["stem_cell"], F["ms"]
        tokens: list[str] = []
        token_counts: list[int] = []
        cues: list[int] = []
        cue_counts: list[int] = []
        sentence_counts = []
        extras = np.zeros((len(docs), len(DOC_EXTRAS)))
        prose = np.array([prose_share(doc.text) for doc in docs])
        words = np.array([len(doc.tokens) for doc in docs])
        for d, doc in enumerate(docs):
            tokens.extend(doc.tokens)
            token_counts.extend(doc.token_counts)
            cues.extend(doc.cues)
            cue_counts.extend(doc.cue_counts)
            n_tokens = len(doc.tokens)
            n_sent = len(doc.sentences)
            sentence_counts.append(n_sent)
            extras[d] = (
                math.log1p(len(doc.conditions)),
                math.log1p(n_tokens) / 5.0,
                math.log1p(n_sent) / 5.0,
                math.log1p(n_tokens / max(1, n_sent)) / 3.0,
                sum(1 for c in doc.token_counts if c <= 4) / max(1, n_sent),
                doc.cues.count(number) / max(1, n_tokens) * 5.0,
                len(doc.cues) / max(1, n_tokens) * 3.0,
                math.log1p(min(doc.cues.count(stem), doc.cues.count(ms))),
                sum(1 for s in doc.sentences if _PUNCTUATED.search(s.text)) / max(1, n_sent),
                sum(1 for s in doc.sentences if _LIST_LINE.match(s.text)) / max(1, n_sent),
                prose[d],
            )
        n_rows = len(token_counts)
        token_rows = np.repeat(np.arange(n_rows, dtype=np.int64), token_counts)
        ids = np.fromiter(map(self._index.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        known = ids >= 0
        parts_rows, parts_cols = [token_rows[known]], [ids[known]]
        if self.bigrams and len(ids) > 1 and len(self._pair_keys):
            first, second = ids[:-1], ids[1:]
            valid = known[:-1] & known[1:] & (token_rows[:-1] == token_rows[1:])
            keys = first[valid] * n_unigrams + second[valid]
            at = np.minimum(np.searchsorted(self._pair_keys, keys), len(self._pair_keys) - 1)
            hit = self._pair_keys[at] == keys
            parts_rows.append(token_rows[:-1][valid][hit])
            parts_cols.append(self._pair_columns[at[hit]])
        parts_rows.append(np.repeat(np.arange(n_rows, dtype=np.int64), cue_counts))
        parts_cols.append(np.asarray(cues, dtype=np.int64) + n_terms)
        keys = np.concatenate(parts_rows) * n_cols + np.concatenate(parts_cols)
        offsets = np.concatenate([[0], np.cumsum(sentence_counts)]).astype(np.int64)
        unique, counts = np.unique(keys, return_counts=True)
        rows, cols = np.divmod(unique, n_cols)
        counts = counts.astype(np.float64)

        sentence_matrix = self._weighted(rows, cols, counts, n_rows, n_terms, n_cols)
        owner = np.repeat(np.arange(len(docs), dtype=np.int64), sentence_counts)
        doc_unique, doc_inverse = np.unique(owner[rows] * n_cols + cols, return_inverse=True)
        doc_counts = np.bincount(doc_inverse.ravel(), weights=counts)
        doc_rows, doc_cols = np.divmod(doc_unique, n_cols)
        document_matrix = self._weighted(doc_rows, doc_cols, doc_counts, len(docs), n_terms, n_cols)
        doc_cue_counts = np.zeros((len(docs), N_FAMILIES))
        is_cue = doc_cols >= n_terms
        doc_cue_counts[doc_rows[is_cue], doc_cols[is_cue] - n_terms] = doc_counts[is_cue]
        document_cues = np.hstack([np.log1p(doc_cue_counts) * self.cue_scale, extras])
        return FeatureBundle(
            texts=[doc.text for doc in docs],
            sentences=[doc.sentences for doc in docs],
            offsets=offsets,
            sentence_matrix=sentence_matrix,
            document_matrix=document_matrix,
            document_cues=document_cues,
            prose=prose,
            words=words,
            topic=np.array([mentions_topic(doc.text) for doc in docs], dtype=bool),
            furniture=np.fromiter((f for doc in docs for f in doc.furniture), dtype=bool, count=n_rows),
        )

    def _weighted(self, rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_rows: int, n_terms: int,
                  width: int) -> sparse.csr_matrix:
        """CSR of sublinear TF-IDF (unit length per row) for terms and log1p counts for cues.

        `rows`/`cols` must be sorted by row then column (as `np.unique` returns them).
        """
        data = np.empty_like(counts)
        is_term = cols < n_terms
        term_rows = rows[is_term]
        weights = (1.0 + np.log(counts[is_term])) * self.idf_[cols[is_term]]
        norms = np.sqrt(np.bincount(term_rows, weights=weights * weights, minlength=n_rows))
        norms[norms == 0] = 1.0
        data[is_term] = weights / norms[term_rows]
        data[~is_term] = np.log1p(counts[~is_term]) * self.cue_scale
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return sparse.csr_matrix((data, cols.astype(np.int32), indptr), shape=(n_rows, width))


def cue_summary(text: str) -> dict[str, int]:
    """Cue family -> count for one text (for inspection and tests)."""
    return dict(Counter(FAMILIES[c] for c in analyse(text).cues))


def distinct_conditions(text: str) -> int:
    """How many distinct conditions (from the cue lexicon) a text names."""
    return len(analyse(text).conditions)
