"""A very fast heart rate read from a sound dominated by breath is not borne out.

A heart's beats vary the heart band's envelope at their rate (2.2 Hz and over in the urgent
high band); breath swells and fades with each breath, 6-60/min. When more than half the
envelope's variation lies at that breathing rhythm, an urgent rate stands on breath, whatever
the chain read from it: a review that says so (docs/accuracy.md, twenty-eighth round; the bound
0.5, "dominated", fixed before the benches were measured).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import TriageThresholds
from stetho_signal._fast_read import BREATHING_RHYTHM_HZ, breath_share
from stetho_signal._rules import triage
from stetho_signal.heart import HeartResult
from stetho_signal.quality import Quality, QualityMeasures

ENV_HZ = 100.0
GOOD = Quality(0.9, True, (), (), QualityMeasures(0.0, -20.0, 0.2, 0.9, 3.0))


def _tone(hz: float, n: int = 1000) -> NDArray[np.float64]:
    """A cosine at ``hz`` on a level of 2; at 1000 samples every 0.1 Hz is a bin."""
    return 2.0 + np.cos(2 * np.pi * hz * np.arange(n) / ENV_HZ)


def _beats(rate_bpm: float, seconds: float = 20.0) -> NDArray[np.float64]:
    """A heart-band envelope: 40 ms pulses at ``rate_bpm`` on a floor."""
    t = np.arange(round(seconds * ENV_HZ)) / ENV_HZ
    phase = t % (60.0 / rate_bpm)
    return 0.1 + np.exp(-0.5 * ((phase - 0.05) / 0.02) ** 2)


def test_a_hearts_beats_vary_at_their_rate_and_a_breath_at_its_own() -> None:
    assert BREATHING_RHYTHM_HZ == (0.1, 1.0)
    beats = _beats(150.0)
    assert (share := breath_share(beats, ENV_HZ)) is not None and share < 0.01
    t = np.arange(beats.size) / ENV_HZ
    swell = 1.0 + 0.8 * np.sin(2 * np.pi * 0.3 * t)  # 18 breaths/min
    assert (share := breath_share(swell, ENV_HZ)) is not None and share > 0.99
    assert (share := breath_share(swell + 0.3 * beats, ENV_HZ)) is not None and share > 0.5
    assert (share := breath_share(0.1 * swell + beats, ENV_HZ)) is not None and share < 0.1


def test_the_share_ignores_scale_and_mean_and_is_rounded() -> None:
    t = np.arange(2000) / ENV_HZ
    x = _beats(150.0) + 0.5 * np.sin(2 * np.pi * 0.25 * t)
    share = breath_share(x, ENV_HZ)
    assert share is not None and 0.2 < share < 0.9
    assert breath_share(7.0 * x + 3.0, ENV_HZ) == share == round(share, 3)
    # The rate places the bins: read at ten times its rate, the swell is at 2.5 Hz.
    assert (fast := breath_share(x, 10 * ENV_HZ)) is not None and fast < 0.01


def test_the_rhythms_edges_count_and_drift_does_not() -> None:
    # Hann: a bin's tone puts 2/3 of its power in its bin, 1/6 in each neighbour.
    assert (share := breath_share(_tone(1.0), ENV_HZ)) is not None and 0.8 < share < 0.86
    assert (share := breath_share(_tone(1.1), ENV_HZ)) is not None and 0.1 < share < 0.2
    edge = breath_share(_tone(0.1) + _tone(2.0) - 2.0, ENV_HZ)
    assert edge is not None and 0.4 < edge < 0.5  # the 0.1 Hz bin counts in both sums
    # Under 0.1 Hz is drift: in neither sum.
    drift = breath_share(_tone(0.05, 4000) + _tone(2.0, 4000) - 2.0, ENV_HZ)
    assert drift is not None and drift < 0.01


def test_no_share_without_a_bin_of_the_rhythm_or_any_variation() -> None:
    assert breath_share(np.ones(1000), ENV_HZ) is None
    assert breath_share(np.zeros(1000), ENV_HZ) is None
    assert breath_share(_tone(2.0, 50), ENV_HZ) is None  # 0.5 s: its bins are 2 Hz apart
    assert breath_share(_tone(1.0, 100), ENV_HZ) is not None  # 1 s: a bin at 1 Hz


# A fast read no older arm takes: it repeats, its sounds stand out, in the heart band, steady.
BREATHY = HeartResult(
    180.5, (), (), 0.05, 1.1, "systolic", 0.8, 20.6, (), beat_intervals=34,
    sound_high_band_share=0.05, envelope_repeat=0.77, beat_span_share=0.93, beat_step=0.1,
    breath_share=0.62,
)  # fmt: skip


def _rule(heart: HeartResult, t: TriageThresholds | None = None) -> tuple[str, object]:
    result = triage(GOOD, heart, None, t or TriageThresholds())
    (flag,) = [f for f in result.flags if f.code.startswith("heart_rate_")]
    return result.level, flag


def test_a_breath_dominated_fast_read_raises_review_saying_why() -> None:
    level, flag = _rule(BREATHY)
    assert level == "review" and flag.code == "heart_rate_very_high_unconfirmed"
    assert flag.details == {"breath_share": 0.62, "max_breath_share": 0.5}
    assert (flag.value, flag.threshold) == (180.5, 131.0)
    assert flag.reason == (
        "Heart rate 180 beats/min is at or above 131; NEWS2 scores it 3: urgent clinical "
        "review, but 62% of its sounds' variation lies at a breathing rhythm (6-60/min; over "
        "50%): the sound is dominated by breathing, and the rate may come from breath sounds; "
        "a review, count the pulse over a minute."
    )
    lenient = TriageThresholds(urgent_high_max_breath_share=0.62)
    assert _rule(BREATHY, lenient)[0] == "urgent"


@pytest.mark.parametrize(
    ("share", "level"),
    [(0.501, "review"), (0.5, "urgent"), (0.2, "urgent"), (None, "urgent")],
)
def test_the_bound_is_exceeded_not_met(share: float | None, level: str) -> None:
    got, flag = _rule(dataclasses.replace(BREATHY, breath_share=share))
    assert got == level
    if level == "review":
        assert flag.details == {"breath_share": share, "max_breath_share": 0.5}
        assert "but 50.1% of its sounds' variation" in flag.reason


def test_the_older_arms_say_their_own_reason_first() -> None:
    quiet = dataclasses.replace(BREATHY, envelope_repeat=-0.09, sound_prominence=2.6)
    assert "envelope_repeat" in _rule(quiet)[1].details
    breath = dataclasses.replace(BREATHY, sound_high_band_share=0.77, beat_span_share=0.62)
    assert "high_band_share" in _rule(breath)[1].details
    steps = dataclasses.replace(BREATHY, beat_step=0.916)
    assert _rule(steps)[1].details == {"beat_step": 0.916, "max_beat_step": 0.795}
    few = dataclasses.replace(BREATHY, beat_intervals=2)
    assert "beat_intervals" in _rule(few)[1].details


def test_only_a_very_high_rate_is_taken() -> None:
    assert _rule(dataclasses.replace(BREATHY, rate_bpm=120.0))[1].code == "heart_rate_high"
    assert _rule(dataclasses.replace(BREATHY, rate_bpm=30.0))[1].code == "heart_rate_very_low"
    child = TriageThresholds().for_age_band("under_1")  # urgent from 190/min
    assert _rule(BREATHY, child)[1].code == "heart_rate_high"
    level, flag = _rule(dataclasses.replace(BREATHY, rate_bpm=200.0), child)
    assert (level, flag.code, flag.threshold) == ("review", flag.code, 190.0)
    assert flag.details == {"breath_share": 0.62, "max_breath_share": 0.5}
