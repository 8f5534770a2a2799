"""The signals hypewatch scores, named and worded as in the annotation guide.

The guide (`annotation-guide.md`) is the contract: these names are its label names, and the
short descriptions are what the dashboard and the CLI show next to a score.
"""

from __future__ import annotations

from dataclasses import dataclass

SIGNALS = ("cure_claim", "clinic_promotion", "missing_trial_reference", "testimonial", "risk_minimisation")
COUNTER_SIGNALS = ("trial_reference", "risk_disclosure", "regulatory_status", "hedging")
TARGETS = SIGNALS + COUNTER_SIGNALS
# The model's outputs, in the column order of every score array: relevance, then the targets.
OUTPUTS = ("relevant", *TARGETS)


@dataclass(frozen=True)
class SignalInfo:
    name: str
    label: str
    description: str
    counter: bool = False


SIGNAL_INFO: dict[str, SignalInfo] = {
    info.name: info
    for info in (
        SignalInfo(
            "cure_claim",
            "Overclaimed efficacy",
            "Presents a stem-cell treatment as curing, reversing, eliminating or stopping MS, or promises a "
            "certain outcome, without hedging it back to what evidence shows.",
        ),
        SignalInfo(
            "clinic_promotion",
            "Direct-to-consumer promotion",
            "Offers, sells or advertises a stem-cell treatment to patients outside a registered clinical trial "
            "(provider voice, prices, booking calls, medical-tourism logistics).",
        ),
        SignalInfo(
            "missing_trial_reference",
            "Efficacy without identifiable evidence",
            "Claims a benefit and gives no way to find its evidence (no registry ID, named trial, journal, DOI "
            "or named study), or misuses legitimacy markers as proof.",
        ),
        SignalInfo(
            "testimonial",
            "Anecdote as evidence",
            "Uses patient stories, first-person recovery accounts or patient quotes to show that the treatment works.",
        ),
        SignalInfo(
            "risk_minimisation",
            "Harms played down or missing",
            "Claims the treatment is safe or without side effects, or makes treatment claims and mentions no risk.",
        ),
        SignalInfo(
            "trial_reference",
            "Trial reference",
            "Registry IDs, named trials, journals, DOIs, PMIDs.",
            counter=True,
        ),
        SignalInfo(
            "risk_disclosure",
            "Risk disclosure",
            "Specific named harms, with frequency or severity.",
            counter=True,
        ),
        SignalInfo(
            "regulatory_status",
            "Regulatory status",
            "Says accurately that a treatment is unapproved, experimental or only in trials, or names a "
            "regulator's warning.",
            counter=True,
        ),
        SignalInfo(
            "hedging",
            "Hedging",
            "May, might, early, small study, preliminary, more research needed.",
            counter=True,
        ),
    )
}

HYPE_LEVELS = {0: "none", 1: "low", 2: "medium", 3: "high"}
# The one banding of the 0-100 hype score into the guide's levels, used by `hypewatch check`, the
# dashboard and the exports alike: the lowest score of levels 1, 2 and 3. "High hype", wherever
# the dashboard counts or filters it, is the high band.
HYPE_BAND_FLOORS = (10.0, 40.0, 60.0)
HIGH_HYPE = HYPE_BAND_FLOORS[-1]


def hype_level(score: float | None) -> int:
    """The guide's 0-3 level of a 0-100 hype score (no score: 0)."""
    if score is None:
        return 0
    return sum(score >= floor for floor in HYPE_BAND_FLOORS)


def hype_band(score: float | None) -> str:
    """The band's word ("none", "low", "medium", "high") of a 0-100 hype score."""
    return HYPE_LEVELS[hype_level(score)]
