"""Hand-built cue features: the things an analyst looks for that n-grams see poorly.

`CueFeatures` counts pattern families (registry IDs, DOIs, prices, calls to action, provider
voice, hedges, negation near efficacy words, named risks, how many conditions a page offers to
treat, ...) and returns them log-scaled, one column per family, for sentences or whole documents.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

_I = re.IGNORECASE

PATTERNS: dict[str, re.Pattern[str]] = {
    "registry_id": re.compile(
        r"\b(?:NCT\s?\d{8}|ISRCTN\s?\d{6,8}|EudraCT\s*(?:no\.?|number)?\s*\d{4}-\d{6}-\d{2}|\d{4}-\d{6}-\d{2}"
        r"|EU\s?CT\s*(?:no\.?|number)?\s*\d{4}-\d{6}-\d{2}-\d{2}|ACTRN\s?\d{14}|ChiCTR[-\w]{6,})\b",
        _I,
    ),
    "doi_pmid": re.compile(r"\b(?:doi:?\s*10\.\d{4,9}/\S+|10\.\d{4,9}/[-._;()/:a-z0-9]+|PMID:?\s*\d{6,9}|PMC\d{5,8})", _I),
    "named_trial": re.compile(r"\b(?:MIST|BEAT-MS|RAM-MS|STAR-MS|NET-MS|HALT-MS|ASTIMS|MESEMS|COAST|MOST|ASTIMS)\b"),
    "journal": re.compile(
        r"\b(?:Lancet(?: Neurology)?|JAMA(?: Neurology)?|New England Journal|NEJM|BMJ|JNNP|Neurology(?: journal)?|"
        r"Multiple Sclerosis Journal|Annals of Neurology|Brain|Nature Medicine|Journal of [A-Z][a-z]+|"
        r"published in|peer-reviewed|et al\.?)",
    ),
    "study_attribution": re.compile(
        r"\b(?:university|hospital|institute|researchers at|led by|co-author|professor|Dr\.?)\b", _I
    ),
    "vague_study": re.compile(
        r"\b(?:a (?:recent |new |groundbreaking |landmark )?(?:study|trial|research)|studies (?:have )?(?:show|found|suggest)|"
        r"research (?:shows|has shown|suggests)|scientists (?:say|have found)|clinical(?:ly)? proven|proven)\b",
        _I,
    ),
    "percent": re.compile(r"\b\d{1,3}(?:[.,]\d+)?\s?(?:%|percent|per cent)", _I),
    "price": re.compile(
        r"(?:[$€£¥₺]\s?\d[\d,.]*|\b\d[\d,.]*\s?(?:USD|EUR|GBP|dollars|euros|pounds)\b|\b(?:price|cost|package|"
        r"financing|payment plan|all-inclusive|discount)\b)",
        _I,
    ),
    "call_to_action": re.compile(
        r"\b(?:book (?:a|your|now)|schedule (?:a|your)|contact us|call (?:us|now|today)|free consultation|"
        r"request (?:a|your|more)|apply now|get started|enquire|inquire|whatsapp|fill (?:in|out) the form|"
        r"speak (?:to|with) (?:a|our)|reserve|limited (?:spots|places))\b",
        _I,
    ),
    "contact": re.compile(r"(?:\+\d[\d\s().-]{7,}\d|\b[\w.+-]+@[\w-]+\.[\w.]+\b|\bwww\.[\w-]+\.\w+)", _I),
    "provider_voice": re.compile(
        r"\b(?:our (?:clinic|patients|team|doctors|physicians|centre|center|protocol|treatment|facility|program(?:me)?)|"
        r"we (?:offer|provide|treat|recommend|use|have treated|specialise|specialize|are proud)|"
        r"at our|join (?:us|our))\b",
        _I,
    ),
    "first_person": re.compile(r"\b(?:I|I'm|I've|I'd|my|me)\b"),
    "travel": re.compile(
        r"\b(?:airport|hotel|flight|visa|travel|abroad|overseas|Mexico|Panama|Cancun|Tijuana|Costa Rica|Colombia|"
        r"Cayman|Ukraine|Kyiv|Turkey|Istanbul|Thailand|Bangkok|Cyprus|Russia|Moscow|India|Bahamas|medical tourism)\b",
        _I,
    ),
    "hedge": re.compile(
        r"\b(?:may|might|could|possibly|potential(?:ly)?|early|preliminary|pilot|small (?:study|trial|sample)|"
        r"more research|further research|not yet|uncertain|unclear|limited evidence|remains to be|experimental|"
        r"investigational|we don't know|too early)\b",
        _I,
    ),
    "negation": re.compile(
        r"\b(?:no|not|never|isn't|aren't|cannot|can't|won't|there is no|no evidence|unproven|without evidence)\b", _I
    ),
    "efficacy_word": re.compile(
        r"\b(?:cure[ds]?|curing|revers(?:e|ed|es|al|ing)|disease[- ]free|remission|walk(?:ed|ing)? again|miracle|"
        r"breakthrough|game[- ]changer|halt(?:s|ed)?|stop(?:s|ped)? (?:MS|the disease|progression)|eliminat\w+|"
        r"regenerat\w+|repair(?:s|ed)?|restor\w+|success rate|life[- ]changing|transform\w*)\b",
        _I,
    ),
    "named_risk": re.compile(
        r"\b(?:infections?|neutropenia|febrile|sepsis|death|deaths|died|mortality|fatal|tumou?rs?|cancer risk|"
        r"toxicity|infertility|early menopause|hair loss|bleeding|stroke|blindness|meningitis|complications?|"
        r"adverse events?|side[- ]effects?|secondary autoimmun\w+|thyroid)\b",
        _I,
    ),
    "safety_claim": re.compile(
        r"\b(?:safe|safety profile|no side[- ]effects|without side[- ]effects|risk[- ]free|no risk|no rejection|"
        r"your own cells|minimally invasive|no downtime|non[- ]invasive|painless|all[- ]natural|natural)\b",
        _I,
    ),
    "regulator": re.compile(
        r"\b(?:FDA|EMA|TGA|Health Canada|MHRA|regulator\w*|unapproved|not approved|approved|warning letter|"
        r"licen[cs]ed|clinical trial(?:s)? only|consumer alert|FTC)\b",
        _I,
    ),
    "legitimacy_marker": re.compile(
        r"\b(?:FDA[- ]registered|registered (?:on|with) clinicaltrials\.gov|listed on clinicaltrials\.gov|"
        r"IRB[- ]approved|GMP[- ]certified|accredited|certified lab)\b",
        _I,
    ),
    "patient_story": re.compile(
        r"(?:\b(?:patient stor(?:y|ies)|testimonial|success stor(?:y|ies)|(?:he|she) (?:was|is|can|could|walked|"
        r"returned|went)|years? old|diagnosed (?:in|at|with)|told (?:me|us)|says (?:she|he))\b|[“\"][^”\"]{20,}[”\"])",
        _I,
    ),
    "question": re.compile(r"\?"),
    "exclaim": re.compile(r"!"),
    "stem_cell": re.compile(r"\b(?:stem[- ]cells?|HSCT|aHSCT|MSCs?|mesenchymal|cord blood|umbilical|exosomes?|SVF|"
                            r"stromal|regenerative)\b", _I),
    "ms": re.compile(r"\b(?:MS|multiple sclerosis|RRMS|SPMS|PPMS|demyelinat\w+|myelin)\b"),
}

CONDITIONS = re.compile(
    r"\b(?:autism|ALS|Parkinson'?s|Alzheimer'?s|cerebral palsy|spinal cord injur\w*|stroke|diabetes|COPD|"
    r"arthritis|osteoarthritis|lupus|Crohn'?s|heart failure|kidney disease|erectile dysfunction|anti[- ]aging|"
    r"neuropathy|long COVID|lyme|fibromyalgia|dementia|traumatic brain injur\w*|muscular dystrophy|"
    r"multiple sclerosis|psoriasis|hair loss|macular degeneration|back pain|knee)\b",
    _I,
)

FEATURE_NAMES = (*PATTERNS, "distinct_conditions", "log_length")


class CueFeatures(TransformerMixin, BaseEstimator):
    """Counts of analyst cue patterns per text, log-scaled; a sparse matrix with one column per cue."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def fit(self, X, y=None):
        self.n_features_in_ = 1
        return self

    def transform(self, X) -> sparse.csr_matrix:
        rows = [self._row(text) for text in X]
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64) * self.scale)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"cue_{name}" for name in FEATURE_NAMES], dtype=object)

    @staticmethod
    def _row(text: str) -> list[float]:
        counts = [np.log1p(len(pattern.findall(text))) for pattern in PATTERNS.values()]
        distinct = len({m.lower() for m in CONDITIONS.findall(text)})
        counts.append(np.log1p(distinct))
        counts.append(np.log1p(len(text)) / 10.0)
        return counts
