"""Mains hum: found at its frequency, taken out of the samples, nothing else touched, and
reported in the result without counting against its quality."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import _mains, analyze
from stetho_signal._mains import HIGHEST_HZ, find_mains, hum_lines, without_hum
from stetho_signal.bands import Spectrum
from stetho_signal.quality import QualityMeasures, assess_quality, grade_quality
from stetho_sim.sounds import FS_HZ, add_wheeze, breathing, pcg


def _hum(n: int, fundamental_hz: float, rms: float) -> NDArray[np.float64]:
    """A fundamental and its odd harmonics to the fifth, each half the one below, at ``rms``."""
    t = np.arange(n) / FS_HZ
    x = sum(0.5**k * np.sin(2 * np.pi * fundamental_hz * (2 * k + 1) * t + k) for k in range(3))
    hum = np.asarray(x, dtype=np.float64)
    return hum * rms / float(np.std(hum))


def _under(x: NDArray[np.float64], fundamental_hz: float, db: float) -> NDArray[np.float64]:
    return x + _hum(x.size, fundamental_hz, float(np.std(x)) * 10 ** (-db / 20))


def _heart(rate: float = 75.0, seconds: float = 20.0) -> NDArray[np.float64]:
    return pcg(rate, seconds, jitter=0.03, noise=0.01, seed=3)[0]


def _found(x: NDArray[np.float64]) -> tuple[float, ...]:
    return Spectrum(x, FS_HZ).mains_hum()


@pytest.mark.parametrize("fundamental", [50.0, 49.9, 50.1, 60.0, 59.9])
def test_hum_is_found_at_its_frequency(fundamental: float) -> None:
    found = _found(_under(_heart(), fundamental, 10.0))
    assert len(found) == 1
    assert found[0] == pytest.approx(fundamental, abs=0.02)


@pytest.mark.parametrize("rate", [35.0, 48.0, 60.0, 75.0, 100.0, 120.0, 150.0, 180.0, 220.0])
def test_periodic_hearts_and_breaths_are_not_hum(rate: float) -> None:
    # A heart beating exactly in time puts lines at every multiple of its rate, 50 and 60 Hz
    # among them, but as strong as their neighbours: not a hum.
    x, _, _ = pcg(rate, 20.0)
    assert _found(x) == ()
    assert _found(breathing(rate / 5)) == ()


def test_a_steady_tone_off_the_mains_is_not_hum() -> None:
    x = _heart()
    t = np.arange(x.size) / FS_HZ
    assert _found(x + 0.3 * np.std(x) * np.sin(2 * np.pi * 73.0 * t)) == ()
    assert _found(x + 0.3 * np.std(x) * np.sin(2 * np.pi * 53.0 * t)) == ()


_ODD = (50.0, 150.0, 250.0)  # the lines of ``_hum`` at 50 Hz


def _lines(x: NDArray[np.float64], fundamentals: tuple[float, ...]) -> tuple[float, ...]:
    return Spectrum(x, FS_HZ).mains_lines(fundamentals)


def test_the_hum_leaves_the_samples_and_the_heart_stays() -> None:
    heart = _heart()
    hum = _hum(heart.size, 50.0, float(np.std(heart)))  # as loud as the heart
    second = int(FS_HZ)
    left = without_hum(hum, FS_HZ, _ODD)
    assert float(np.std(left)) < 0.015 * float(np.std(hum))  # over 35 dB down
    assert float(np.std(left[: second // 2])) < 0.015 * float(np.std(hum))  # at the ends too
    assert float(np.std(left[-second // 2 :])) < 0.015 * float(np.std(hum))
    drifted = without_hum(_hum(heart.size, 50.02, float(np.std(heart))), FS_HZ, _ODD)
    assert float(np.std(drifted)) < 0.03 * float(np.std(hum))
    # Under the heart, the same: what is left is the heart.
    cleaned = without_hum(heart + hum, FS_HZ, _ODD)
    assert float(np.std(cleaned - heart)) < 0.03 * float(np.std(hum))
    # The simulator's S1 is a 50 Hz burst, the worst case: it keeps 93 % of its power.
    lost = heart - without_hum(heart, FS_HZ, _ODD)
    assert float(np.var(lost)) < 0.07 * float(np.var(heart))


def test_without_hum_takes_every_line_it_is_given() -> None:
    second = int(FS_HZ)
    t = np.arange(20 * second) / FS_HZ
    tones = [np.sin(2 * np.pi * 50.0 * k * t) for k in range(1, int(HIGHEST_HZ // 50) + 2)]
    lines = tuple(50.0 * k for k in range(1, int(HIGHEST_HZ // 50) + 1))
    cleaned = without_hum(np.sum(tones, axis=0), FS_HZ, lines)
    # Every line to 1000 Hz gone (3.2 RMS together, 36 dB down); 1050 Hz, not given, left as
    # it was.
    assert float(np.std(cleaned - tones[-1])) < 0.05


@pytest.mark.parametrize(("fundamental", "odd"), [(50.0, _ODD), (59.9, (59.9, 179.7, 299.5))])
def test_only_the_harmonics_that_carry_the_hum_are_taken_out(
    fundamental: float, odd: tuple[float, ...]
) -> None:
    heart = _heart()
    found = _lines(_under(heart, fundamental, 10.0), (fundamental,))
    assert found == pytest.approx(odd)
    # Each line is judged against its own neighbours: 25 dB under the heart, the fundamental
    # is lost in the heart sounds' band, the harmonics over it still stand out.
    assert _lines(_under(heart, fundamental, 25.0), (fundamental,)) == pytest.approx(odd[1:])
    assert _lines(heart, (fundamental,)) == ()  # a heart has no line at a mains harmonic
    assert _lines(breathing(16.0), (fundamental,)) == ()


def test_a_hum_on_both_grids_has_each_line_once() -> None:
    heart = _heart()
    both = _under(heart, 50.0, 10.0) + _hum(heart.size, 60.0, 0.3 * float(np.std(heart)))
    lines = _lines(both, (50.0, 60.0))
    assert lines == pytest.approx((50.0, 60.0, 150.0, 180.0, 250.0, 300.0))
    # 300 Hz is the 60 Hz hum's fifth harmonic and would be a 50 Hz hum's sixth: taken out
    # once, not twice (twice would add it back, inverted).
    t = np.arange(heart.size) / FS_HZ
    tone = np.sin(2 * np.pi * 300.0 * t)
    assert float(np.std(without_hum(tone, FS_HZ, lines))) < 0.015


def test_a_loud_sound_leaves_no_tone_around_it() -> None:
    # Quiet breath noise and one loud click (a heart sound, a crackle): a notch a hertz wide
    # measured with a plain mean answers the click with a tone a second long at the line.
    rng = np.random.default_rng(4)
    n = 10 * int(FS_HZ)
    x = 0.001 * rng.standard_normal(n)
    click = slice(5 * int(FS_HZ), 5 * int(FS_HZ) + 120)
    x[click] += 0.5 * rng.standard_normal(120) * np.exp(-np.arange(120) / 30.0)
    removed = x - without_hum(x, FS_HZ, (550.0,))
    around = np.r_[int(4.5 * FS_HZ) : int(4.9 * FS_HZ), int(5.2 * FS_HZ) : int(5.5 * FS_HZ)]
    # What is taken there is the breath noise's own share of a 1 Hz band (about 2 % of its
    # RMS), not the click's: a plain mean left a tone 1.4 times the noise's RMS.
    assert float(np.std(removed[around])) < 0.05 * 0.001
    # And the click keeps what lies at the line.
    assert float(np.std(removed[click])) < 0.01 * float(np.std(x[click]))


@pytest.mark.parametrize("seed", [4, 5])
def test_hum_under_loud_heart_sounds_in_a_lung_recording_raises_no_wheeze(seed: int) -> None:
    """A breath with heart sounds ten times as loud (a Littmann 3200 chest, ICBHI 104) and
    hum 10 dB under both: taken out at every harmonic to 1 kHz with a plain mean, the heart
    sounds rang at the harmonics and were read as wheezes (these two seeds)."""
    breath = breathing(16.0, seed=seed)
    heart = pcg(75.0 + 5 * seed, 20.0, jitter=0.03, noise=0.0, seed=seed)[0][: breath.size]
    x = breath + heart * 10.0 * float(np.std(breath) / np.std(heart))
    assert not _wheeze(x)
    assert not _wheeze(_under(x, 50.0, 10.0))


def test_no_hum_no_change() -> None:
    x = _heart()
    assert without_hum(x, FS_HZ, ()) is x


@pytest.mark.parametrize("fundamental", [50.0, 60.0])
def test_hum_does_not_move_the_rate_or_the_triage(fundamental: float) -> None:
    heart = _heart(rate=88.0)
    clean = analyze(heart, FS_HZ, "heart")
    humming = analyze(_under(heart, fundamental, 3.0), FS_HZ, "heart")
    assert clean.heart is not None and humming.heart is not None
    assert humming.heart.rate_bpm == pytest.approx(clean.heart.rate_bpm, abs=1.0)
    assert humming.triage.level == clean.triage.level


def _wheeze(x: NDArray[np.float64]) -> bool:
    return "lung_wheeze" in {f.code for f in analyze(x, FS_HZ, "lung").triage.flags}


def test_hum_in_a_lung_recording_is_no_wheeze_and_hides_none() -> None:
    breath = breathing(16.0)
    assert not _wheeze(_under(breath, 50.0, -10.0))  # hum 10 dB over the breath
    wheezy = breath.copy()
    add_wheeze(wheezy, 4.0, 5.5, 400.0)
    add_wheeze(wheezy, 8.0, 9.5, 400.0)
    assert _wheeze(wheezy)
    assert _wheeze(_under(wheezy, 50.0, -10.0))


def test_the_analysis_cleans_only_a_recording_with_hum(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[float, ...]] = []
    real = _mains.without_hum

    def spy(x: NDArray[np.float64], fs_hz: float, fundamentals: tuple[float, ...]) -> NDArray:
        calls.append(fundamentals)
        return real(x, fs_hz, fundamentals)

    monkeypatch.setattr("stetho_signal.analysis.without_hum", spy)
    analyze(_heart(), FS_HZ, "heart")
    assert calls == []
    analyze(_under(_heart(), 50.0, 10.0), FS_HZ, "heart")
    assert len(calls) == 1 and calls[0] == pytest.approx((50.0, 150.0, 250.0), abs=0.1)


def test_slow_drift_and_offset_stay_and_only_the_harmonics_go() -> None:
    t = np.arange(20 * int(FS_HZ)) / FS_HZ
    slow = 0.5 + 0.2 * np.sin(2 * np.pi * 0.3 * t)  # an offset and a 0.3 Hz sway
    cleaned = without_hum(slow + np.sin(2 * np.pi * 50.0 * t), FS_HZ, (50.0,))
    assert float(np.max(np.abs(cleaned - slow))) < 0.05  # 0.03 at the ends, from the offset


def test_hum_is_looked_for_only_where_every_harmonic_is_below_nyquist() -> None:
    x = _heart()
    with pytest.raises(ValueError, match=r"2002 Hz or more, not 2000\.0 Hz"):
        without_hum(x, 2000.0, (50.0,))
    with pytest.raises(ValueError, match="2002 Hz or more"):
        find_mains(np.fft.rfft(x), 2000.0, x.size)
    with pytest.raises(ValueError, match="2002 Hz or more"):
        hum_lines(np.fft.rfft(x), 2000.0, x.size, (50.0,))
    assert without_hum(x, 2002.0, ()) is x


@pytest.mark.parametrize(
    ("fundamental", "kind"), [(50.0, "heart"), (59.9, "heart"), (50.0, "lung")]
)
def test_the_result_reports_the_hum_it_took_out(
    fundamental: float, kind: Literal["heart", "lung"]
) -> None:
    x = _heart() if kind == "heart" else breathing(16.0)
    clean = analyze(x, FS_HZ, kind)
    humming = analyze(_under(x, fundamental, 10.0), FS_HZ, kind)
    assert humming.quality.measures.mains_hum_hz == pytest.approx((fundamental,), abs=0.02)
    reported = humming.to_dict()["quality"]
    assert reported["mains_hum_hz"] == [pytest.approx(fundamental, abs=0.02)]
    assert reported["mains_hum_hz"][0] == round(reported["mains_hum_hz"][0], 2)  # 0.01 Hz
    # Hum taken out is no problem: the verdict is the clean recording's.
    assert reported["acceptable"] is clean.quality.acceptable is True
    assert reported["problems"] == [] and reported["score"] == pytest.approx(clean.quality.score)
    # Without hum the key is left out, as version-1 readers of the wire know the object.
    assert clean.quality.measures.mains_hum_hz == ()
    assert set(clean.to_dict()["quality"]) == {"score", "acceptable", "problems"}


def test_hum_changes_no_sub_score() -> None:
    band = _heart()
    plain = assess_quality(band, 0.0, (0.05, 1.2), None, 0.1)
    humming = assess_quality(band, 0.0, (0.05, 1.2), None, 0.1, (50.0, 60.0))
    assert humming.subscores == plain.subscores and humming.score == plain.score
    assert humming.measures.mains_hum_hz == (50.0, 60.0)
    # A poor recording with hum stays poor, for its own problem and nothing else.
    graded = grade_quality(humming, 0.5)
    assert not graded.acceptable and graded.problem_codes == ("no_heartbeat",)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -50.0])
def test_a_hum_frequency_of_no_meaning_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="mains hum frequencies must be finite and above 0 Hz"):
        QualityMeasures(0.0, -20.0, None, 0.9, 3.0, None, (50.0, bad))
