"""Page furniture: sentences that are not prose and so never show a hype signal.

Extracted web text keeps much that is not anyone's claim: author lists and affiliations,
"Received/Accepted" lines, DOIs and citation strings, reference lists, registry record fields,
transcript timestamps, navigation trails, cookie banners, sign-in prompts and comment widgets.
The guide says such lines are never evidence of a signal, so the model gives them no sentence
score for any hype signal (`model.HypeSignals`); they still count for the document as a whole
(a DOI is still a trial reference, and a page full of furniture is still the kind of page it is).

`is_furniture(sentence)` looks at one sentence or line; every rule is a pattern over its own text.
"""

from __future__ import annotations

import re

_ACADEMIC_LINE = re.compile(
    r"^\s*(?:received|accepted|revised|published(?: online)?|submitted|epub|available online|"
    r"keywords?|key words|mesh terms?|abbreviations|correspondence(?: to)?|corresponding author|"
    r"citation|cite this(?: article)?|copyright|licen[cs]e|funding|conflicts? of interest|competing interests|"
    r"data availability|author contributions|affiliations?|doi|pmid|pmcid|issn|eingegangen|angenommen|"
    r"reçu|accepté|recibido|aceptado|palabras clave|mots-clés|schlüsselwörter|parole chiave|"
    r"ключевые слова|słowa kluczowe)\b\s*[:.]?",
    re.IGNORECASE)
_DATE = re.compile(r"\b(?:19|20)\d{2}\b")
_DOI = re.compile(r"\b(?:doi\s*:|doi\.org/|https?://|www\.)\S+", re.IGNORECASE)
_CITATION = re.compile(r"\b(?:19|20)\d{2}\s*[;,]\s*\d+\s*(?:\(\s*\w+\s*\))?\s*:\s*[a-z]?\d+|\bet al\.?,? \(?(?:19|20)\d{2}")
_REFERENCE_ENTRY = re.compile(r"^\s*(?:\[\d{1,3}\]|\d{1,3}\.)\s+\S+,? (?:[A-Z]{1,3}|[A-Z]\.(?: ?[A-Z]\.)*)[,.]")
_AUTHOR_TOKEN = re.compile(r"^(?:[A-ZÀ-ÖØ-Þ][\w'’.-]*|[A-Z]\.|\d{1,2}|[*†‡§¶#,;&]+|and|und|et|y|e|van|von|de|der|da|di|la|le)$")
_AFFILIATION = re.compile(
    r"\b(?:department|dept|division|faculty|school|institute|university|universit\w+|hospital|centre|center|"
    r"laborator\w+|clinic of|klinik für|unit|college)\b", re.IGNORECASE)
