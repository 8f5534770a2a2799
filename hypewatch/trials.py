"""Trial-registry grounding: ask the registries about the trials pages cite, and cache the answer.

`RegistryClient` asks the ClinicalTrials.gov API v2 (`GET {HYPEWATCH_REGISTRY_URL}/api/v2/studies/
{nctId}`) for one study at a time, at most HYPEWATCH_REGISTRY_RATE requests, with our user agent
and the fetch timeout. `resolve` fetches the cited identifiers that have no record in the cache
(`storage.trials`), or, when refreshing, whose record is older than HYPEWATCH_REGISTRY_MAX_AGE; a
cached record is never asked for again before then. A registry that cannot be reached, answers
429 or anything but a study or a 404, leaves the identifier without a record: its citations stay
"unverified", and nothing is judged on a guess.

ISRCTN numbers are asked of the ISRCTN registry the same way (`hypewatch.isrctn.IsrctnClient`, a
`TrialRegistry` like `RegistryClient`): each client answers for one kind of identifier, and the
functions here take any of them. The other registries have no public API we use: their
identifiers are shown with a link, unverified.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpx
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from classifier.references import ISRCTN, NCT, find_references, reference_url
from classifier.trials import JUDGEMENTS, MISUSE, PageContext, judge
from hypewatch.settings import Settings
from storage.trials import (
    CitingPage,
    TrialEssentials,
    identifiers_to_fetch,
    save_trials,
    trial_records,
    version_citations,
    version_pages,
)

if TYPE_CHECKING:
    from storage.db import Database

logger = logging.getLogger(__name__)

STUDY_PATH = "/api/v2/studies/{}"
# Only the fields the cache keeps are asked for.
STUDY_FIELDS = ",".join((
    "protocolSection.identificationModule", "protocolSection.statusModule", "protocolSection.conditionsModule",
    "protocolSection.designModule", "protocolSection.armsInterventionsModule",
    "protocolSection.sponsorCollaboratorsModule", "hasResults"))
RESOLVED_KINDS = (NCT, ISRCTN)  # the registries asked (the others have no public API we use)


class RegistryUnavailable(Exception):
    """The registry did not answer with a study or "no such study" (down, 429, 5xx, not JSON or XML)."""


class TrialRegistry(Protocol):
    """A registry's client: asks it for one trial of its `kind` at a time."""

    kind: str  # the reference kind it answers for (`classifier.references`)
    base_url: str
    requests: int  # requests sent so far

    @property
    def window_requests(self) -> int: ...

    def study(self, identifier: str) -> TrialEssentials:
        """The trial's essentials (`found` False: no such trial); `RegistryUnavailable` otherwise."""
        ...

    def close(self) -> None: ...


@dataclass
class ResolveOutcome:
    """What one pass of `resolve` did."""

    asked: int = 0  # requests sent to the registry
    found: int = 0
    not_found: int = 0
    unverified: int = 0  # left without a (fresh) record: the registry could not answer
    fetched: list[str] = field(default_factory=list)  # the identifiers whose record this pass stored

    def __add__(self, other: ResolveOutcome) -> ResolveOutcome:
        return ResolveOutcome(self.asked + other.asked, self.found + other.found,
                              self.not_found + other.not_found, self.unverified + other.unverified,
                              self.fetched + other.fetched)

    def to_dict(self) -> dict[str, int]:
        return {"asked": self.asked, "found": self.found, "not_found": self.not_found, "unverified": self.unverified}


