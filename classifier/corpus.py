"""The labelled corpus in `seeds/`: loading and validation.

Format (documented in `seeds/README.md`): `docs/<id>.txt` plus one JSON line per document in
`labels.jsonl`. `check_corpus` reports every problem with the file and line at fault.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.errors import CorpusError
from classifier.signals import COUNTER_SIGNALS, SIGNALS, TARGETS

GENRES = ("clinic", "news", "blog", "forum", "society", "hospital", "regulator", "trial", "academic", "other")
ORIGINS = ("user", "written", "analyst")
ID_PATTERN = re.compile(r"[a-z0-9_-]+")
LABELS_FILE = "labels.jsonl"
DOCS_DIR = "docs"
UNKNOWN = -1  # a label nobody gave
REQUIRED_KEYS = ("id", "genre", "lang", "origin", "relevant", "signals", "counter_signals", "hype")


@dataclass(frozen=True)
class LabelledDocument:
    id: str
    text: str
    genre: str
    lang: str
    origin: str
    relevant: bool
    signals: frozenset[str]
    counter_signals: frozenset[str]
    hype: int
    evidence: dict[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""
    # Labels nobody gave (analysts label only some signals): "relevant", names from `TARGETS`, or
    # "hype". Written corpus documents leave this empty.
    unknown: frozenset[str] = frozenset()

    def target_vector(self) -> list[int]:
        """1/0 per entry of `TARGETS` (signals, then counter-signals); -1 where unknown."""
        present = self.signals | self.counter_signals
        return [UNKNOWN if name in self.unknown else int(name in present) for name in TARGETS]


@dataclass(frozen=True)
class CorpusProblem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Corpus:
    documents: tuple[LabelledDocument, ...]

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def texts(self) -> list[str]:
        return [d.text for d in self.documents]

    def targets(self) -> np.ndarray:
        """(n_documents, 1 + len(TARGETS)): relevance, then each signal and counter-signal; 1/0, or
        -1 where a label is unknown."""
        return np.array(
            [[UNKNOWN if "relevant" in d.unknown else int(d.relevant), *d.target_vector()] for d in self.documents],
            dtype=int,
        ).reshape(len(self.documents), 1 + len(TARGETS))

    @property
    def hype(self) -> np.ndarray:
        """The 0-3 hype labels; -1 where unknown."""
        return np.array([UNKNOWN if "hype" in d.unknown else d.hype for d in self.documents], dtype=int)

    @property
    def evidence(self) -> list[dict[str, tuple[str, ...]]]:
        return [d.evidence for d in self.documents]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for doc in sorted(self.documents, key=lambda d: d.id):
            record = [doc.id, doc.text, doc.relevant, sorted(doc.signals), sorted(doc.counter_signals), doc.hype,
                      sorted((k, list(v)) for k, v in doc.evidence.items())]
            if doc.unknown:
                record.append(sorted(doc.unknown))
            digest.update(json.dumps(record, sort_keys=True).encode("utf-8"))
        return digest.hexdigest()

    def extended(self, extra: Iterable[LabelledDocument]) -> Corpus:
        """This corpus plus `extra` documents; an extra document replaces one with the same id."""
        by_id = {d.id: d for d in self.documents}
        for doc in extra:
            by_id[doc.id] = doc
        return Corpus(tuple(sorted(by_id.values(), key=lambda d: d.id)))


def analyst_document(doc_id: str, text: str, *, relevant: bool | None, signals: Mapping[str, bool | None],
                     hype: int | None, lang: str | None = None, note: str = "",
                     evidence: Mapping[str, Sequence[tuple[int, int]]] | None = None) -> LabelledDocument | None:
    """A `LabelledDocument` (origin "analyst") from an analyst's partial judgement; None if it says nothing.

    `evidence` gives, per signal, the (start, end) spans of `text` the analyst marked as showing it;
    a signal judged yes without marked sentences is taught to the sentence models through the
    sentences the model scores highest (`model.HypeSignals.implied_evidence`).
    `None` means "not judged". The guide's rules fill what follows from what was judged: a page
    that is not relevant has no signals and hype 0; a page with a signal is relevant. Analysts do
    not label counter-signals, so those are unknown.
    """
    signals = {name: signals.get(name) for name in SIGNALS}
    if relevant is None and any(signals.values()):
        relevant = True
    if relevant is False:
        signals = dict.fromkeys(SIGNALS, False)
        hype = 0
    if relevant is None and hype is None and all(v is None for v in signals.values()):
        return None
    if hype is not None and not 0 <= int(hype) <= 3:
        raise CorpusError([f"{doc_id}: hype must be 0 to 3, got {hype!r}"])
    unknown = {name for name, value in signals.items() if value is None} | set(COUNTER_SIGNALS)
    if relevant is None:
        unknown.add("relevant")
    if hype is None:
        unknown.add("hype")
    return LabelledDocument(
        id=doc_id,
        text=text,
        genre="other",
        lang=(lang or "en")[:2].lower(),
        origin="analyst",
        relevant=bool(relevant),
        signals=frozenset(name for name, value in signals.items() if value),
        counter_signals=frozenset(),
        hype=int(hype or 0),
        evidence={name: tuple(text[start:end] for start, end in spans)
                  for name, spans in (evidence or {}).items() if signals.get(name)},
        unknown=frozenset(unknown),
        note=note,
    )


def near_duplicate_groups(corpus: Corpus, threshold: float = 0.5) -> list[int]:
    """Group ids such that documents sharing most of their word 5-grams share a group.

    Cross-validation keeps a group in one fold, so a near-copy of a training document (another
    version of the same page, a syndicated article) never flatters the held-out score.
    """
    shingles = []
    for doc in corpus.documents:
        words = doc.text.lower().split()
        shingles.append({" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))})
    parent = list(range(len(shingles)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index: dict[str, list[int]] = {}
    for i, s in enumerate(shingles):
        for sh in s:
            index.setdefault(sh, []).append(i)
    for i, s in enumerate(shingles):
        overlap: dict[int, int] = {}
        for sh in s:
            for j in index[sh]:
                if j > i:
                    overlap[j] = overlap.get(j, 0) + 1
        for j, common in overlap.items():
            if common / max(1, min(len(s), len(shingles[j]))) >= threshold:
                parent[find(j)] = find(i)
    return [find(i) for i in range(len(shingles))]


def load_corpus(seeds_dir: Path) -> Corpus:
    """Load and validate the corpus; raise `CorpusError` listing every problem."""
    documents, problems = _read(Path(seeds_dir))
    if problems:
        raise CorpusError(problems)
    return Corpus(tuple(sorted(documents, key=lambda d: d.id)))


def check_corpus(seeds_dir: Path) -> list[CorpusProblem]:
    return _read(Path(seeds_dir))[1]


def _read(seeds_dir: Path) -> tuple[list[LabelledDocument], list[CorpusProblem]]:
    labels_path = seeds_dir / LABELS_FILE
    docs_dir = seeds_dir / DOCS_DIR
    if not labels_path.is_file():
        return [], [CorpusProblem(str(labels_path), None, "labels file not found")]
    documents: list[LabelledDocument] = []
    problems: list[CorpusProblem] = []
    seen: dict[str, int] = {}
    mentioned: set[str | None] = set()  # ids of label lines, valid or not: a bad line is one problem, not two
    with labels_path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            mentioned.add(_line_id(line))
            doc, line_problems = _parse_line(line, docs_dir)
            problems.extend(CorpusProblem(str(labels_path), number, p) for p in line_problems)
            if doc is None:
                continue
            if doc.id in seen:
                problems.append(CorpusProblem(str(labels_path), number,
                                              f"duplicate id {doc.id!r} (first on line {seen[doc.id]})"))
                continue
            seen[doc.id] = number
            documents.append(doc)
    if docs_dir.is_dir():
        for path in sorted(docs_dir.glob("*.txt")):
            if path.stem not in mentioned:
                problems.append(CorpusProblem(str(path), None, f"no label line for {path.stem!r} in {LABELS_FILE}"))
    if not documents and not problems:
        problems.append(CorpusProblem(str(labels_path), None, "no documents"))
    return documents, problems


def _line_id(line: str) -> str | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def _parse_line(line: str, docs_dir: Path) -> tuple[LabelledDocument | None, list[str]]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON: {exc.msg} at column {exc.colno}"]
    if not isinstance(record, dict):
        return None, ["a label line must be a JSON object"]
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        return None, [f"missing keys: {', '.join(missing)}"]
    problems: list[str] = []
    doc_id = record["id"]
    if not isinstance(doc_id, str) or not ID_PATTERN.fullmatch(doc_id):
        return None, [f"id must match {ID_PATTERN.pattern}, got {doc_id!r}"]
    _check_choice(problems, "genre", record["genre"], GENRES)
    _check_choice(problems, "origin", record["origin"], ORIGINS)
    if not isinstance(record["lang"], str) or not re.fullmatch(r"[a-z]{2}", record["lang"]):
        problems.append(f"lang must be a two-letter code, got {record['lang']!r}")
    if not isinstance(record["relevant"], bool):
        problems.append("relevant must be true or false")
    signals = _names(problems, "signals", record["signals"], SIGNALS)
    counters = _names(problems, "counter_signals", record["counter_signals"], COUNTER_SIGNALS)
    hype = record["hype"]
    if not isinstance(hype, int) or isinstance(hype, bool) or not 0 <= hype <= 3:
        problems.append(f"hype must be an integer 0 to 3, got {hype!r}")
    if record["relevant"] is False and (signals or hype):
        problems.append("a document that is not relevant has no signals and hype 0")
    path = docs_dir / f"{doc_id}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [*problems, f"document file {path} not found"]
    except UnicodeDecodeError as exc:
        return None, [*problems, f"{path} is not UTF-8: {exc.reason}"]
    evidence = _evidence(problems, record.get("evidence", {}), text, signals | counters)
    if problems:
        return None, problems
    return (
        LabelledDocument(
            id=doc_id,
            text=text,
            genre=record["genre"],
            lang=record["lang"],
            origin=record["origin"],
            relevant=record["relevant"],
            signals=frozenset(signals),
            counter_signals=frozenset(counters),
            hype=hype,
            evidence=evidence,
            note=str(record.get("note", "")),
        ),
        [],
    )


def _check_choice(problems: list[str], key: str, value, choices: Sequence[str]) -> None:
    if value not in choices:
        problems.append(f"{key} must be one of {', '.join(choices)}; got {value!r}")


def _names(problems: list[str], key: str, value, allowed: Sequence[str]) -> set[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{key} must be a list of names")
        return set()
    unknown = [v for v in value if v not in allowed]
    if unknown:
        problems.append(f"unknown {key}: {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    return {v for v in value if v in allowed}


def _evidence(problems: list[str], value, text: str, listed: set[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        problems.append("evidence must be an object of name -> list of quotes")
        return {}
    evidence: dict[str, tuple[str, ...]] = {}
    for name, quotes in value.items():
        if name not in listed:
            problems.append(f"evidence for {name!r}, which is not a listed signal or counter-signal")
            continue
        if not isinstance(quotes, list) or not all(isinstance(q, str) and q for q in quotes):
            problems.append(f"evidence for {name!r} must be a list of non-empty strings")
            continue
        for quote in quotes:
            if quote not in text:
                problems.append(f"evidence for {name!r} is not in the document text: {quote[:60]!r}")
        evidence[name] = tuple(q for q in quotes if q in text)
    return evidence
