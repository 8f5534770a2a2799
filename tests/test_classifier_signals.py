"""classifier.signals: the one hype band, and every place that shows a band holds to it."""

from __future__ import annotations

import pytest

from classifier.signals import HIGH_HYPE, HYPE_BAND_FLOORS, HYPE_LEVELS, hype_band, hype_level


@pytest.mark.parametrize(("score", "band"), [
    (None, "none"), (0.0, "none"), (9.9, "none"), (10.0, "low"), (39.9, "low"), (40.0, "medium"),
    (59.9, "medium"), (60.0, "high"), (65.0, "high"), (100.0, "high"),
])
def test_hype_band_edges(score, band):
    assert hype_band(score) == band
    assert HYPE_LEVELS[hype_level(score)] == band


def test_high_hype_is_the_high_band():
    assert HIGH_HYPE == HYPE_BAND_FLOORS[-1]
    assert hype_band(HIGH_HYPE) == "high" and hype_band(HIGH_HYPE - 0.1) != "high"
