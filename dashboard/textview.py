"""Turning stored text into what the article page shows: evidence highlights and version diffs.

Both produce plain segments (text plus the names that mark it); the template escapes the text
and turns names into CSS classes, so nothing from a crawled page is ever emitted as markup.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

MAX_DIFF_PARAGRAPHS = 4000


@dataclass(frozen=True)
class Mark:
    name: str
    start: int
    end: int
    counter: bool = False


@dataclass(frozen=True)
class Segment:
    text: str
    signals: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()


def evidence_marks(text: str, evidence: Mapping[str, Sequence[Mapping[str, Any]]], *, counter: bool = False) -> list[Mark]:
    """Marks for evidence items ({text, start, end}); offsets are checked against the text itself.

    When an item's offsets do not point at its sentence (the text was re-extracted since), the
    sentence is looked up by content; evidence that cannot be found is left out, never guessed.
    """
    marks = []
    for name, items in evidence.items():
        for item in items:
            span = _locate(text, item)
            if span:
                marks.append(Mark(name, span[0], span[1], counter))
    return marks


def _locate(text: str, item: Mapping[str, Any]) -> tuple[int, int] | None:
    quote = item.get("text") or ""
    start, end = item.get("start"), item.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        if not quote or text[start:end] == quote:
            return start, end
    if quote:
        found = text.find(quote)
        if found >= 0:
            return found, found + len(quote)
    return None


def highlight(text: str, marks: Iterable[Mark]) -> list[list[Segment]]:
    """The text as paragraphs of segments; each segment knows which marks cover it."""
    marks = list(marks)
    points = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    paragraphs: list[list[Segment]] = [[]]
    for a, b in pairwise(points):
        covering = [m for m in marks if m.start <= a and m.end >= b]
        signals = tuple(dict.fromkeys(m.name for m in covering if not m.counter))
        counters = tuple(dict.fromkeys(m.name for m in covering if m.counter))
        pieces = re.split(r"\n\s*", text[a:b])
        for i, piece in enumerate(pieces):
            if i:
                paragraphs.append([])
            if piece:
                paragraphs[-1].append(Segment(piece, signals, counters))
    return [p for p in paragraphs if p]


# ---------------------------------------------------------------- diffs
@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same" | "added" | "removed" | "changed" | "gap"
    segments: tuple[tuple[str, str], ...]  # (kind, text) pieces; kind in same/added/removed


def diff_versions(old: str, new: str, context: int = 1) -> list[DiffLine]:
    """Paragraph diff from `old` to `new`; changed paragraphs get a word-level diff inside."""
    a = [p for p in old.split("\n") if p.strip()][:MAX_DIFF_PARAGRAPHS]
    b = [p for p in new.split("\n") if p.strip()][:MAX_DIFF_PARAGRAPHS]
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines.extend(_context(a[i1:i2], context, first=i1 == 0, last=i2 == len(a)))
        elif tag == "replace" and i2 - i1 == j2 - j1:
            lines.extend(DiffLine("changed", _word_diff(x, y)) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
        else:
            lines.extend(DiffLine("removed", (("removed", p),)) for p in a[i1:i2])
            lines.extend(DiffLine("added", (("added", p),)) for p in b[j1:j2])
    return lines


def _context(paragraphs: list[str], context: int, *, first: bool, last: bool) -> list[DiffLine]:
    """Unchanged paragraphs, keeping only `context` of them beside each change."""
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if len(paragraphs) <= keep_head + keep_tail + 1:
        return [DiffLine("same", (("same", p),)) for p in paragraphs]
    head = [DiffLine("same", (("same", p),)) for p in paragraphs[:keep_head]]
    tail = [DiffLine("same", (("same", p),)) for p in paragraphs[len(paragraphs) - keep_tail:]]
    hidden = len(paragraphs) - keep_head - keep_tail
    gap = DiffLine("gap", (("same", f"{hidden} unchanged paragraph{'s' if hidden != 1 else ''}"),))
    return [*head, gap, *tail]


def _word_diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    a, b = re.findall(r"\S+\s*", old), re.findall(r"\S+\s*", new)
    pieces: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(b[j1:j2])))
    return tuple(pieces)