class PoliteClient:
    """What every registry client shares: one HTTP client with our user agent and timeout, never
    following redirects, and a moving-window rate limit (`rate`, a `limits` rate) that each
    request waits its turn under. Subclasses set `kind` and `accept` and ask for one trial in `study`."""

    kind: str
    accept: str

    def __init__(self, base_url: str, *, user_agent: str, timeout: float, rate: str,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.limit = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.timeout = timeout
        self.http = httpx.Client(headers={"User-Agent": user_agent, "Accept": self.accept},
                                 timeout=timeout, follow_redirects=False, transport=transport)
        self.requests = 0

    @property
    def window_requests(self) -> int:
        """How many requests the rate allows in one of its windows (20 for "20/minute")."""
        return int(self.limit.amount)

    @staticmethod
    def configured_url(settings: Settings) -> str | None:
        """The registry's base URL in `settings` (None: looking it up is turned off)."""
        raise NotImplementedError

    @classmethod
    def from_settings(cls, settings: Settings) -> Self | None:
        url = cls.configured_url(settings)
        if url is None:
            return None
        return cls(url, user_agent=settings.user_agent, timeout=settings.fetch_timeout, rate=settings.registry_rate)

    def close(self) -> None:
        self.http.close()

    def _wait_turn(self) -> None:
        while not self.limiter.hit(self.limit, self.kind):
            reset = self.limiter.get_window_stats(self.limit, self.kind).reset_time
            time.sleep(min(max(reset - time.time(), 0.05), 60.0))


class RegistryClient(PoliteClient):
    """ClinicalTrials.gov API v2, one study per request, rate-limited."""

    kind = NCT
    accept = "application/json"

    @staticmethod
    def configured_url(settings: Settings) -> str | None:
        return settings.registry_url

    def study(self, nct_id: str) -> TrialEssentials:
        """The study's essentials (`found` False on a 404); `RegistryUnavailable` for any other answer."""
        self._wait_turn()
        self.requests += 1
        try:
            response = self.http.get(self.base_url + STUDY_PATH.format(nct_id), params={"fields": STUDY_FIELDS})
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code == 404:
            return TrialEssentials(NCT, nct_id, found=False)
        if response.status_code != 200:
            raise RegistryUnavailable(f"HTTP {response.status_code}")
        try:
            return essentials_of_study(nct_id, response.json())
        except (ValueError, TypeError, AttributeError) as exc:
            raise RegistryUnavailable(f"not a study record: {exc}") from None

def essentials_of_study(nct_id: str, study: Mapping[str, Any]) -> TrialEssentials:
    """The cache's essentials of one API v2 study object."""
    protocol = study.get("protocolSection") or {}
    ident = protocol.get("identificationModule") or {}
    status = protocol.get("statusModule") or {}
    design = protocol.get("designModule") or {}
    sponsor = (protocol.get("sponsorCollaboratorsModule") or {}).get("leadSponsor") or {}
    interventions = (protocol.get("armsInterventionsModule") or {}).get("interventions") or []
    enrollment = (design.get("enrollmentInfo") or {}).get("count")
    return TrialEssentials(
        kind=NCT, identifier=nct_id, found=True,
        title=ident.get("officialTitle") or ident.get("briefTitle"),
        conditions=tuple(str(c) for c in (protocol.get("conditionsModule") or {}).get("conditions") or ()),
        interventions=tuple(str(i.get("name")) for i in interventions if isinstance(i, Mapping) and i.get("name")),
        phase=", ".join(design.get("phases") or ()) or None,
        overall_status=status.get("overallStatus"),
        start_date=_date(status.get("startDateStruct")),
        completion_date=_date(status.get("primaryCompletionDateStruct")) or _date(status.get("completionDateStruct")),
        enrollment=int(enrollment) if isinstance(enrollment, int | float) else None,
        sponsor=sponsor.get("name"), sponsor_class=sponsor.get("class"),
        results_posted=bool(study.get("hasResults")),
        last_update=_date(status.get("lastUpdatePostDateStruct")),
    )


def _date(struct: Any) -> str | None:
    date = struct.get("date") if isinstance(struct, Mapping) else None
    return str(date)[:10] if date else None


def resolve(database: Database, client: TrialRegistry | None, *, refresh: bool = False,
            max_age: dt.timedelta = dt.timedelta(days=7), limit: int | None = None) -> ResolveOutcome:
    """Fetch the records of the cited trials of the client's kind that have none (and, with
    `refresh`, those older than `max_age`), at most `limit` of them (those never fetched first; the
    rest are left for the next pass, and counted unverified). The first failure of the registry
    ends the pass."""
    kind = client.kind if client is not None else NCT
    with database.session() as session:
        never = identifiers_to_fetch(session, kind)
        stale = identifiers_to_fetch(session, kind, older_than=dt.datetime.now(dt.UTC) - max_age) if refresh else []
    wanted = never + [i for i in stale if i not in set(never)]
    chosen = wanted if limit is None else wanted[:limit]
    outcome = fetch_records(database, client, chosen)[1]
    outcome.unverified += len(wanted) - len(chosen)
    return outcome


def fetch_records(database: Database | None, client: TrialRegistry | None,
                  identifiers: Sequence[str]) -> tuple[dict[str, TrialEssentials], ResolveOutcome]:
    """Ask the registry for each identifier and cache each answer (when there is a database). The
    first failure of the registry ends the pass: the rest are left unverified."""
    records: dict[str, TrialEssentials] = {}
    outcome = ResolveOutcome()
    if client is None:
        outcome.unverified = len(identifiers)
        return records, outcome
    for position, ident in enumerate(identifiers):
        outcome.asked += 1
        try:
            record = client.study(ident)
        except RegistryUnavailable as exc:
            outcome.unverified = len(identifiers) - position
            logger.warning("trial registry %s did not answer for %s (%s); %d trial(s) left unverified",
                           client.base_url, ident, exc, outcome.unverified)
            break
        records[ident] = record
        outcome.fetched.append(ident)
        if database is not None:
            with database.session() as session:
                save_trials(session, [record])
        if record.found:
            outcome.found += 1
        else:
            outcome.not_found += 1
    return records, outcome


# ---------------------------------------------------------------------------- one page (check)
@dataclass(frozen=True)
class CitedTrialJudgement:
    """One trial a checked page cites, as `check` reports it."""

    kind: str
    identifier: str
    spans: tuple[tuple[int, int], ...]
    url: str | None
    record: TrialEssentials | None
    judgements: tuple[str, ...]

    @property
    def misused(self) -> bool:
        return any(j in MISUSE for j in self.judgements)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "identifier": self.identifier, "url": self.url,
            "spans": [list(span) for span in self.spans],
            "status": self.record.overall_status if self.record and self.record.found else None,
            "judgements": [{"name": j, "label": JUDGEMENTS[j]} for j in self.judgements],
            "record": self.record.to_dict() if self.record else None,
        }


