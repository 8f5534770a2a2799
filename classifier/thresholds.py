"""Flag thresholds chosen on real pages.

Cross-validation on the written corpus picks thresholds that suit the corpus. Real pages score
differently (they are longer, messier, and mostly not hype), so the thresholds the model ships
with are chosen on the tuning part of the real-page set (`realset`): for relevance, then for each
signal among the pages judged relevant, the threshold with the best smoothed F1
(`evaluation.tune_thresholds`). Counter-signals are not labelled on real pages and keep the
cross-validated thresholds.

`thresholds.json` (beside this module) holds the chosen values; `model.make_model` uses them
unless given others. `hypewatch evaluate --real --part tuning --tune-thresholds` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from classifier.signals import OUTPUTS

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"


def load_thresholds(path: Path = THRESHOLDS_FILE) -> tuple[float | None, ...] | None:
    """The shipped thresholds in output order (None where cross-validation picks), or None."""
    if not path.is_file():
        return None
    chosen = json.loads(path.read_text(encoding="utf-8"))["thresholds"]
    return tuple(float(chosen[name]) if name in chosen else None for name in OUTPUTS)


def save_thresholds(chosen: dict[str, float], *, pages: int, model_version: str,
                    path: Path = THRESHOLDS_FILE) -> None:
    if not set(chosen) <= set(OUTPUTS):
        raise ValueError(f"unknown outputs: {sorted(set(chosen) - set(OUTPUTS))}")
    path.write_text(json.dumps({
        "policy": "Chosen by `hypewatch evaluate --real --part tuning --tune-thresholds`: for each output, the "
                  "threshold with the best smoothed F1 on the tuning part of the real-page set. Retune after "
                  "the corpus or the model changes; never tune on the test part.",
        "pages": pages, "model_version": model_version,
        "thresholds": {name: round(float(value), 2) for name, value in chosen.items()},
    }, indent=2) + "\n", encoding="utf-8")