MIN_PROSE_WORDS = 3
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_COPYRIGHT = re.compile(r"©|\ball rights reserved\b|\bcopyright\b", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^\s*[\[(]?\d{1,2}:\d{2}(?::\d{2})?[\])]?(?:\s|$)")
_NAV_SEPARATORS = re.compile(r"\s[|›»>/•·]\s")
_COOKIE = re.compile(r"\bcookies?\b.*\b(?:accept|consent|settings|preferences|policy|use|agree)\b|"
                     r"\b(?:accept|reject|manage)\b.*\bcookies?\b", re.IGNORECASE)
_WIDGET = re.compile(
    r"^\s*(?:sign in|sign up|log in|login|log out|register|subscribe|create (?:an|your) account|"
    r"forgot (?:your )?password|reply|replies|report|like|likes|share(?: this)?(?: article| post)?|tweet|"
    r"print|email this|read more|show more|load more|see more|view all|back to top|skip to (?:main )?content|"
    r"previous(?: post)?|next(?: post)?|related(?: articles| posts| links)?|tags?|categories|posted in|filed under|"
    r"\d+\s+(?:comments?|replies|likes|shares|views)|leave a (?:comment|reply)|you must be logged in"
    r")\b[^.!?]{0,60}$",
    re.IGNORECASE)
_RECORD_FIELD = re.compile(
    r"^\s*(?:study type|study design|recruitment status|overall status|status|sponsor|collaborators?|"
    r"responsible party|phase|enrol?lment|estimated enrol?lment|actual enrol?lment|conditions?|interventions?|"
    r"start date|(?:primary )?completion date|study completion date|last update(?: posted)?|first posted|"
    r"nct number|trial id|registration number|official title|brief title|acronym|locations?|ages eligible|"
    r"sexes eligible|sex|accepts healthy volunteers|allocation|masking|primary purpose|outcome measures?|"
    r"other study id numbers|secondary ids?|identifier|registry|source of monetary or material support)"
    r"\s*:", re.IGNORECASE)


def is_furniture(sentence: str) -> bool:
    """True when `sentence` (one sentence or line of extracted text) is page furniture, not prose."""
    text = sentence.strip()
    words = text.split()
    if len(words) < MIN_PROSE_WORDS and not _CJK.search(text):
        return True  # a word or two: a label, a name, a fragment ("International", "Brain.")
    return (_is_shouted_name(text, words) or _is_academic_apparatus(text, words) or _is_transcript_or_record(text)
            or (len(words) <= 20 and bool(_COPYRIGHT.search(text)))
            or _is_navigation(text, words) or ("ookie" in text and bool(_COOKIE.search(text)))
            or (len(words) <= 8 and bool(_WIDGET.match(text))))


def _is_shouted_name(text: str, words: list[str]) -> bool:
    """"DRA VERONICA DEL CARMEN VALLADARES": a name or label in capitals, not a sentence."""
    return len(words) <= 6 and text.isupper() and not re.search(r"[.!?]$", text)


def _is_academic_apparatus(text: str, words: list[str]) -> bool:
    if _ACADEMIC_LINE.match(text) and (len(words) <= 25 or _DATE.search(text) or _DOI.search(text)):
        return True
    if _REFERENCE_ENTRY.match(text) or (len(words) <= 45 and _CITATION.search(text)):
        return True
    if len(words) <= 12 and _DOI.search(text):
        return True
    # Author lists and affiliations always hold a comma: the cheap test first, on every sentence.
    return "," in text and (_is_author_list(text, words) or _is_affiliation(text, words))


def _is_author_list(text: str, words: list[str]) -> bool:
    """"Anna Berg1, Tomás Ruiz2,*, Li Wei1 and Karin Holm3", "Myasnikov5, Vladimir Y.": names,
    commas and marks, no sentence."""
    marked = re.search(r"[^\W\d_]\d|\b[A-Z]\.(?:\s|$)", text)
    if text.rstrip().endswith(("?", "!")) or not (text.count(",") >= 2 and len(words) >= 4
                                                   or text.count(",") >= 1 and marked and len(words) <= 8):
        return False
    tokens = [t for t in re.split(r"[\s,]+", text) if t]
    plain = [re.sub(r"[\d*†‡§¶#]+$", "", t) or t for t in tokens]
    return sum(bool(_AUTHOR_TOKEN.match(t)) for t in plain) / len(plain) >= 0.85


def _is_affiliation(text: str, words: list[str]) -> bool:
    """"1 Department of Neurology, Uppsala University Hospital, Uppsala, Sweden"."""
    if not _AFFILIATION.search(text) or text.count(",") < 1 or len(words) > 40:
        return False
    starts_marked = bool(re.match(r"^\s*(?:\d{1,2}|[a-z]|[*†‡§¶])\s*[A-Z]", text))
    no_sentence_end = not re.search(r"[.!?][\"'”’)]*$", text) or text.endswith((".", ";")) and starts_marked
    lowercase_words = sum(w.islower() and len(w) > 3 for w in words)
    return starts_marked or (no_sentence_end and lowercase_words <= 2 and text.count(",") >= 2)


def _is_transcript_or_record(text: str) -> bool:
    if _TIMESTAMP.match(text):
        # "[00:02:15] Host: ..." : the timestamp itself; the speech after it is prose only when long.
        rest = _TIMESTAMP.sub("", text, count=1).strip()
        return len(rest.split()) < 4
    return bool(_RECORD_FIELD.match(text))


def _is_navigation(text: str, words: list[str]) -> bool:
    """"Home | Treatments | MS | Contact", "Home › Conditions › Multiple sclerosis"."""
    separators = len(_NAV_SEPARATORS.findall(f" {text} "))
    return separators >= 2 and len(words) <= 4 * (separators + 1) and not re.search(r"[.!?]$", text)
