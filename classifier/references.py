"""The references a text cites: trial-registry identifiers, named trials, DOIs and PMIDs.

`find_references` returns every one with its character offsets into the text as given, and its
identifier normalised (so `NCT 01234567` and `nct01234567` are one trial). The patterns match
inside any language: an identifier is told apart from the letters and digits around it, not by
`\\b`, which sees no boundary between a CJK character and a Latin letter. Full-width forms and the
Unicode dashes are read as their ASCII equivalents (one character for one, so offsets hold).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kinds of reference. Registries first; each name is used once, here.
NCT = "nct"  # ClinicalTrials.gov
ISRCTN = "isrctn"
EUDRACT = "eudract"  # EudraCT number, YYYY-NNNNNN-CC
EUCT = "euct"  # EU CT number (CTIS), YYYY-5NNNNN-NN-NN
ACTRN = "actrn"  # ANZCTR
CHICTR = "chictr"
CTRI = "ctri"
IRCT = "irct"
JRCT = "jrct"
DRKS = "drks"
NAMED_TRIAL = "named-trial"
DOI = "doi"
PMID = "pmid"

REGISTRY_KINDS = (NCT, ISRCTN, EUDRACT, EUCT, ACTRN, CHICTR, CTRI, IRCT, JRCT, DRKS)
KINDS = (*REGISTRY_KINDS, NAMED_TRIAL, DOI, PMID)

# Published trials of cell therapy for MS that pages cite by name (matched case-sensitively).
# Names that are also words in capitals ("COAST") are left out.
NAMED_TRIALS = ("MIST", "BEAT-MS", "RAM-MS", "STAR-MS", "NET-MS", "HALT-MS", "ASTIMS", "MESEMS", "ACTiMuS")

_NOT_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_AFTER = r"(?![A-Za-z0-9])"
_SEP = r"[ -]?"  # "NCT 01234567", "ISRCTN-12345678"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern)) for kind, pattern in (
    (NCT, rf"{_NOT_BEFORE}(?i:NCT){_SEP}(?P<id>\d{{8}}){_NOT_AFTER}"),
    (ISRCTN, rf"{_NOT_BEFORE}(?i:ISRCTN){_SEP}(?P<id>\d{{8}}){_NOT_AFTER}"),
    # EU CT before EudraCT: an EU CT number begins like a EudraCT one.
    (EUCT, rf"{_NOT_BEFORE}(?P<id>(?:19|20)\d\d-5\d{{5}}-\d\d-\d\d){_NOT_AFTER}(?!-\d)"),
    (EUDRACT, rf"{_NOT_BEFORE}(?P<id>(?:19|20)\d\d-\d{{6}}-\d\d){_NOT_AFTER}(?!-\d)"),
    (ACTRN, rf"{_NOT_BEFORE}ACTRN{_SEP}(?P<id>\d{{14}}){_NOT_AFTER}"),
    (CHICTR, rf"{_NOT_BEFORE}(?i:ChiCTR)(?P<id>-?[A-Za-z]{{2,4}}-\d{{8}}|\d{{10}}){_NOT_AFTER}"),
    (CTRI, rf"{_NOT_BEFORE}CTRI/(?P<id>\d{{4}}/\d{{2,3}}/\d{{6}}){_NOT_AFTER}"),
    (IRCT, rf"{_NOT_BEFORE}IRCT(?P<id>\d{{8,14}}N\d{{1,3}}){_NOT_AFTER}"),
    (JRCT, rf"{_NOT_BEFORE}jRCT(?P<id>[a-z]?\d{{9,10}}){_NOT_AFTER}"),
    (DRKS, rf"{_NOT_BEFORE}DRKS{_SEP}(?P<id>\d{{8}}){_NOT_AFTER}"),
    (NAMED_TRIAL, rf"{_NOT_BEFORE}(?P<id>{'|'.join(re.escape(n) for n in sorted(NAMED_TRIALS, key=len, reverse=True))})"
                  rf"(?![A-Za-z0-9-])"),
    (DOI, r"(?<![A-Za-z0-9.])(?P<id>10\.\d{4,9}/(?:(?![\"'<>])[!-~])+)"),  # printable ASCII
    (PMID, rf"{_NOT_BEFORE}(?:(?i:PMID|PubMed(?: ID)?)\s?:?\s?|pubmed\.ncbi\.nlm\.nih\.gov/)(?P<id>[1-9]\d{{0,8}})"
           rf"{_NOT_AFTER}"),
))

# Full-width ASCII and the Unicode dashes and spaces, read as ASCII: one character for one.
_ASCII: dict[int, int | str] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_ASCII.update({ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212\uff0d"})
_ASCII.update({ord(c): " " for c in "\u00a0\u2007\u202f\u3000"})
_DOI_TRAILING = ".,;:)]}'\"!?。，；："


@dataclass(frozen=True)
class Reference:
    """One reference in a text: `text[start:end]` is how it was written."""

    kind: str  # one of KINDS
    identifier: str  # normalised: "NCT01234567", "2019-001234-15", "10.1000/abc", "12345678", "BEAT-MS"
    start: int
    end: int

    @property
    def is_registry(self) -> bool:
        return self.kind in REGISTRY_KINDS


def find_references(text: str) -> list[Reference]:
    """Every reference in `text`, in the order they appear; each identifier as often as it is cited."""
    plain = text.translate(_ASCII)
    found: dict[tuple[int, int], Reference] = {}
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(plain):
            start, end = match.span()
            raw = match.group("id")
            if kind == DOI:
                stripped = raw.rstrip(_DOI_TRAILING)
                if raw.endswith(")") and stripped.count("(") > stripped.count(")"):
                    stripped += ")"  # 10.1016/S0140-6736(15)00001-X ends with its own parenthesis
                end -= len(raw) - len(stripped)
                raw = stripped
                if "/" not in raw or raw.endswith("/"):
                    continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue  # a EudraCT-looking part of an EU CT number, a DOI's digits, ...
            taken.append((start, end))
            found[(start, end)] = Reference(kind, normalise(kind, raw), start, end)
    return [found[span] for span in sorted(found)]


def normalise(kind: str, raw: str) -> str:
    """The identifier's one written form."""
    if kind == DOI:
        return raw.lower()
    if kind == CHICTR:
        return "ChiCTR" + (raw if raw[0].isdigit() else "-" + raw.lstrip("-").upper())
    prefixes = {NCT: "NCT", ISRCTN: "ISRCTN", ACTRN: "ACTRN", CTRI: "CTRI/", IRCT: "IRCT", JRCT: "jRCT", DRKS: "DRKS"}
    return prefixes.get(kind, "") + raw


def reference_url(kind: str, ident: str) -> str | None:
    """Where a reader can look a reference up, or None (a named trial has no one address)."""
    urls = {
        NCT: f"https://clinicaltrials.gov/study/{ident}",
        ISRCTN: f"https://www.isrctn.com/{ident}",
        EUDRACT: f"https://www.clinicaltrialsregister.eu/ctr-search/search?query={ident}",
        EUCT: f"https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={ident}",
        ACTRN: f"https://www.anzctr.org.au/TrialSearch.aspx?searchTxt={ident}",
        CHICTR: f"https://www.chictr.org.cn/searchprojEN.html?regno={ident}",
        CTRI: f"https://ctri.nic.in/Clinicaltrials/advsearch.php?q={ident}",
        IRCT: f"https://irct.behdasht.gov.ir/search/result?query={ident}",
        JRCT: f"https://jrct.niph.go.jp/en-latest-detail/{ident}",
        DRKS: f"https://drks.de/search/en/trial/{ident}",
        DOI: f"https://doi.org/{ident}",
        PMID: f"https://pubmed.ncbi.nlm.nih.gov/{ident}/",
    }
    return urls.get(kind)
