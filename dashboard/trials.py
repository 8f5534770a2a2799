"""The trials pages cite, judged (`classifier.trials`) against the registry records storage caches.

The dashboard never asks a registry: it reads what crawls, `check --save` and `hypewatch trials
refresh` stored (`storage.trials`); a trial without a record shows as unverified.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from classifier.references import DOI, ISRCTN, NAMED_TRIAL, NCT, PMID, REGISTRY_KINDS, reference_url
from classifier.trials import PageContext, judge
from dashboard.figures import CitedTrialView, TrialCitation, TrialRow
from storage.models import DocumentVersion, Page
from storage.trials import TrialEssentials, cited_trials, version_citations

RECORD_KINDS = (NCT, ISRCTN)  # registries whose records are cached
TRIAL_KINDS = (*REGISTRY_KINDS, NAMED_TRIAL)
OTHER_KINDS = (DOI, PMID)


def version_trials(session: Session, page: Page, version: DocumentVersion) -> tuple[list[CitedTrialView],
                                                                                      list[CitedTrialView]]:
    """The trials one version cites (judged) and its other references (DOIs, PMIDs), each once, in text order."""
    context = PageContext(version.text, page.domain, version.site_name)
    grouped: dict[tuple[str, str], list[tuple[int, int]]] = {}
    records: dict[tuple[str, str], TrialEssentials | None] = {}
    for citation in version_citations(session, version.id, RECORD_KINDS):
        key = (citation.kind, citation.identifier)
        grouped.setdefault(key, []).append((citation.start, citation.end))
        records[key] = citation.record
    trials: list[CitedTrialView] = []
    others: list[CitedTrialView] = []
    for (kind, ident), spans in grouped.items():
        record = records[(kind, ident)]
        judged = judge(record, context) if kind in TRIAL_KINDS else ()
        view = CitedTrialView(kind, ident, reference_url(kind, ident), tuple(spans), _status(record),
                              record.title if record else None, judged, record.to_dict() if record else None)
        (trials if kind in TRIAL_KINDS else others).append(view)
    return trials, others


def trial_rows(session: Session) -> list[TrialRow]:
    """Every cited trial, most cited first, with each citing page's judgements."""
    rows = []
    for trial in cited_trials(session, TRIAL_KINDS):
        pages = [TrialCitation(p.page_id, p.url, p.domain, p.title, judge(trial.record, p)) for p in trial.pages]
        rows.append(TrialRow(trial.kind, trial.identifier, reference_url(trial.kind, trial.identifier),
                             _status(trial.record), trial.record.title if trial.record else None,
                             trial.record.to_dict() if trial.record else None, pages))
    return rows


def _status(record: TrialEssentials | None) -> str | None:
    if record is None:
        return None
    return record.overall_status if record.found else "NOT_FOUND"
