"""The ISRCTN registry's public query API: one trial per request, its XML read safely.

`IsrctnClient` asks `GET {HYPEWATCH_ISRCTN_URL}/api/query/format/default?q=ISRCTN12345678&limit=5`
(no key; the identifier is all it sends), with our user agent and the fetch timeout, at most
HYPEWATCH_REGISTRY_RATE requests. The answer is an `allTrials` document (namespace
`http://www.67bricks.com/isrctn`, `totalCount` attribute) holding a `fullTrial` per match of the
free-text query; the trial whose `trial/isrctn` is the number asked for is the one read. None of
them, with every match returned, is "no such trial"; an answer that is not such a document, is
larger than `MAX_ANSWER_BYTES`, declares a DTD or takes longer than twice the timeout is
`RegistryUnavailable`, as is anything but a 200: the citation stays unverified.

The XML is parsed by lxml with entities left unresolved, no DTD loaded and no network, so neither
an external entity nor an entity bomb is ever expanded; a document carrying a DTD at all is
refused.

ISRCTN records have no one overall status: a trial stopped or suspended says so in
`trialDesign/overallStatusOverride`, and otherwise its status follows from its dates, as the
registry's own pages derive it. `overall_status` maps both onto ClinicalTrials.gov's statuses, which
`classifier.trials` judges.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
from lxml import etree

from classifier.references import ISRCTN
from classifier.trials import parse_partial_date
from hypewatch.trials import PoliteClient, RegistryUnavailable
from storage.trials import TrialEssentials

if TYPE_CHECKING:
    from hypewatch.settings import Settings

logger = logging.getLogger(__name__)

QUERY_PATH = "/api/query/format/default"
QUERY_LIMIT = 5  # trials per answer: the one asked for comes first, the others merely mention its number
MAX_ANSWER_BYTES = 2 * 1024 * 1024  # a trial's record is some 20 KB
IDENTIFIER = re.compile(r"ISRCTN(\d{8})")
ISO_DATE = re.compile(r"\d{4}(?:-\d\d(?:-\d\d)?)?")

# `overallStatusOverride` values, as ClinicalTrials.gov's statuses (a trial stopped before anyone
# took part is "withdrawn", as ClinicalTrials.gov counts it).
OVERRIDES = {"stopped": "TERMINATED", "terminated": "TERMINATED", "suspended": "SUSPENDED",
             "withdrawn": "WITHDRAWN", "completed": "COMPLETED"}
# `outputs/output/@outputType` values that are the trial's results.
RESULT_OUTPUTS = frozenset({"basicresults", "resultsarticle", "plainenglishresults", "otherunpublishedresults"})


class IsrctnClient(PoliteClient):
    """The ISRCTN query API, one trial per request, rate-limited."""

    kind = ISRCTN
    accept = "application/xml"

    def __init__(self, base_url: str, *, user_agent: str, timeout: float, rate: str,
                 max_bytes: int = MAX_ANSWER_BYTES, transport: httpx.BaseTransport | None = None):
        super().__init__(base_url, user_agent=user_agent, timeout=timeout, rate=rate, transport=transport)
        self.max_bytes = max_bytes

    @staticmethod
    def configured_url(settings: Settings) -> str | None:
        return settings.isrctn_url

    def study(self, identifier: str) -> TrialEssentials:
        """The trial's essentials (`found` False when the registry has none); `RegistryUnavailable`
        for any answer that does not say either."""
        match = IDENTIFIER.fullmatch(identifier)
        if match is None:
            raise RegistryUnavailable(f"not an ISRCTN number: {identifier[:40]!r}")
        self._wait_turn()
        self.requests += 1
        body = self._get(identifier)
        return essentials_of_answer(identifier, body)

    def _get(self, identifier: str) -> bytes:
        deadline = time.monotonic() + 2 * self.timeout
        try:
            with self.http.stream("GET", self.base_url + QUERY_PATH,
                                  params={"q": identifier, "limit": str(QUERY_LIMIT)}) as response:
                if response.status_code != 200:
                    raise RegistryUnavailable(f"HTTP {response.status_code}")
                return b"".join(self._capped(response.iter_bytes(), deadline))
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(_one_line(exc)) from None

    def _capped(self, chunks: Iterator[bytes], deadline: float) -> Iterator[bytes]:
        size = 0
        for chunk in chunks:  # decoded: a compressed answer counts at its full size
            size += len(chunk)
            if size > self.max_bytes:
                raise RegistryUnavailable(f"answer larger than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise RegistryUnavailable(f"answer took longer than {2 * self.timeout:g} s")
            yield chunk


def essentials_of_answer(identifier: str, body: bytes, *, today: dt.date | None = None) -> TrialEssentials:
    """The essentials of trial `identifier` ("ISRCTN" and 8 digits) in one answer of the query API."""
    root = parse_answer(body)
    if _local(root.tag) != "allTrials":
        raise RegistryUnavailable(f"not an ISRCTN answer (<{_local(root.tag)[:40]}>)")
    try:
        total = int(root.get("totalCount") or "")
    except ValueError:
        raise RegistryUnavailable("not an ISRCTN answer (no totalCount)") from None
    number = identifier.removeprefix("ISRCTN")
    trials = _children(root, "fullTrial")
    for full in trials:
        trial = _child(full, "trial")
        if trial is not None and _text(trial, "isrctn") == number:
            return essentials_of_trial(identifier, full, today=today)
    if total > len(trials):  # more matches than came back: the number may be among the others
        raise RegistryUnavailable(f"{identifier} not among the first {len(trials)} of {total} matches")
    return TrialEssentials(ISRCTN, identifier, found=False)


def parse_answer(body: bytes) -> etree._Element:
    """The answer's root element; `RegistryUnavailable` for anything but plain, well-formed XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise RegistryUnavailable(f"not XML: {_one_line(exc)}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise RegistryUnavailable("the answer declares a DTD (refused)")
    return root


