"""The real-page development set: excerpts of public web pages nobody here wrote, labelled twice.

Layout of `seeds/real/` (documented in its README):

* `pages.jsonl`: one record per collected excerpt: id, URL, site, the query that found it, and the
  SHA-256 of its normalised text (`text_hash`). Committed.
* `labels.jsonl`: the adjudicated labels per id (relevant, signals, hype, genre, lang) and the
  part of the set it belongs to (`split`: tuning or test, assigned once, by site). Committed.
* `annotations/<annotator>.jsonl`: each annotator's independent labels, for agreement figures.
* `texts/<id>.txt`: the excerpts themselves. Third-party text: git-ignored, never committed,
  re-collected in each session. `load_real_set` says plainly which are missing.

Everything here is measurement: the real set never trains the model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

from classifier.corpus import Corpus, LabelledDocument
from classifier.errors import ClassifierError
from classifier.signals import COUNTER_SIGNALS, SIGNALS
from classifier.text import text_hash

PARTS = ("tuning", "test")
PAGES_FILE = "pages.jsonl"
LABELS_FILE = "labels.jsonl"
TEXTS_DIR = "texts"
ANNOTATIONS_DIR = "annotations"
# The part of every site is fixed by a hash of its name: about 40% of sites are test sites.
TEST_SHARE = 0.4
FIELDS = ("relevant", *SIGNALS, "hype")


class RealSetError(ClassifierError):
    """The real-page set cannot be used: files missing, texts not collected, or records malformed."""


@dataclass(frozen=True)
class RealPage:
    id: str
    url: str
    site: str
    split: str
    document: LabelledDocument


@dataclass(frozen=True)
class RealSet:
    pages: tuple[RealPage, ...]
    missing: tuple[str, ...]  # ids whose text is not collected (or does not match its hash)

    def corpus(self) -> Corpus:
        return Corpus(tuple(p.document for p in self.pages))

    @property
    def sites(self) -> int:
        return len({p.site for p in self.pages})


def split_of(site: str) -> str:
    """The fixed part of a site: a page's part follows its site, so no site straddles the split."""
    value = int(hashlib.sha256(site.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if value < TEST_SHARE else "tuning"


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise RealSetError(f"{path} not found")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RealSetError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise RealSetError(f"{path}:{number}: a record must be a JSON object with an id")
        rows.append(row)
    return rows


def _document(label: dict, text: str) -> LabelledDocument:
    signals = frozenset(s for s in label.get("signals", ()) if s in SIGNALS)
    relevant = bool(label["relevant"])
    return LabelledDocument(
        id=label["id"], text=text, genre=str(label.get("genre", "other")), lang=str(label.get("lang", "en")),
        origin="real", relevant=relevant, signals=signals if relevant else frozenset(),
        counter_signals=frozenset(), hype=int(label.get("hype", 0)) if relevant else 0,
        # Counter-signals are not labelled on real pages.
        unknown=frozenset(COUNTER_SIGNALS),
    )


def load_real_set(real_dir: Path, part: str | None = "test", *, require_texts: bool = True) -> RealSet:
    """The labelled real pages of `part` ("tuning", "test", or None for both) with their texts.

    A page whose text is missing or whose text's hash differs from the record is listed in
    `missing`. With `require_texts`, any missing text raises `RealSetError` saying how many and
    where to re-collect them (seeds/real/README.md).
    """
    if part is not None and part not in PARTS:
        raise RealSetError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
    real_dir = Path(real_dir)
    pages = {row["id"]: row for row in _read_jsonl(real_dir / PAGES_FILE)}
    labels = _read_jsonl(real_dir / LABELS_FILE)
    out, missing = [], []
    for label in labels:
        record = pages.get(label["id"])
        if record is None:
            raise RealSetError(f"{real_dir / LABELS_FILE}: {label['id']} has no record in {PAGES_FILE}")
        split = label.get("split") or split_of(record["site"])
        if part is not None and split != part:
            continue
        path = real_dir / TEXTS_DIR / f"{label['id']}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            missing.append(label["id"])
            continue
        if text_hash(text) != record["sha256"]:
            missing.append(label["id"])
            continue
        out.append(RealPage(label["id"], record["url"], record["site"], split, _document(label, text)))
    if require_texts and missing:
        wanted = len(out) + len(missing)
        raise RealSetError(
            f"{len(missing)} of {wanted} real-page texts are missing or altered in {real_dir / TEXTS_DIR}: "
            f"re-collect them as {real_dir / 'README.md'} says (first missing: {missing[0]})")
    if not out:
        raise RealSetError(f"no labelled real pages{f' in the {part} part' if part else ''} in {real_dir}")
    return RealSet(tuple(out), tuple(missing))


def agreement(real_dir: Path, annotators: Sequence[str] = ("a", "b")) -> dict[str, dict]:
    """Cohen's kappa and raw agreement per field between two annotators' independent labels.

    Signals count as "no" on pages an annotator judged not relevant (the guide's rule). Hype is
    compared as a 0-3 category with linear weights.
    """
    first, second = (
        {row["id"]: row for row in _read_jsonl(Path(real_dir) / ANNOTATIONS_DIR / f"{name}.jsonl")}
        for name in annotators)
    common = sorted(set(first) & set(second))
    if not common:
        raise RealSetError("the annotators have no page in common")
    figures = {}
    for field in FIELDS:
        a = np.array([field_value(first[i], field) for i in common])
        b = np.array([field_value(second[i], field) for i in common])
        weights = "linear" if field == "hype" else None
        kappa = cohen_kappa_score(a, b, weights=weights) if len(set(a) | set(b)) > 1 else 1.0
        figures[field] = {"kappa": round(float(kappa), 3), "agreement": round(float((a == b).mean()), 3),
                          "n": len(common)}
    return figures


def field_value(label: dict, field: str) -> int:
    """A label's value for one of `FIELDS`, with the guide's rule that a page that is not relevant
    has no signal and hype 0."""
    relevant = bool(label.get("relevant"))
    if field == "relevant":
        return int(relevant)
    if field == "hype":
        return int(label.get("hype", 0)) if relevant else 0
    return int(relevant and field in label.get("signals", ()))

