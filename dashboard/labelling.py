"""Reading the label form: an analyst's yes/no/unsure per signal and relevance, hype 0-3, a note,
and the sentences the analyst marks as evidence of a signal (`evidence` = "signal:start:end").

Labels are stored as new rows beside the model's predictions (never over them); the newest label
of a version is the analyst's current judgement of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifier.signals import SIGNALS
from dashboard.errors import BadRequest

MAX_NOTE_CHARS = 2000
MAX_AUTHOR_CHARS = 100
CHOICES = {"yes": True, "no": False, "": None, "unsure": None}


def parse_label_form(form: Mapping[str, Any], user: str | None, default_author: str) -> tuple[dict[str, Any], int, str]:
    """(judgement for `storage.labels.add_label`, version id, author) from the submitted form.

    With credentials the author is the signed-in user; on an open loopback dashboard it is the
    name typed in the form.
    """
    try:
        version_id = int(str(form.get("version_id", "")))
    except ValueError:
        raise BadRequest("The form names no document version.") from None
    judgement: dict[str, Any] = {}
    for name in ("relevant", *SIGNALS):
        raw = str(form.get(name, "")).strip().lower()
        if raw not in CHOICES:
            raise BadRequest(f"{name} must be yes, no or unsure; got {raw!r}")
        judgement[name] = CHOICES[raw]
    hype = str(form.get("hype", "")).strip()
    if hype not in ("", "0", "1", "2", "3"):
        raise BadRequest(f"hype must be 0, 1, 2 or 3; got {hype!r}")
    judgement["hype"] = int(hype) if hype else None
    note = str(form.get("note", "")).strip()
    if len(note) > MAX_NOTE_CHARS:
        raise BadRequest(f"The note is longer than {MAX_NOTE_CHARS} characters.")
    judgement["note"] = note or None
    judgement["evidence"] = _marked_evidence(form, judgement) or None
    if judgement["relevant"] is False:
        # The guide: when a page is not relevant, every signal is no.
        judgement.update({name: False for name in SIGNALS})
        judgement["evidence"] = None
    if all(judgement[n] is None for n in ("relevant", *SIGNALS)) and judgement["hype"] is None and not note:
        raise BadRequest("The label is empty: judge at least relevance, one signal or the hype level.")
    author = user or str(form.get("author", "")).strip() or default_author
    if len(author) > MAX_AUTHOR_CHARS:
        raise BadRequest(f"The name is longer than {MAX_AUTHOR_CHARS} characters.")
    return judgement, version_id, author


def _marked_evidence(form: Mapping[str, Any], judgement: Mapping[str, Any]) -> dict[str, list[list[int]]]:
    """signal -> [[start, end], ...] from the ticked evidence boxes, for signals judged yes only."""
    values = form.getlist("evidence") if hasattr(form, "getlist") else form.get("evidence") or []
    marked: dict[str, list[list[int]]] = {}
    for value in [values] if isinstance(values, str) else values:
        name, _, span = str(value).partition(":")
        start, _, end = span.partition(":")
        if name not in SIGNALS or not start.isdigit() or not end.isdigit() or int(start) >= int(end):
            raise BadRequest(f"Not an evidence mark: {str(value)[:60]!r}")
        if judgement.get(name):
            marked.setdefault(name, []).append([int(start), int(end)])
    return marked
