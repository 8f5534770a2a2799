"""The references a page's text cites (`classifier.references`), as storage keeps them."""

from __future__ import annotations

from classifier.references import find_references
from storage.documents import Citation


def citations(text: str) -> tuple[Citation, ...]:
    """Every registry id, named trial, DOI and PMID in `text`, with its offsets."""
    return tuple(Citation(r.kind, r.identifier, r.start, r.end) for r in find_references(text))
