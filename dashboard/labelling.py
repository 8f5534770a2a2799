"""Reading the label form: an analyst's yes/no/unsure per signal and relevance, hype 0-3, a note.

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
    """(judgement for `storage.repository.add_label`, version id, author) from the submitted form.

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
    if judgement["relevant"] is False:
        # The guide: when a page is not relevant, every signal is no.
        judgement.update({name: False for name in SIGNALS})
    if all(judgement[n] is None for n in ("relevant", *SIGNALS)) and judgement["hype"] is None and not note:
        raise BadRequest("The label is empty: judge at least relevance, one signal or the hype level.")
    author = user or str(form.get("author", "")).strip() or default_author
    if len(author) > MAX_AUTHOR_CHARS:
        raise BadRequest(f"The name is longer than {MAX_AUTHOR_CHARS} characters.")
    return judgement, version_id, author