def essentials_of_trial(identifier: str, full: etree._Element, *, today: dt.date | None = None) -> TrialEssentials:
    """The cache's essentials of one `fullTrial` element."""
    trial = _child(full, "trial")
    description = _child(trial, "trialDescription")
    design = _child(trial, "trialDesign")
    participants = _child(trial, "participants")
    conditions = [_text(c, "description") for c in _children(_child(trial, "conditions"), "condition")]
    interventions = _children(_child(trial, "interventions"), "intervention")
    named: list[str] = []
    for intervention in interventions:
        for name in (_text(intervention, "drugNames"), _text(intervention, "description")):
            if name and name[:500] not in named:
                named.append(name[:500])
    phases = []
    for intervention in interventions:
        phase = _text(intervention, "phase")
        if phase and phase not in phases:
            phases.append(phase)
    sponsor = _child(full, "sponsor")
    final = _count(_text(participants, "totalFinalEnrolment"))
    return TrialEssentials(
        kind=ISRCTN, identifier=identifier, found=True,
        title=_text(description, "scientificTitle") or _text(description, "title"),
        conditions=tuple(c for c in conditions if c),
        interventions=tuple(named),
        phase=", ".join(phases)[:100] or None,
        overall_status=overall_status(
            _text(design, "overallStatusOverride"), reason_abandoned=_text(design, "reasonAbandoned"),
            end=_date(_text(design, "overallEndDate")), recruitment_start=_date(_text(participants, "recruitmentStart")),
            recruitment_end=_date(_text(participants, "recruitmentEnd")), final_enrolment=final, today=today),
        start_date=_date(_text(design, "overallStartDate")),
        completion_date=_date(_text(design, "overallEndDate")),
        enrollment=final if final is not None else _count(_text(participants, "targetEnrolment")),
        sponsor=_text(sponsor, "organisation"),
        sponsor_class=(_text(sponsor, "sponsorType") or "")[:50] or None,
        results_posted=results_posted(trial),
        last_update=_date(trial.get("lastUpdated") if trial is not None else None),
    )


def overall_status(override: str | None, *, reason_abandoned: str | None = None, end: str | None = None,
                   recruitment_start: str | None = None, recruitment_end: str | None = None,
                   final_enrolment: int | None = None, today: dt.date | None = None) -> str | None:
    """An ISRCTN trial's status as ClinicalTrials.gov names it: its override when it has one (or a
    reason it was abandoned), else from its dates: ended, recruiting, not yet or no longer recruiting.
    None when there is neither (judged as of unknown status)."""
    status = OVERRIDES.get((override or "").strip().casefold())
    if status is None and override:
        logger.debug("ISRCTN status override %r not known; the status follows from the dates", override)
    if status is None and reason_abandoned:
        status = "TERMINATED"
    if status == "TERMINATED" and final_enrolment == 0:
        return "WITHDRAWN"
    if status is not None:
        return status
    today = today or dt.date.today()
    ended, starts, stops = (parse_partial_date(d) for d in (end, recruitment_start, recruitment_end))
    if ended is None:
        return None
    if ended <= today:
        return "COMPLETED"
    if starts is not None and starts > today:
        return "NOT_YET_RECRUITING"
    if stops is not None and stops <= today:
        return "ACTIVE_NOT_RECRUITING"
    return "RECRUITING"


def results_posted(trial: etree._Element | None) -> bool:
    """The record holds the trial's results: a basic results report, or an output that is results."""
    results = _child(trial, "results")
    if _text(results, "basicReport") or _text(results, "plainEnglishReport"):
        return True
    outputs = _children(_child(trial, "outputs"), "output")
    return any((o.get("outputType") or "").strip().casefold() in RESULT_OUTPUTS for o in outputs)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    return [child for child in element if _local(child.tag) == name]


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: etree._Element | None, name: str) -> str | None:
    """The text of `element`'s child `name`, whitespace collapsed; None when absent or empty."""
    child = _child(element, name)
    if child is None:
        return None
    text = " ".join("".join(t for t in child.itertext() if isinstance(t, str)).split())
    return text or None


def _date(value: str | None) -> str | None:
    """An ISO date or date-time's date ("2019-06-30T00:00:00Z" -> "2019-06-30"); None if not one."""
    day = (value or "").strip()[:10]
    return day if ISO_DATE.fullmatch(day) else None


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message[:160]}" if message else type(exc).__name__
