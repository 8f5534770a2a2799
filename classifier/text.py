"""Sentence splitting with character offsets into the original text.

Evidence is reported as offsets, so `text[start:end]` must be exactly the sentence shown; the
splitter therefore never rewrites text, it only finds boundaries.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace,
# or at a line break. Abbreviations like "Dr." or "e.g." are kept inside the sentence.
_BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*(?P<gap>[ \t]+)|(?P<newline>\s*\n\s*)")
# "MS." is deliberately absent: in this domain it ends sentences far more often than it abbreviates.
_ABBREVIATIONS = re.compile(r"\b(?:dr|mr|mrs|prof|st|vs|etc|e\.g|i\.e|fig|no|approx|inc|ltd|dept)\.$", re.IGNORECASE)
_ABBREVIATION_TAIL = 8  # longest abbreviation ("approx.") plus one character
MAX_SENTENCE_CHARS = 600
MIN_SENTENCE_CHARS = 3


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def text_hash(text: str) -> str:
    """SHA-256 of `text` with Unicode NFC and every whitespace run collapsed to one space: the same
    text however its line breaks were copied (how the real-page set records and checks its texts)."""
    normal = re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()
    return hashlib.sha256(normal.encode()).hexdigest()


def split_sentences(text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start("gap") if match.group("gap") else match.start("newline")
        # Only the sentence's tail can hold an abbreviation; searching it alone keeps splitting linear.
        if match.group("gap") and _ABBREVIATIONS.search(text, max(start, end - _ABBREVIATION_TAIL), end):
            continue
        _append(sentences, text, start, end)
        start = match.end()
    _append(sentences, text, start, len(text))
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start < MIN_SENTENCE_CHARS:
        return
    # Unpunctuated walls of text are cut at a space so one "sentence" cannot swallow a page.
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        sentences.append(Sentence(start, cut, text[start:cut]))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end - start >= MIN_SENTENCE_CHARS:
        sentences.append(Sentence(start, end, text[start:end]))