def judge_text(database: Database | None, client: TrialRegistry | Sequence[TrialRegistry] | None, text: str, *,
               domain: str = "", site_name: str | None = None, max_age: dt.timedelta = dt.timedelta(days=7),
               today: dt.date | None = None) -> list[CitedTrialJudgement]:
    """The registry trials `text` cites, each judged: records come from the cache when fresh, else
    from the registry of their kind (`client`: one client or several; and are cached, when there is
    a database). A trial of a kind no client answers for is unverified."""
    references = [r for r in find_references(text) if r.is_registry]
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for ref in references:
        spans.setdefault((ref.kind, ref.identifier), []).append((ref.start, ref.end))
    clients = [client] if client is None or not isinstance(client, Sequence) else list(client)
    records: dict[tuple[str, str], TrialEssentials] = {}
    for one in clients:
        kind = one.kind if one is not None else NCT
        wanted = sorted(ident for k, ident in spans if k == kind)
        records.update({(kind, ident): rec for ident, rec in _records(database, one, kind, wanted, max_age).items()})
    page = PageContext(text, domain, site_name)
    out = []
    for (kind, ident), where in spans.items():
        record = records.get((kind, ident))
        out.append(CitedTrialJudgement(kind, ident, tuple(where), reference_url(kind, ident), record,
                                       judge(record, page, today=today)))
    return out


def _records(database: Database | None, client: TrialRegistry | None, kind: str, identifiers: Iterable[str],
             max_age: dt.timedelta) -> dict[str, TrialEssentials]:
    wanted = list(identifiers)
    cached: dict[str, TrialEssentials] = {}
    if database is not None and wanted:
        with database.session() as session:
            cached = trial_records(session, kind, wanted)
    fresh_after = dt.datetime.now(dt.UTC) - max_age
    missing = [i for i in wanted if i not in cached or cached[i].fetched_at < fresh_after]
    fetched, _ = fetch_records(database, client, missing) if missing else ({}, None)
    return {**cached, **fetched}  # a stale record the registry could not refresh is still the registry's word


# ---------------------------------------------------------------------------- stored versions (crawls)
def judge_versions(database: Database, version_ids: Iterable[int]) -> dict[int, tuple[CitingPage,
                                                                                     list[CitedTrialJudgement]]]:
    """Each stored version's page and the registry trials it cites (as stored with it), judged
    against the cached records, as the dashboard judges them; the registry is not asked."""
    out: dict[int, tuple[CitingPage, list[CitedTrialJudgement]]] = {}
    with database.session() as session:
        pages = version_pages(session, version_ids)
        for version_id, page in pages.items():
            grouped: dict[tuple[str, str], list[tuple[int, int]]] = {}
            records: dict[tuple[str, str], TrialEssentials | None] = {}
            for citation in version_citations(session, version_id, RESOLVED_KINDS):
                if citation.kind not in RESOLVED_KINDS:
                    continue
                key = (citation.kind, citation.identifier)
                grouped.setdefault(key, []).append((citation.start, citation.end))
                records[key] = citation.record
            context = PageContext(page.text, page.domain, page.site_name)
            out[version_id] = (page, [
                CitedTrialJudgement(kind, ident, tuple(spans), reference_url(kind, ident), records[(kind, ident)],
                                    judge(records[(kind, ident)], context))
                for (kind, ident), spans in grouped.items()])
    return out
