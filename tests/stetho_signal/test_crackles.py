"""Coarse crackles through the whole lung analysis, and sounds that must not pass for crackles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from stetho_signal import analyze
from stetho_signal._heart_gate import (
    CLEAR_HEARTBEAT,
    HEART_SOUND_REACH_S,
    LABELLED_SOUND_REACH_S,
    REGULAR_NRMSSD,
    away_from_heartbeat,
    heartbeat_reach_s,
)
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import crackle_band, crackles_in
from stetho_signal.heart import HeartResult, analyze_heart
from stetho_signal.lung import _away_from_heartbeat, find_crackles, lung_band
from stetho_sim.sounds import FS_HZ, breathing, pcg, voice

_TIMES_S = [2.1, 2.4, 6.3, 10.2, 14.8]


def _crackle(initial_ms: float, two_cycle_ms: float) -> NDArray[np.float64]:
    """A crackle: a first half-cycle ``initial_ms`` wide, then slower cycles, two of them
    lasting ``two_cycle_ms`` (the initial deflection width and two-cycle duration of CORSA,
    Sovijärvi et al. 2000: coarse about 1.5 and 10+ ms, fine about 0.7 and 5 ms)."""
    t = np.arange(int(0.03 * FS_HZ)) / FS_HZ
    two_cycle_s = two_cycle_ms / 1000.0
    start_hz = 1.0 / (2.0 * initial_ms / 1000.0)
    # Frequency falls as exp(-k t); k chosen so that the phase reaches two cycles at 2CD.
    ks = np.linspace(1e-3, 2000.0, 20001)
    k = ks[np.argmin(np.abs(start_hz * (1.0 - np.exp(-ks * two_cycle_s)) / ks - 2.0))]
    phase = 2.0 * np.pi * start_hz * (1.0 - np.exp(-k * t)) / k
    return np.sin(phase) * np.exp(-t / (two_cycle_s / 2.5))


def _damped_wave(two_cycle_ms: float) -> NDArray[np.float64]:
    """Two cycles in ``two_cycle_ms``, the amplitude falling to 0.15 each cycle."""
    freq_hz = 2.0 / (two_cycle_ms / 1000.0)
    t = np.arange(int(4.0 / freq_hz * FS_HZ)) / FS_HZ
    return np.sin(2 * np.pi * freq_hz * t) * 0.15 ** (t * freq_hz)


def _place(x: NDArray[np.float64], wave: NDArray[np.float64], times_s: list[float]) -> None:
    for time in times_s:
        i = int(time * FS_HZ)
        x[i : i + wave.size] += 0.3 * wave[: x.size - i]


def _hits(found: tuple[float, ...], times_s: list[float]) -> int:
    return sum(min((abs(f - t) for f in found), default=1.0) < 0.01 for t in times_s)


@pytest.mark.parametrize(
    "wave",
    [_crackle(1.5, 10.0), _crackle(1.5, 15.0), _damped_wave(8.0), _damped_wave(11.0)],
    ids=["coarse-10ms", "coarse-15ms", "damped-8ms", "damped-11ms"],
)
def test_coarse_crackles_survive_the_heart_sound_gate(wave: NDArray[np.float64]) -> None:
    # A loud crackle ringing at 100-250 Hz makes a peak in the heart-sound band of its own;
    # it lasts ~10 ms there, a heart sound 30 ms or more, so it no longer gates itself out.
    x = breathing(15.0, 20.0)
    _place(x, wave, _TIMES_S)
    result = analyze(x, FS_HZ, "lung")
    lung = result.lung
    assert lung is not None and result.findings.crackles
    assert _hits(lung.crackle_times_s, _TIMES_S) == len(_TIMES_S)
    assert len(lung.crackle_times_s) == len(_TIMES_S)


def test_coarse_crackles_between_heart_sounds_are_kept() -> None:
    # Diastole, 200 ms after S2: what the detector finds there is not gated. Two of the
    # eight fall in loud inspiration and stand under 6x the breath sound: not found.
    heart, _, s2 = pcg(75.0, 20.0, noise=0.0)
    times = [t + 0.2 for t in s2][:8]
    x = breathing(15.0, 20.0) + 0.3 * heart
    _place(x, _damped_wave(11.0), times)
    result = analyze(x, FS_HZ, "lung")
    lung = result.lung
    assert lung is not None and result.findings.crackles
    assert lung.crackle_times_s == find_crackles(lung_band(Spectrum(x, FS_HZ)), FS_HZ)
    assert _hits(lung.crackle_times_s, times) >= 6
    assert len(lung.crackle_times_s) == _hits(lung.crackle_times_s, times)


@pytest.mark.parametrize("seed", range(3))
def test_heart_sounds_alone_are_not_crackles(seed: int) -> None:
    heart, _, _ = pcg(72.0, 20.0, seed=seed)
    lung = analyze(heart, FS_HZ, "lung").lung
    assert lung is not None and lung.crackle_times_s == ()
    x = breathing(15.0, 20.0, seed=seed) + 0.3 * pcg(75.0, 20.0, noise=0.0, seed=seed)[0]
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.crackle_times_s == ()


@pytest.mark.parametrize("seed", range(3))
def test_breath_noise_and_voice_are_not_crackles(seed: int) -> None:
    lung = analyze(breathing(16.0, 60.0, seed=seed), FS_HZ, "lung").lung
    assert lung is not None and lung.crackle_times_s == ()
    for level in (0.1, 0.03):
        x = breathing(15.0, 20.0, seed=seed) + voice(20.0, level, seed)
        lung = analyze(x, FS_HZ, "lung").lung
        assert lung is not None and lung.crackle_times_s == ()


@pytest.mark.parametrize("freq_hz", [160.0, 540.0, 1000.0])
def test_the_quiet_after_a_loud_tone_is_cut_off_holds_no_crackle(freq_hz: float) -> None:
    # Twenty-seventh round: the detector's background (0.1 s, centred) still holds the tone
    # for 50 ms after it stops, and the band filter's response dies within 12 ms (-60 dB),
    # so a tone 30 dB over the breath cut at its crest (a step) leaves no transient 6x over
    # the quiet that follows; a click there is found.
    x = breathing(15.0, 20.0)
    rms = float(np.sqrt(np.mean(np.square(x))))
    t = np.arange(int(0.4 * FS_HZ)) / FS_HZ
    tone = 10 ** (30.0 / 20.0) * rms * np.cos(2 * np.pi * freq_hz * (t - t[-1]))  # crest last
    starts = [1.3, 4.7, 8.2, 11.6, 15.1]
    _place(x, tone / 0.3, starts)  # _place adds 0.3 of the wave
    assert find_crackles(lung_band(Spectrum(x, FS_HZ)), FS_HZ) == ()
    clicks = [start + 0.4 + 0.08 for start in starts]
    for time in clicks:
        x[int(time * FS_HZ)] += 20.0 * rms
    assert _hits(find_crackles(lung_band(Spectrum(x, FS_HZ)), FS_HZ), clicks) == len(clicks)


@pytest.mark.parametrize("freq_hz", [150.0, 250.0, 560.0])
def test_knocks_on_the_chest_piece_are_not_crackles(freq_hz: float) -> None:
    # A knock rings at the chest piece's resonance, its amplitude halving every 12 ms: it
    # keeps ringing where a crackle has died away.
    x = breathing(15.0, 20.0)
    t = np.arange(int(0.15 * FS_HZ)) / FS_HZ
    knock = 0.27 * np.exp(-t * np.log(2.0) / 0.012) * np.sin(2 * np.pi * freq_hz * t)
    _place(x, knock, [1.3, 4.7, 8.2, 11.6, 15.1, 18.4])
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.crackle_times_s == ()


def test_handling_thumps_are_not_crackles() -> None:
    # Lifting or sliding the chest piece: a low rumble (5-60 Hz) over 0.3 s.
    x = breathing(15.0, 20.0)
    sos = signal.butter(2, (5.0, 60.0), "bandpass", fs=FS_HZ, output="sos")
    n = round(0.3 * FS_HZ)
    for k, start_s in enumerate([3.0, 8.0, 12.0]):
        rumble = signal.sosfilt(sos, np.random.default_rng(k).standard_normal(n))
        i = round(start_s * FS_HZ)
        x[i : i + n] += 0.5 * np.max(np.abs(x)) * rumble / np.max(np.abs(rumble)) * np.hanning(n)
    lung = analyze(x, FS_HZ, "lung").lung
    assert lung is not None and lung.crackle_times_s == ()


def test_transients_at_a_clear_regular_heartbeat_are_heart_sounds_not_crackles() -> None:
    # Healthy children's chests: sharp S1/S2 onsets passed the waveform tests as 10-43
    # "crackles" a recording, within 30 ms of a heart sound; a clear, regular heartbeat's
    # sounds are known, and transients within 0.1 s of them belong to them.
    heart, s1, s2 = pcg(70.0, 20.0, noise=0.0)
    x = breathing(30.0, 20.0) + 0.5 * heart
    at_sounds = tuple(round(t + 0.02, 4) for t in (s1 + s2)[:20])
    between = tuple(round(t + 0.25, 4) for t in s2[:5])  # mid-diastole
    kept = _away_from_heartbeat(at_sounds + between, Spectrum(x, FS_HZ))
    assert kept == between


def test_an_irregular_heartbeat_does_not_gate_crackles() -> None:
    # Atrial fibrillation: no regular cycle to tie transients to; the crackles stay.
    heart, s1, _ = pcg(100.0, 20.0, jitter=0.3, noise=0.0, seed=4)
    x = breathing(15.0, 20.0) + 0.5 * heart
    times = tuple(round(t + 0.02, 4) for t in s1[:10])
    assert _away_from_heartbeat(times, Spectrum(x, FS_HZ)) == times


def _between_samples_burst(times_s: list[float], size: int) -> NDArray[np.float64]:
    """Fine crackle-like bursts (1 kHz under a 0.7 ms Gaussian: one half-cycle over half height
    after the peak) centred half-way between 4 kHz samples, so that every lobe is too."""
    t = np.arange(size) / FS_HZ
    x = np.zeros(size)
    for time in times_s:
        u = t - (round(time * FS_HZ) + 0.5) / FS_HZ
        x += np.exp(-0.5 * (u / 0.0007) ** 2) * np.cos(2.0 * np.pi * 1000.0 * u)
    return x


def test_a_peak_between_samples_is_read_at_its_height() -> None:
    # Sampled half-way off its lobes, a 1 kHz burst reads cos(pi 1 / 4) = 0.71 of its height
    # at 4 kHz: bursts 8x the noise were missed (0 or 1 of 3 over five noise seeds). The
    # detector interpolates the band to 8 kHz first, where they read 0.92 of it.
    size = int(12.0 * FS_HZ)
    noise = np.random.default_rng(0).standard_normal(size)
    band = noise + 8.0 * _between_samples_burst(_TIMES_S[:3], size)
    assert _hits(find_crackles(band, FS_HZ), _TIMES_S[:3]) == 3


def test_the_detector_reads_the_band_it_shares_with_the_ringing_rule() -> None:
    # The analysis makes the 8 kHz band once (crackle_band) and hands it to the detector
    # (crackles_in) and to the ringing rule: the same times as find_crackles on the lung band.
    x = breathing(15.0, 20.0)
    _place(x, _damped_wave(11.0), _TIMES_S)
    band = lung_band(Spectrum(x, FS_HZ))
    fine, rate = crackle_band(band, FS_HZ)
    assert rate == 2.0 * FS_HZ and fine.dtype == np.float32 and fine.size == 2 * band.size
    found = crackles_in(fine, rate)
    assert _hits(found, _TIMES_S) == len(_TIMES_S)
    assert found == find_crackles(band, FS_HZ)
    later = crackles_in(fine, rate, (3.0, 20.0))  # where the signal is, passed through
    assert later == find_crackles(band, FS_HZ, (3.0, 20.0)) == found[2:]


def test_a_clear_irregular_heartbeat_gates_only_its_sounds() -> None:
    # Atrial fibrillation, ectopic beats, or (on the lung bench) a second heart under a chest
    # that has its own: the rhythm is irregular, yet the sounds are labelled where they are.
    # A transient 20 ms into a labelled sound belongs to it; one 80 ms from it, which a regular
    # heartbeat's 0.1 s would claim, and one in mid-diastole stay.
    heart, s1, s2 = pcg(100.0, 20.0, jitter=0.2, noise=0.0, seed=1)
    x = breathing(15.0, 20.0) + 0.5 * heart
    spectrum = Spectrum(x, FS_HZ)
    found = analyze_heart(spectrum)
    assert found.periodicity >= CLEAR_HEARTBEAT
    assert found.rr_nrmssd is not None and found.rr_nrmssd >= REGULAR_NRMSSD
    in_sounds = tuple(round(t + 0.02, 4) for t in s1[:10])
    beside = tuple(round(t + 0.08, 4) for t in s2[:5])
    after = [min(t for t in s1 if t > end) for end in s2[5:10]]
    between = tuple(round((end + t) / 2, 4) for end, t in zip(s2[5:10], after, strict=True))
    assert _away_from_heartbeat(in_sounds + beside + between, spectrum) == beside + between


def test_a_clear_regular_heartbeat_claims_0_1_s_around_its_sounds() -> None:
    heart, _, s2 = pcg(70.0, 20.0, noise=0.0)
    x = breathing(30.0, 20.0) + 0.5 * heart
    beside = tuple(round(t + 0.08, 4) for t in s2[:5])
    assert _away_from_heartbeat(beside, Spectrum(x, FS_HZ)) == ()


def _heart(periodicity: float, rr_nrmssd: float | None, found: bool = True) -> HeartResult:
    return HeartResult(
        rate_bpm=75.0, s1_s=(1.0, 2.0), s2_s=(1.3, 2.3), rr_nrmssd=rr_nrmssd,
        murmur_contrast=None, murmur_phase=None, periodicity=periodicity,
        sound_prominence=3.0, notes=(), heartbeat_found=found,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("periodicity", "rr_nrmssd", "found", "reach"),
    [
        (0.3, 0.099, True, HEART_SOUND_REACH_S),
        (0.3, 0.1, True, LABELLED_SOUND_REACH_S),
        (0.3, None, True, LABELLED_SOUND_REACH_S),  # too few intervals to call it regular
        (0.299, 0.05, True, None),
        (0.9, 0.05, False, None),
    ],
)
def test_the_reach_follows_how_clear_and_regular_the_heartbeat_is(
    periodicity: float, rr_nrmssd: float | None, found: bool, reach: float | None
) -> None:
    heart = _heart(periodicity, rr_nrmssd, found)
    assert heartbeat_reach_s(heart) == reach
    times = (0.5, 1.059, 1.239, 1.7, 2.399, 1.899)
    if reach is None:
        assert away_from_heartbeat(times, heart) == times
    elif reach == HEART_SOUND_REACH_S:
        assert away_from_heartbeat(times, heart) == (0.5, 1.7, 1.899)
    else:
        assert away_from_heartbeat(times, heart) == (0.5, 1.239, 1.7, 2.399, 1.899)


@pytest.mark.parametrize(("rr_nrmssd", "reach"), [(0.05, 0.1), (0.2, 0.06)])
def test_a_transient_just_at_the_reach_belongs_to_the_sound(rr_nrmssd: float, reach: float) -> None:
    heart = dataclasses.replace(_heart(0.8, rr_nrmssd), s1_s=(0.0,), s2_s=(3.0,))
    assert away_from_heartbeat((reach, 1.5), heart) == (1.5,)  # |reach - 0.0| is reach exactly


def test_a_single_labelled_sound_gates_too() -> None:
    heart = dataclasses.replace(_heart(0.8, None), s1_s=(1.0,), s2_s=())
    assert away_from_heartbeat((1.02, 1.5), heart) == (1.5,)


def test_the_gate_keeps_transients_when_no_sound_is_labelled() -> None:
    heart = dataclasses.replace(_heart(0.8, 0.02), s1_s=(), s2_s=())
    assert away_from_heartbeat((1.0, 1.3), heart) == (1.0, 1.3)
    assert away_from_heartbeat((), _heart(0.8, 0.02)) == ()


def test_the_reaches_are_those_of_the_physiology() -> None:
    # A sound lasts 80-140 ms, S2 splits by up to 60 ms: 0.1 s when the rhythm bears the labels
    # out; half a sound (S1 122 ms, S2 94 ms, Springer) when it does not.
    assert (HEART_SOUND_REACH_S, LABELLED_SOUND_REACH_S) == (0.1, 0.06)
    assert (CLEAR_HEARTBEAT, REGULAR_NRMSSD) == (0.3, 0.1)
