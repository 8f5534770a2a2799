"""How signals look: names, the guide's wording, and one colour each (shared by pages, charts and API)."""

from __future__ import annotations

from typing import Any

from classifier.signals import COUNTER_SIGNALS, SIGNAL_INFO, SIGNALS

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
SIGNAL_COLOURS = {
    "cure_claim": "#D55E00",
    "clinic_promotion": "#CC79A7",
    "missing_trial_reference": "#0072B2",
    "testimonial": "#009E73",
    "risk_minimisation": "#E69F00",
}
COUNTER_COLOUR = "#56606B"
# Short names for table headers and chips; the guide's full label is their tooltip.
SHORT_LABELS = {
    "cure_claim": "Cure claim",
    "clinic_promotion": "Promotion",
    "missing_trial_reference": "No evidence",
    "testimonial": "Testimonial",
    "risk_minimisation": "Risks played down",
}


def signal_meta() -> list[dict[str, Any]]:
    return [
        {"name": n, "label": SIGNAL_INFO[n].label, "short": SHORT_LABELS[n],
         "description": SIGNAL_INFO[n].description, "colour": SIGNAL_COLOURS[n]}
        for n in SIGNALS
    ]


def counter_meta() -> list[dict[str, Any]]:
    return [{"name": n, "label": SIGNAL_INFO[n].label, "description": SIGNAL_INFO[n].description} for n in COUNTER_SIGNALS]


def percent(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"
