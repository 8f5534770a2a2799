"""Judgements of a cited trial: does the registry record back what the page uses it for?

`judge` is a pure function of a registry record (as cached; any object with the fields of
`TrialRecordLike`) and the citing page (any object with the fields of `PageLike`). Each judgement
is a named constant, defined once here with its label (`JUDGEMENTS`). A reference whose record could not be fetched
(registry down, rate-limited, or a registry without a public API) is `UNVERIFIED`: never a
judgement against the page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from classifier.topic import mentions_cell_treatment, mentions_ms

UNVERIFIED = "unverified"
NOT_FOUND = "not-found"
NOT_MS = "not-ms"
NOT_CELL_THERAPY = "not-cell-therapy"
STOPPED = "stopped-or-unknown"
NO_RESULTS = "no-results"
SELF_SPONSORED = "self-sponsored"
PARTICIPANTS_PAY = "participants-pay"
IN_PROGRESS = "in-progress"
VERIFIED = "verified"

JUDGEMENTS = {
    UNVERIFIED: "unverified: no registry record to check it against",
    NOT_FOUND: "not found in the registry",
    NOT_MS: "not about MS",
    NOT_CELL_THERAPY: "not about a cell therapy",
    STOPPED: "withdrawn, terminated, suspended or of unknown status",
    NO_RESULTS: "no results posted years after completion",
    SELF_SPONSORED: "sponsored by the promoting clinic",
    PARTICIPANTS_PAY: "participants pay to take part",
    IN_PROGRESS: "relevant, not finished or results not yet due",
    VERIFIED: "verified: relevant, completed, results posted",
}
# Judgements that say the citation is misused as evidence.
MISUSE = (NOT_FOUND, NOT_MS, NOT_CELL_THERAPY, STOPPED, NO_RESULTS, SELF_SPONSORED, PARTICIPANTS_PAY)

# ClinicalTrials.gov's overall statuses (API v2 enum values) that end a trial without its answer.
STOPPED_STATUSES = frozenset({"WITHDRAWN", "TERMINATED", "SUSPENDED", "UNKNOWN", "WITHHELD"})
COMPLETED_STATUS = "COMPLETED"
# Results are due a year after primary completion; "years after" is two.
RESULTS_OVERDUE = dt.timedelta(days=2 * 365)

# Words of a sponsor's or site's name that say nothing about who it is.
_GENERIC_NAME_WORDS = frozenset(
    "the and of for inc ltd llc gmbh sa srl co company corp corporation group clinic clinics hospital hospitals "
    "center centre centers medical medicine health healthcare institute university foundation research "
    "stem cell cells therapy therapies treatment international global www com org net".split())
_WORD = re.compile(r"[^\W_]+")
_PAY_PHRASE = re.compile(
    r"\b(?:pay(?:ing|s)? (?:to|for) (?:join|enrol+|participat\w*|take part|be included)|patient[- ]funded|"
    r"self[- ]funded (?:trial|study)|(?:participation|enrol+ment|registration|study|trial) fees?|"
    r"fees? (?:to|for) (?:join|enrol+|participat\w*)|cost of (?:participation|participating|joining))\b",
    re.IGNORECASE)
_PRICE = re.compile(r"(?:[$€£¥]\s?\d|\b\d[\d,.\s]*\s?(?:USD|EUR|GBP|dollars|euros?)\b|\b(?:USD|EUR|GBP)\s?\d)",
                    re.IGNORECASE)
_TRIAL_WORD = re.compile(r"\b(?:trial|study|participa\w*|enrol+\w*)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")


class TrialRecordLike(Protocol):
    """What a judgement reads of a cached registry record."""

    @property
    def found(self) -> bool: ...
    @property
    def title(self) -> str | None: ...
    @property
    def conditions(self) -> Sequence[str]: ...
    @property
    def interventions(self) -> Sequence[str]: ...
    @property
    def overall_status(self) -> str | None: ...
    @property
    def completion_date(self) -> str | None: ...  # ISO, perhaps only year-month: "2019-06"
    @property
    def sponsor(self) -> str | None: ...
    @property
    def results_posted(self) -> bool: ...


class PageLike(Protocol):
    """What a judgement reads of the page citing a trial."""

    @property
    def text(self) -> str: ...
    @property
    def domain(self) -> str: ...
    @property
    def site_name(self) -> str | None: ...


@dataclass(frozen=True)
class PageContext:
    """A citing page, for callers that have no page object of their own."""

    text: str
    domain: str = ""
    site_name: str | None = None


def judge(record: TrialRecordLike | None, page: PageLike, *, today: dt.date | None = None) -> tuple[str, ...]:
    """The judgements of one cited trial: `(UNVERIFIED,)`, `(VERIFIED,)`, `(IN_PROGRESS,)`, or the misuses found."""
    if record is None:
        return (UNVERIFIED,)
    if not record.found:
        return (NOT_FOUND,)
    today = today or dt.date.today()
    about = " ".join([record.title or "", *record.conditions])
    found: list[str] = []
    if not mentions_ms(about):
        found.append(NOT_MS)
    if not mentions_cell_treatment(" ".join([record.title or "", *record.interventions])):
        found.append(NOT_CELL_THERAPY)
    status = (record.overall_status or "UNKNOWN").upper()
    if status in STOPPED_STATUSES:
        found.append(STOPPED)
    completed = parse_partial_date(record.completion_date)
    if (status == COMPLETED_STATUS and not record.results_posted and completed is not None
            and today - completed >= RESULTS_OVERDUE):
        found.append(NO_RESULTS)
    if sponsor_is_site(record.sponsor, page):
        found.append(SELF_SPONSORED)
    if participants_pay(page.text):
        found.append(PARTICIPANTS_PAY)
    if found:
        return tuple(found)
    return (VERIFIED,) if status == COMPLETED_STATUS and record.results_posted else (IN_PROGRESS,)


def parse_partial_date(value: str | None) -> dt.date | None:
    """'2019-06-30', '2019-06' (the month's first day) or '2019'; None when absent or unreadable."""
    if not value:
        return None
    parts = value.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
        return dt.date(numbers[0], numbers[1] if len(numbers) > 1 else 1, numbers[2] if len(numbers) > 2 else 1)
    except ValueError:
        return None


def name_words(name: str) -> set[str]:
    """The distinctive words of an organisation's name or domain."""
    return {w for w in (m.group().casefold() for m in _WORD.finditer(name))
            if len(w) >= 3 and w not in _GENERIC_NAME_WORDS}


def sponsor_is_site(sponsor: str | None, page: PageLike) -> bool:
    """The sponsor is the page's organisation: a distinctive word of its name is in the page's
    site name, or in its domain (where words run together: "acmeregen" in acmeregen-clinic.com)."""
    if not sponsor:
        return False
    words = name_words(sponsor)
    if not words:
        return False
    if page.site_name and words & name_words(page.site_name):
        return True
    host = page.domain.casefold().removeprefix("www.")
    labels = host.split(".")[:-1] if "." in host else [host]
    joined = "".join(_WORD.findall(" ".join(labels)))
    return bool(joined) and (any(w in joined for w in words if len(w) >= 4)
                             or "".join(_WORD.findall(sponsor.casefold())) in joined)


def participants_pay(text: str) -> bool:
    """The page says taking part costs the participant: a fee to join, a patient-funded study, or a
    price in the same sentence as the trial or taking part in it."""
    if _PAY_PHRASE.search(text):
        return True
    return any(_PRICE.search(s) and _TRIAL_WORD.search(s) for s in _SENTENCE_END.split(text))
