"""Breathing rate of a recording that opens with a recorder's digital silence.

The AKG C417L files of ICBHI open with 4,096 zeros (93 ms at 44.1 kHz). In the breath
octaves' log envelope those frames sit 40-55 dB under the breath; under room noise the dip
outweighs the breath's repeat in the autocorrelation and the rate read halves (accuracy.md,
twentieth round, s37-breathrate).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import analyze
from stetho_signal._spectra import frame_power
from stetho_signal.lung import _sounding_frames, respiratory_rate
from stetho_signal.wheezes import WHEEZE_NPERSEG
from stetho_sim.sounds import FS_HZ
from tests.stetho_signal.test_breath_rate import _wide_breathing

SILENCE = int(0.093 * FS_HZ)  # the AKG C417L's 4,096 samples at 44.1 kHz
RATE_BPM = 20.0


def _noisy_breathing(seed: int) -> NDArray[np.float64]:
    """20 s of breathing at 20/min under white room noise 2.5 times the breath's RMS."""
    x = _wide_breathing(RATE_BPM, 20.0, seed)
    rng = np.random.default_rng(seed + 50)
    return x + 2.5 * np.std(x) * rng.standard_normal(x.size)


def _silenced(x: NDArray[np.float64]) -> NDArray[np.float64]:
    y = x.copy()
    y[:SILENCE] = 0.0
    return y


def _rate(x: NDArray[np.float64], signal_s: tuple[float, float] | None) -> float | None:
    spectrogram = frame_power(x, FS_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    return respiratory_rate(spectrogram, [], None, signal_s)


@pytest.mark.parametrize("seed", [0, 5])
def test_leading_silence_no_longer_halves_the_rate(seed: int) -> None:
    x = _silenced(_noisy_breathing(seed))
    # The old way, the silent frames kept: half the rate.
    assert _rate(x, None) == pytest.approx(RATE_BPM / 2, abs=1.0)
    # The silent frames left out: the rate.
    assert _rate(x, (SILENCE / FS_HZ, 20.0)) == pytest.approx(RATE_BPM, abs=1.0)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None
    assert lung.respiratory_rate_bpm == pytest.approx(RATE_BPM, abs=1.0)


@pytest.mark.parametrize("seed", [0, 5])
def test_control_without_silence_reads_the_rate_either_way(seed: int) -> None:
    x = _noisy_breathing(seed)
    assert _rate(x, None) == pytest.approx(RATE_BPM, abs=1.0)
    assert _rate(x, (0.0, 20.0)) == _rate(x, None)


def _centres(frames: int) -> NDArray[np.float64]:
    hop = WHEEZE_NPERSEG // 2
    return (np.arange(frames) * hop + WHEEZE_NPERSEG / 2) / FS_HZ


def test_sounding_frames_keep_every_frame_without_silence() -> None:
    centres = _centres(624)
    assert _sounding_frames(centres, None) == slice(None)
    last_end = float(centres[-1] + (centres[1] - centres[0]))
    kept = _sounding_frames(centres, (0.0, last_end))
    assert (kept.start, kept.stop) == (0, centres.size)
    assert _sounding_frames(centres[:1], (0.5, 1.0)) == slice(None)


def test_sounding_frames_leave_out_what_the_smoothing_reaches() -> None:
    centres = _centres(624)
    step = float(centres[1] - centres[0])
    kept = _sounding_frames(centres, (0.093, 15.0))
    reach = step + 0.2  # half a frame (50 % overlap) and half the 0.4 s smoothing
    assert centres[kept.start] >= 0.093 + reach > centres[kept.start - 1]
    assert centres[kept.stop - 1] <= 15.0 - reach < centres[kept.stop]


def test_sounding_frames_empty_when_silence_covers_all() -> None:
    centres = _centres(100)
    kept = _sounding_frames(centres, (1.0, 1.2))
    assert kept.stop == kept.start
    notes: list[str] = []
    x = _silenced(_noisy_breathing(0))
    spectrogram = frame_power(x[: int(4 * FS_HZ)], FS_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    assert respiratory_rate(spectrogram, notes, None, (3.5, 3.8)) is None
    assert [n.code for n in notes] == ["clip_too_short_for_breaths"]
