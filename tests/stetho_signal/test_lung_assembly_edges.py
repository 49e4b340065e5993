"""The lung analysis put together, rule by rule, on spectrograms and envelopes made by hand.

``analyze_lung`` joins the breathing rate, the wheeze search and the crackle detector with its
filters (heart sounds, the heartbeat, slow waves, ringing, too fine a wave) into the
``LungResult`` the triage reads. The parts have their own tests; here each joint is pinned:
which crackles each filter receives and in what order, when the heart sounds are looked for,
and the helpers (the breath octaves' energy, the swell and floor spreads, the rate search's
bounds, the frames left out for digital silence, the band's flatness, the heart sounds'
gates) on inputs whose answers can be worked out by hand. Where a bound cannot be reached
exactly through a real recording, the part feeding it is replaced by one returning values
written here (``monkeypatch``); the rest runs for real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import lung
from stetho_signal._notes import Note
from stetho_signal._slow_wave import SLOW_WAVE_BAND_HZ
from stetho_signal.bands import Spectrum
from stetho_signal.crackles import crackle_band
from stetho_signal.envelope import ANALYTIC_RATE_HZ, SOUND_BAND_HZ
from stetho_signal.lung import (
    LUNG_ANALYSIS_BAND_HZ,
    LungResult,
    _away_from,
    _frame_rate,
    _highest_peak,
    _longer_than_a_crackle,
    _octave_energy,
    _smoothed_db,
    _sounding_frames,
    analyze_lung,
    band_flatness,
    band_over_floor_db,
    breath_envelopes,
    breath_swell_db,
    heart_sound_times,
    lung_band,
    respiratory_rate,
    shortest_breath_s,
)
from stetho_signal.wheezes import WHEEZE_NPERSEG
from stetho_sim.sounds import FS_HZ, breathing

TOO_SHORT = "respiratory rate needs at least two breaths; the clip is too short"
NO_BREATHING = "no breathing pattern in the recording"
NO_REPEAT = "no repeating breathing pattern found"


class _Spy:
    """Wraps a name ``lung`` calls: the real function runs, each call's arguments are kept."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls: list[tuple[Any, ...]] = []
        real: Callable[..., Any] = getattr(lung, name)

        def wrapper(*args: Any) -> Any:
            self.calls.append(args)
            return real(*args)

        monkeypatch.setattr(lung, name, wrapper)

    @property
    def args(self) -> tuple[Any, ...]:
        assert len(self.calls) == 1
        return self.calls[0]


def _code(note: str) -> tuple[str, float | None]:
    """A note's code and the number it states."""
    assert isinstance(note, Note)
    return note.code, note.value


def _spectrogram(
    power: NDArray[np.floating], hop_s: float = 0.125, freqs_hz: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float32]]:
    freqs = (np.arange(power.shape[0]) * 50.0).astype(np.float64) if freqs_hz is None else freqs_hz
    return freqs, _centres(power.shape[1], hop_s), power.astype(np.float32)


def _centres(frames: int, hop_s: float = 0.125) -> NDArray[np.float64]:
    return (np.arange(frames) * hop_s).astype(np.float64)


# ---- the breath octaves' energy and its smoothing


def test_octave_energy_sums_each_octave_s_bins_per_frame() -> None:
    power = np.ones((40, 3))  # bins every 50 Hz up to 1950 Hz
    power[2, 1] = 100.0  # 100 Hz: under the first octave
    power[36, 1] = 100.0  # 1800 Hz: the lung band's edge, left out
    energy, size = _octave_energy(_spectrogram(power))
    # 150-300: 150, 200, 250; 300-600: six bins; 600-1200: twelve; 1200-1800: twelve.
    assert energy.tolist() == [[3.0] * 3, [6.0] * 3, [12.0] * 3, [12.0] * 3]
    assert energy.dtype == np.float64
    assert size == 3  # 0.4 s at 8 frames/s, rounded


@pytest.mark.parametrize(("hop_s", "size"), [(0.05, 8), (0.25, 2), (0.5, 1), (2.0, 1)])
def test_the_smoothing_spans_0_4_s_and_at_least_one_frame(hop_s: float, size: int) -> None:
    assert _octave_energy(_spectrogram(np.ones((40, 3)), hop_s))[1] == size


def test_frame_rate_is_one_over_the_hop_and_1_for_a_single_frame() -> None:
    assert _frame_rate(np.array([0.5, 0.75, 1.0])) == 4.0
    assert _frame_rate(np.array([0.5, 0.75])) == 4.0
    assert _frame_rate(np.array([0.5])) == 1.0
    assert _frame_rate(np.zeros(0)) == 1.0


def test_smoothed_db_floors_each_row_90_db_under_its_peak() -> None:
    energy = np.array([[100.0, 0.0, 100.0], [0.0, 0.0, 0.0]])
    db = _smoothed_db(energy, 1)
    # 10 log10(100 + 1e-7) and 10 log10(1e-7) = -70; a silent row at 1e-20: -200 dB.
    assert db[0].tolist() == pytest.approx([20.0, -70.0, 20.0], abs=1e-8)
    assert db[0, 0] > 20.0
    assert db[1].tolist() == pytest.approx([-200.0] * 3, abs=1e-9)
    assert _smoothed_db(np.zeros((4, 0)), 3).shape == (4, 0)


def test_smoothed_db_averages_over_size_frames_holding_the_ends() -> None:
    energy = np.array([[1.0, 10.0, 100.0, 10.0]]) * 1e3
    db = _smoothed_db(energy, 3)
    # 30, 40, 50, 40 dB averaged over three frames, the ends repeated.
    assert db[0].tolist() == pytest.approx([100 / 3, 40.0, 130 / 3, 130 / 3], abs=1e-6)


def test_breath_envelopes_are_the_octaves_smoothed() -> None:
    power = np.arange(120.0).reshape(40, 3) + 1.0
    spectrogram = _spectrogram(power)
    energy, size = _octave_energy(spectrogram)
    assert np.array_equal(breath_envelopes(spectrogram), _smoothed_db(energy, size))


def test_swell_is_the_largest_octave_s_10_to_90_percentile_spread() -> None:
    rows = np.array([np.linspace(0.0, 100.0, 101), np.linspace(0.0, 50.0, 101)])
    assert breath_swell_db(rows) == pytest.approx(80.0, abs=1e-9)
    assert breath_swell_db(rows[::-1]) == pytest.approx(80.0, abs=1e-9)
    assert breath_swell_db(np.zeros((4, 0))) == 0.0
    assert type(breath_swell_db(rows)) is float


def test_floor_spread_is_the_10th_to_75th_percentile() -> None:
    assert band_over_floor_db(np.linspace(0.0, 100.0, 101)[None, :]) == pytest.approx(65.0)
    assert band_over_floor_db(np.zeros((1, 0))) == 0.0
    assert type(band_over_floor_db(np.ones((1, 3)))) is float


# ---- the rate search, on autocorrelations written by hand


def _rate_with(
    monkeypatch: pytest.MonkeyPatch,
    acs: NDArray[np.float64],
    frames: int = 200,
    shortest: float = 1.0,
) -> tuple[float | None, list[str]]:
    """The rate read at 8 frames/s from ``frames`` frames whose octaves' autocorrelations are
    the rows of ``acs`` (one row per octave)."""
    monkeypatch.setattr(lung, "autocorrelation", lambda envelopes: acs)
    spectrogram = _spectrogram(np.ones((40, frames)))
    notes: list[str] = []
    envelopes = np.zeros((acs.shape[0], frames))
    return respiratory_rate(spectrogram, notes, envelopes, None, shortest), notes


def _ac(values: dict[int, float], n: int = 200) -> NDArray[np.float64]:
    ac = np.zeros(n)
    ac[0] = 1.0
    for lag, value in values.items():
        ac[lag] = value
    return ac


def test_rate_from_one_octave_s_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, notes = _rate_with(monkeypatch, _ac({32: 0.5})[None, :])
    assert rate == 15.0 and notes == []  # 32 frames at 8/s: 4 s a breath
    rate, _ = _rate_with(monkeypatch, _ac({30: 0.5})[None, :])
    assert rate == 16.0
    rate, _ = _rate_with(monkeypatch, _ac({28: 0.5})[None, :])
    assert rate == 17.1  # 17.142...: one decimal


def test_the_highest_peak_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, _ = _rate_with(monkeypatch, _ac({16: 0.4, 32: 0.5, 64: 0.45})[None, :])
    assert rate == 15.0
    rate, _ = _rate_with(monkeypatch, _ac({16: 0.6, 32: 0.5})[None, :])
    assert rate == 30.0


def test_a_peak_counts_from_the_shortest_breath_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1 s at 8 frames/s: lag 8 counts, lag 7 does not.
    assert _rate_with(monkeypatch, _ac({8: 0.9, 32: 0.5})[None, :])[0] == 60.0
    assert _rate_with(monkeypatch, _ac({7: 0.9, 32: 0.5})[None, :])[0] == 15.0
    # Half a second: lag 4 counts.
    assert _rate_with(monkeypatch, _ac({4: 0.9, 32: 0.5})[None, :], shortest=0.5)[0] == 120.0
    assert _rate_with(monkeypatch, _ac({3: 0.9, 32: 0.5})[None, :], shortest=0.5)[0] == 15.0


def test_a_pooled_peak_under_0_1_is_no_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _rate_with(monkeypatch, _ac({32: 0.1})[None, :]) == (15.0, [])
    rate, notes = _rate_with(monkeypatch, _ac({32: 0.0999})[None, :])
    assert rate is None and notes == [NO_REPEAT]
    assert _code(notes[0]) == ("no_repeating_breathing", None)
    rate, notes = _rate_with(monkeypatch, _ac({5: 0.9})[None, :])  # a peak too short only
    assert rate is None and notes == [NO_REPEAT]


def test_octaves_are_weighted_by_their_highest_peak_squared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Octave A peaks at 0.6 at lag 32, B at 0.3 at lag 24 (and -0.1 at 32). Squared weights
    # 0.36 and 0.09: the pool at 32 is (0.216 - 0.009) / 0.45 = 0.46, at 24 0.06; unsquared
    # it would be 0.33 and 0.1, and with equal weights 0.25 and 0.15.
    a = _ac({32: 0.6})
    b = _ac({24: 0.3, 32: -0.1})
    assert _rate_with(monkeypatch, np.array([a, b]))[0] == 15.0
    # B at 0.58 at lag 24, A at 0.6 with 0.55 at 24 too: A's weight lifts lag 24 over 32.
    a = _ac({24: 0.55, 32: 0.6})
    b = _ac({24: 0.58, 32: -0.5})
    pooled_24 = (0.36 * 0.55 + 0.58**2 * 0.58) / (0.36 + 0.58**2)
    pooled_32 = (0.36 * 0.6 - 0.58**2 * 0.5) / (0.36 + 0.58**2)
    assert pooled_24 > 0.1 > pooled_32
    assert _rate_with(monkeypatch, np.array([a, b]))[0] == 20.0


def test_squared_not_cubed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A: 0.6 at 32, 0.5 at 24; B: 0.5 at 24, 0.34 at 32. The pool at 32 less that at 24 is
    # w_A * 0.1 - w_B * 0.16: with squares 0.036 - 0.04 (24 wins), with cubes 0.0216 - 0.02.
    a = _ac({24: 0.5, 32: 0.6})
    b = _ac({24: 0.5, 32: 0.34})
    assert _rate_with(monkeypatch, np.array([a, b]))[0] == 20.0


def test_an_octave_that_does_not_repeat_counts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    flat = _ac({})
    negative = _ac({32: -0.3})
    negative[31] = negative[33] = -0.5  # a peak, under 0
    assert _rate_with(monkeypatch, np.array([flat, _ac({32: 0.5})]))[0] == 15.0
    assert _rate_with(monkeypatch, np.array([negative, _ac({24: 0.2})]))[0] == 20.0
    # Nothing repeats anywhere: the pool is all zeros, not a division by zero.
    rate, notes = _rate_with(monkeypatch, np.array([flat, flat]))
    assert rate is None and notes == [NO_REPEAT]


def test_highest_peak_is_from_the_shortest_breath_on_and_never_under_0() -> None:
    ac = _ac({3: 0.9, 10: 0.5})
    assert _highest_peak(ac, 3) == 0.9
    assert _highest_peak(ac, 4) == 0.5
    assert _highest_peak(ac, 10) == 0.5
    assert _highest_peak(ac, 11) == 0.0
    assert _highest_peak(_ac({10: -0.2}) - 0.5, 1) == 0.0


def test_an_envelope_that_never_varies_is_no_breathing() -> None:
    spectrogram = _spectrogram(np.ones((40, 200)))
    notes: list[str] = []
    assert respiratory_rate(spectrogram, notes, np.full((4, 200), 3.0)) is None
    assert notes == [NO_BREATHING] and _code(notes[0]) == ("no_breathing", None)


def test_one_varying_octave_is_enough() -> None:
    spectrogram = _spectrogram(np.ones((40, 200)))
    envelopes = np.zeros((4, 200))
    envelopes[2] = np.cos(2 * np.pi * np.arange(200) / 32)
    notes: list[str] = []
    assert respiratory_rate(spectrogram, notes, envelopes) == 15.0
    assert notes == []


def test_the_envelopes_are_made_when_not_given() -> None:
    x = breathing(15.0, 20.0)
    from stetho_signal._spectra import frame_power

    spectrogram = frame_power(x, FS_HZ, WHEEZE_NPERSEG, WHEEZE_NPERSEG // 2)
    given = respiratory_rate(spectrogram, [], breath_envelopes(spectrogram))
    assert respiratory_rate(spectrogram, []) == given
    assert given is not None and abs(given - 15.0) < 1.5


@pytest.mark.parametrize(("frames", "measured"), [(17, False), (18, False), (19, True)])
def test_the_search_needs_lags_past_the_shortest_breath(
    monkeypatch: pytest.MonkeyPatch, frames: int, measured: bool
) -> None:
    # 8 frames/s, 1 s: the shortest lag is 8; the longest 60 % of the frames (10, 10, 11).
    rate, notes = _rate_with(monkeypatch, _ac({10: 0.5}, 30)[None, :], frames)
    if measured:
        assert rate == 48.0 and notes == []
    else:
        assert rate is None and notes == [TOO_SHORT]
        assert _code(notes[0]) == ("clip_too_short_for_breaths", None)


def test_the_search_stops_at_15_s(monkeypatch: pytest.MonkeyPatch) -> None:
    # 15 s at 8 frames/s is lag 120: a peak at 119 is read, one at 121 is past the search.
    assert _rate_with(monkeypatch, _ac({119: 0.5}, 400)[None, :], 400)[0] == 4.0
    # At 120 itself it is the search's last lag: no neighbour after it, no peak.
    assert _rate_with(monkeypatch, _ac({120: 0.5}, 400)[None, :], 400)[0] is None
    ac = _ac({121: 0.5}, 400)
    ac[120] = 0.4  # the search's last lag is no peak: it has no right neighbour
    rate, notes = _rate_with(monkeypatch, ac[None, :], 400)
    assert rate is None and notes == [NO_REPEAT]


def test_the_search_stops_at_60_percent_of_the_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _rate_with(monkeypatch, _ac({58: 0.5})[None, :], 100)[0] == 8.3
    rate, _ = _rate_with(monkeypatch, _ac({61: 0.5})[None, :], 100)
    assert rate is None


@pytest.mark.parametrize("shortest", [0.0, -1.0, np.nextafter(1.0, 2.0), float("nan")])
def test_the_shortest_breath_is_over_0_and_at_most_1_s(shortest: float) -> None:
    with pytest.raises(ValueError, match=r"^shortest breath must be in \(0, 1\] s, got ") as e:
        respiratory_rate(_spectrogram(np.ones((40, 200))), [], None, None, shortest)
    assert str(e.value).endswith(repr(shortest))


def test_one_second_is_the_longest_shortest_breath(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _rate_with(monkeypatch, _ac({32: 0.5})[None, :], shortest=1.0)[0] == 15.0


# ---- the shortest breath sought, by age band


@pytest.mark.parametrize(
    ("urgent", "shortest"), [(25.0, 1.0), (30.0, 1.0), (40.0, 0.75), (50.0, 0.6), (80.0, 0.6)]
)
def test_shortest_breath_is_half_an_urgent_breath_within_0_6_and_1_s(
    urgent: float, shortest: float
) -> None:
    assert shortest_breath_s(urgent) == shortest


@pytest.mark.parametrize("urgent", [0.0, -30.0, float("nan")])
def test_an_urgent_rate_must_be_over_0(urgent: float) -> None:
    with pytest.raises(ValueError, match=r"^urgent breathing rate must be over 0/min, got ") as e:
        shortest_breath_s(urgent)
    assert str(e.value).endswith(repr(urgent))


def test_a_tiny_urgent_rate_is_valid() -> None:
    assert shortest_breath_s(1e-9) == 1.0


# ---- frames left out for digital silence


def test_every_frame_without_a_signal_span_or_with_one_frame() -> None:
    centres = _centres(40)
    assert _sounding_frames(centres, None) == slice(None)
    assert _sounding_frames(np.array([1.0]), (2.0, 3.0)) == slice(None)
    assert _sounding_frames(np.array([0.0, 0.125]), (0.5, 1.0)) == slice(2, 2)  # two frames


def test_a_recording_sounding_throughout_keeps_every_frame() -> None:
    centres = _centres(40)  # 0 to 4.875 s; a frame reaches 0.125 s either side
    assert _sounding_frames(centres, (-0.125, 5.0)) == slice(0, 40)
    assert _sounding_frames(centres, (-1.0, 9.0)) == slice(0, 40)


def test_silence_at_the_start_drops_the_frames_it_reaches() -> None:
    centres = _centres(40)
    reach = 0.125 + 0.2  # a step and half the 0.4 s smoothing
    start = 1.0 - reach
    assert start + reach == 1.0
    assert _sounding_frames(centres, (start, 5.0)) == slice(8, 40)  # 1.0 s is kept
    assert _sounding_frames(centres, (np.nextafter(start, 2.0), 5.0)) == slice(9, 40)
    # Just after the first frame's reach: frames from the reach past it, 0.2 s: 0.25 s on.
    assert _sounding_frames(centres, (np.nextafter(-0.125, 0.0), 5.0)).start == 2


def test_silence_at_the_end_drops_the_frames_it_reaches() -> None:
    centres = _centres(40)
    reach = 0.125 + 0.2
    end = 4.0 + reach
    assert end - reach == 4.0
    assert _sounding_frames(centres, (-1.0, end)) == slice(0, 33)  # 4.0 s is kept
    assert _sounding_frames(centres, (-1.0, np.nextafter(end, 0.0))) == slice(0, 32)
    # Just before the last frame's reach: frames up to 4.675 s, the last at 4.625 s.
    assert _sounding_frames(centres, (-1.0, np.nextafter(5.0, 0.0))).stop == 38


def test_a_span_shorter_than_the_reach_keeps_no_frame() -> None:
    centres = _centres(40)
    kept = _sounding_frames(centres, (2.0, 2.25))
    assert kept.start == kept.stop == 19


def test_the_rate_search_reads_the_sounding_frames_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def acs(envelopes: NDArray[np.float64]) -> NDArray[np.float64]:
        seen.append(envelopes.shape[1])
        return _ac({32: 0.5})[None, :]

    monkeypatch.setattr(lung, "autocorrelation", acs)
    spectrogram = _spectrogram(np.ones((40, 200)))
    envelopes = np.zeros((1, 200))
    assert respiratory_rate(spectrogram, [], envelopes, (1.0 - 0.325, 30.0)) == 15.0
    assert seen == [192]
    # 60 % of the 40 frames left (24) is under 32: the peak is out of reach.
    notes: list[str] = []
    assert respiratory_rate(spectrogram, notes, envelopes, (20.0, 25.0)) is None
    assert notes == [NO_REPEAT]


# ---- the band's flatness


def test_flatness_is_geometric_over_arithmetic_mean_inside_the_band() -> None:
    freqs = np.array([100.0, 150.0, 200.0, 1800.0, 1850.0])
    power = np.array([[9.0], [1.0], [4.0], [16.0], [9.0]])
    # 1, 4, 16 (both edges in): geometric 4, arithmetic 7.
    flatness = band_flatness(_spectrogram(power, freqs_hz=freqs), (150.0, 1800.0))
    assert flatness == pytest.approx(4.0 / 7.0, rel=1e-9)
    power = np.array([[1.0, 3.0], [2.0, 2.0]])  # means over frames: 2 and 2
    flat = band_flatness(_spectrogram(power, freqs_hz=freqs[1:3]), (150.0, 200.0))
    assert flat == pytest.approx(1.0, rel=1e-11)


def test_flatness_is_1_under_two_bins_or_frames() -> None:
    freqs = np.array([100.0, 150.0, 200.0])
    power = np.array([[1.0], [4.0], [16.0]])
    assert band_flatness(_spectrogram(power, freqs_hz=freqs), (150.0, 150.0)) == 1.0
    assert band_flatness(_spectrogram(np.zeros((3, 0)), freqs_hz=freqs), (0.0, 300.0)) == 1.0


def test_flatness_floors_silent_bins_far_under_the_loudest() -> None:
    freqs = np.array([150.0, 200.0])
    power = np.array([[0.0], [1.0]])
    # Geometric mean sqrt(1e-12 * 1) over the mean 0.5: 2e-6.
    flatness = band_flatness(_spectrogram(power, freqs_hz=freqs), (150.0, 200.0))
    assert flatness == pytest.approx(2e-6, rel=1e-6)
    silent = band_flatness(_spectrogram(np.zeros((2, 1)), freqs_hz=freqs), (150.0, 200.0))
    assert silent == 1.0


def test_lung_band_is_150_to_1800_hz_at_the_recording_s_rate() -> None:
    x = breathing(15.0, 4.0)
    spectrum = Spectrum(x, FS_HZ)
    assert LUNG_ANALYSIS_BAND_HZ == (150.0, 1800.0)
    assert np.array_equal(lung_band(spectrum), spectrum.band((150.0, 1800.0), FS_HZ))


# ---- heart sounds: where, and which last longer than a crackle


def _env_sounds(monkeypatch: pytest.MonkeyPatch, env: NDArray[np.float64]) -> list[float]:
    monkeypatch.setattr(lung, "heart_envelope", lambda spectrum: env)
    found: list[float] = heart_sound_times(Spectrum(np.zeros(400), FS_HZ)).tolist()
    return found


def _bump(env: NDArray[np.float64], at: int, height: float, half: int = 2) -> None:
    env[at - half : at + half + 1] = np.maximum(env[at - half : at + half + 1], height)


def test_heart_sounds_stand_4_times_over_the_median(monkeypatch: pytest.MonkeyPatch) -> None:
    env = np.full(300, 2.0)  # the median is 2
    _bump(env, 100, 8.0)
    _bump(env, 200, np.nextafter(8.0, 0.0))
    assert _env_sounds(monkeypatch, env) == [1.0]


def test_a_sound_rising_enough_from_a_dip_is_still_under_4_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = np.full(300, 2.0)
    env[95:106], env[100] = 0.0, 7.0  # rises 7 (over 6), stands at 3.5 times the median
    env[195:206], env[200] = 0.0, 8.0
    assert _env_sounds(monkeypatch, env) == [2.0]


def test_heart_sounds_rise_3_times_the_median_over_their_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = np.full(300, 2.0)  # the median is 2
    env[50], env[51:150], env[150] = 40.0, 10.0, 40.0  # between two loud sounds...
    env[100] = 16.0  # ...a sound at 16 rises 6 over the valleys at 10: counted
    assert _env_sounds(monkeypatch, env) == [0.5, 1.0, 1.5]
    env[51:100] = env[101:150] = 10.0 + 2.0**-18  # a little under 6: not
    assert _env_sounds(monkeypatch, env) == [0.5, 1.5]


def test_heart_sounds_are_8_samples_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    env = np.ones(300)
    env[[100, 108]] = [6.0, 5.0]
    env[[200, 207]] = [6.0, 5.0]
    assert _env_sounds(monkeypatch, env) == [1.0, 1.08, 2.0]


def test_heart_sounds_are_at_most_200_ms_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    env = np.ones(400)
    env[90:110] = 6.0  # 20 samples at half height: 200 ms
    env[250:271] = 6.0  # 21
    assert _env_sounds(monkeypatch, env) == [0.99]


class _Envelope:
    """A recording whose 25-200 Hz analytic envelope is written by hand."""

    def __init__(self, env: NDArray[np.float64]) -> None:
        self.env = env
        self.asked: list[tuple[Any, ...]] = []

    def envelope(self, band_hz: tuple[float, float], rate_hz: float) -> NDArray[np.float64]:
        self.asked.append((band_hz, rate_hz))
        return self.env

    def unpad(self, padded: NDArray[np.float64], rate_hz: float) -> NDArray[np.float64]:
        assert padded is self.env and rate_hz == ANALYTIC_RATE_HZ
        return padded


def _longer(env: NDArray[np.float64], times: list[float]) -> list[bool]:
    spectrum = _Envelope(env)
    out: list[bool] = _longer_than_a_crackle(np.array(times), spectrum).tolist()  # type: ignore[arg-type]
    assert spectrum.asked == [(SOUND_BAND_HZ, ANALYTIC_RATE_HZ)]
    return out


def test_a_sound_over_half_height_for_over_20_ms_is_longer_than_a_crackle() -> None:
    # At 500 samples/s, a box of L samples smoothed over 2 (a sample and the one before)
    # stays at or over half for L + 1 samples: 10 samples are 22 ms, 9 are 20 ms.
    env = np.zeros(1000)
    env[100:110] = 1.0
    env[500:509] = 1.0
    assert _longer(env, [0.21, 1.01]) == [True, False]
    none = _longer_than_a_crackle(np.zeros(0), _Envelope(env))  # type: ignore[arg-type]
    assert none.tolist() == [] and none.dtype == bool


def test_a_sound_at_the_start_is_sought_and_spanned_from_sample_0() -> None:
    env = np.zeros(1000)
    env[0], env[3:21] = 4.0, 3.0  # a short loud sound at 0, a long one just after
    assert _longer(env, [0.0]) == [False]  # the peak at 0 is found: 2 samples over half
    env = np.zeros(1000)
    env[0:10] = 1.0  # smoothed: samples 0-10 over half, 11 samples from the first
    assert _longer(env, [0.01]) == [True]
    env[9] = 0.0
    assert _longer(env, [0.01]) == [False]


def test_the_sound_s_peak_is_sought_within_30_ms() -> None:
    # A short sound at samples 300-305 (smoothed: 300-306), sought from 15 samples away. With
    # nothing there, the "sound" is the silence, never under half of itself: long.
    env = np.zeros(1000)
    env[300:306] = 1.0
    assert _longer(env, [0.570]) == [False]  # sample 285: 15 before
    assert _longer(env, [0.568]) == [True]  # 284: 16 before
    assert _longer(env, [0.642]) == [False]  # 321: 15 after its last sample
    assert _longer(env, [0.644]) == [True]  # 322


def test_a_sound_s_span_is_looked_for_within_200_ms() -> None:
    env = np.full(1000, 1.0)  # never under half: the span ends 100 samples each side
    assert _longer(env, [1.0]) == [True]
    env = np.zeros(1000)
    env[5:11] = 1.0  # near the start, six samples: short
    assert _longer(env, [0.0]) == [False]


def test_transients_within_60_ms_of_a_heart_sound_go() -> None:
    times = (0.06, -0.06, float(np.nextafter(0.06, 1.0)), 0.5)
    assert _away_from(times, np.array([0.0])) == (times[2], 0.5)
    assert _away_from(times, np.array([0.0, 0.5])) == (times[2],)
    assert _away_from(times, np.zeros(0)) is times
    assert _away_from((), np.array([0.0])) == ()


# ---- the assembly


class _Wheezes:
    """The wheeze search, answering as told: ``first`` without heart sounds, ``second`` with."""

    first: ClassVar[tuple[tuple[tuple[float, float], ...], float | None]] = ((), None)
    second: ClassVar[tuple[tuple[tuple[float, float], ...], float | None]] = ((), None)
    calls: ClassVar[list[tuple[Any, ...]]] = []

    def __init__(self, x: NDArray[np.float64], spectrogram: Any) -> None:
        self.calls.append(("init", x, spectrogram))

    def find(
        self, min_duration_s: float, heart_sounds: NDArray[np.float64] | None = None
    ) -> tuple[tuple[tuple[float, float], ...], float | None]:
        self.calls.append(("find", min_duration_s, heart_sounds))
        return self.first if heart_sounds is None else self.second

    def voice_sounds(self, min_duration_s: float) -> int:
        self.calls.append(("voice", min_duration_s))
        return 7


_FILTERS = (
    "_away_from",
    "_away_from_heartbeat",
    "off_slow_waves",
    "beside_ringing",
    "not_too_fine",
    "over_the_breath",
)


def _lung(
    monkeypatch: pytest.MonkeyPatch,
    crackles: tuple[float, ...] = (),
    wheezes: tuple[tuple[float, float], ...] = (),
) -> tuple[LungResult, list[tuple[Any, ...]], dict[str, _Spy], NDArray[np.float64]]:
    """A 12 s breath analysed with the wheeze search and the crackle detector told what to
    find, and each crackle filter replaced by one that drops the first crackle it receives
    (the log: each filter's name and arguments, in the order called)."""
    _Wheezes.first, _Wheezes.second = (wheezes, 400.0 if wheezes else None), ((), None)
    _Wheezes.calls = []
    monkeypatch.setattr(lung, "WheezeSearch", _Wheezes)
    monkeypatch.setattr(lung, "crackles_in", lambda fine, fine_hz, signal_s: crackles)
    monkeypatch.setattr(lung, "keeps_upper_octaves", lambda energy: True)
    spies = {
        name: _Spy(monkeypatch, name)
        for name in ("heart_sound_times", "_longer_than_a_crackle", "crackle_band")
    }
    log: list[tuple[Any, ...]] = []
    for name in _FILTERS:

        def drop(times: tuple[float, ...], *rest: Any, name: str = name) -> tuple[float, ...]:
            log.append((name, times, *rest))
            return times[1:]

        monkeypatch.setattr(lung, name, drop)
    x = breathing(15.0, 12.0)
    spectrum = Spectrum(x, FS_HZ)
    result = analyze_lung(x, spectrum, lung_band(spectrum), 0.25, (0.5, 11.5), 0.75)
    return result, log, spies, x


def test_no_wheeze_nor_crackle_looks_for_no_heart_sound(monkeypatch: pytest.MonkeyPatch) -> None:
    result, log, spies, _ = _lung(monkeypatch)
    assert result.crackle_times_s == () and result.wheeze is False
    assert spies["heart_sound_times"].calls == []
    assert [c[0] for c in _Wheezes.calls] == ["init", "find", "voice"]
    # Ringing, too fine a wave and energy over the breath are asked even of no crackle.
    assert [entry[0] for entry in log] == ["beside_ringing", "not_too_fine", "over_the_breath"]


def test_a_wheeze_is_sought_again_away_from_heart_sounds(monkeypatch: pytest.MonkeyPatch) -> None:
    result, log, spies, x = _lung(monkeypatch, wheezes=((5.0, 5.5),))
    sounds = spies["heart_sound_times"].calls
    assert len(sounds) == 1
    assert _Wheezes.calls[0][1] is x
    assert _Wheezes.calls[1][1:] == (0.25, None)
    assert _Wheezes.calls[2][0] == "find" and _Wheezes.calls[2][1] == 0.25
    assert _Wheezes.calls[2][2] is not None
    assert _Wheezes.calls[3] == ("voice", 0.25)
    # What the second search found is what is reported.
    assert result.wheeze is False and result.wheeze_intervals_s == ()
    assert result.wheeze_frequency_hz is None and result.voice_sounds == 7
    assert [entry[0] for entry in log] == [
        "_away_from", "beside_ringing", "not_too_fine", "over_the_breath"
    ]  # fmt: skip


def test_a_wheeze_found_again_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Wheezes, "second", (((5.0, 5.5),), 410.0))
    monkeypatch.setattr(lung, "WheezeSearch", _Wheezes)
    _Wheezes.first = (((5.0, 5.5),), 400.0)
    x = breathing(15.0, 12.0)
    spectrum = Spectrum(x, FS_HZ)
    result = analyze_lung(x, spectrum, lung_band(spectrum), 0.25)
    assert result.wheeze is True
    assert result.wheeze_intervals_s == ((5.0, 5.5),) and result.wheeze_frequency_hz == 410.0


def test_crackles_pass_each_filter_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    found = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
    result, log, spies, _ = _lung(monkeypatch, crackles=found)
    assert [entry[0] for entry in log] == list(_FILTERS)
    for n, entry in enumerate(log):
        assert entry[1] == found[n:]
    assert result.crackle_times_s == found[6:]
    # Only the heart sounds longer than a crackle gate the crackles.
    heart_times, spectrum = spies["_longer_than_a_crackle"].args
    lasting = heart_times[lung._longer_than_a_crackle(heart_times, spectrum)]
    assert np.array_equal(log[0][2], lasting)
    # The crackle detector's band (8 kHz) is the one the ringing and fineness rules read.
    band, fs_hz = spies["crackle_band"].args
    fine, fine_hz = crackle_band(band, fs_hz)
    assert np.array_equal(log[3][2], fine) and log[3][3] == fine_hz == 8000.0
    assert log[4][2] is log[3][2] and log[4][3] == fine_hz
    assert log[5][2] is log[3][2] and log[5][3] == fine_hz
    assert fs_hz == FS_HZ


def test_the_heartbeat_gate_reads_the_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    _, log, _, _ = _lung(monkeypatch, crackles=(1.0, 2.0, 3.0))
    assert isinstance(log[1][2], Spectrum)
    assert log[2][3] is not None  # the lung band, given
    assert log[2][4] == FS_HZ


def test_crackle_filters_run_only_while_crackles_are_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, log, _, _ = _lung(monkeypatch, crackles=(1.0,))
    assert [entry[0] for entry in log] == [
        "_away_from", "beside_ringing", "not_too_fine", "over_the_breath"
    ]  # fmt: skip
    assert result.crackle_times_s == ()
    result, log, _, _ = _lung(monkeypatch, crackles=(1.0, 2.0))
    assert [entry[0] for entry in log] == [
        "_away_from", "_away_from_heartbeat", "beside_ringing", "not_too_fine", "over_the_breath"
    ]  # fmt: skip


def test_slow_waves_are_checked_only_where_the_upper_octaves_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[tuple[Any, ...]] = []

    def slow(times: tuple[float, ...], *rest: Any) -> tuple[float, ...]:
        called.append((times, *rest))
        return times

    monkeypatch.setattr(lung, "off_slow_waves", slow)
    monkeypatch.setattr(lung, "WheezeSearch", _Wheezes)
    _Wheezes.first = _Wheezes.second = ((), None)
    monkeypatch.setattr(lung, "crackles_in", lambda fine, fine_hz, signal_s: (3.0, 6.0))
    monkeypatch.setattr(lung, "_away_from_heartbeat", lambda times, spectrum: times)
    monkeypatch.setattr(lung, "_away_from", lambda times, sounds: times)
    x = breathing(15.0, 12.0)
    spectrum = Spectrum(x, FS_HZ)
    band = lung_band(spectrum)
    monkeypatch.setattr(lung, "keeps_upper_octaves", lambda energy: False)
    analyze_lung(x, spectrum, band, 0.25)
    assert called == []
    monkeypatch.setattr(lung, "keeps_upper_octaves", lambda energy: True)
    analyze_lung(x, spectrum, band, 0.25)
    times, slow_band, given, fs = called[0]
    assert times == (3.0, 6.0) and given is band and fs == FS_HZ
    assert np.array_equal(slow_band, spectrum.band(SLOW_WAVE_BAND_HZ, FS_HZ))


def test_the_result_carries_each_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    x = breathing(15.0, 12.0)
    spectrum = Spectrum(x, FS_HZ)
    rate = _Spy(monkeypatch, "respiratory_rate")
    swell = _Spy(monkeypatch, "breath_swell_db")
    floor = _Spy(monkeypatch, "band_over_floor_db")
    flat = _Spy(monkeypatch, "band_flatness")
    result = analyze_lung(x, spectrum, lung_band(spectrum), 0.25, (0.5, 11.5), 0.75)
    spectrogram, notes, envelopes, signal_s, shortest = rate.args
    assert notes == [] and signal_s == (0.5, 11.5) and shortest == 0.75
    energy, size = _octave_energy(spectrogram)
    assert np.array_equal(envelopes, _smoothed_db(energy, size))
    assert np.array_equal(swell.args[0], envelopes)
    whole = _smoothed_db(energy.sum(axis=0, keepdims=True), size)
    assert np.array_equal(floor.args[0], whole)
    assert flat.args[1] == LUNG_ANALYSIS_BAND_HZ
    assert result.respiratory_rate_bpm == 15.1
    assert result.breaths == 3.0  # 15.1 /min over 12 s: 3.02
    assert result.breath_swell_db == breath_swell_db(envelopes)
    assert result.band_over_floor_db == band_over_floor_db(whole)
    assert result.spectral_flatness == band_flatness(spectrogram, LUNG_ANALYSIS_BAND_HZ)
    assert result.notes == ()


def test_breaths_are_the_rate_over_the_clip_to_a_tenth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lung, "respiratory_rate", lambda *args: 17.0)
    x = breathing(15.0, 12.0)
    spectrum = Spectrum(x, FS_HZ)
    result = analyze_lung(x, spectrum, lung_band(spectrum), 0.25)
    assert result.breaths == 3.4  # 17 /min over 12 s


def test_the_crackle_detector_skips_the_signal_s_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _Spy(monkeypatch, "crackles_in")
    x = breathing(15.0, 12.0)
    spectrum = Spectrum(x, FS_HZ)
    analyze_lung(x, spectrum, lung_band(spectrum), 0.25, (0.5, 11.5))
    assert found.args[1] == 8000.0 and found.args[2] == (0.5, 11.5)


def test_no_rate_no_breaths(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.zeros(int(12 * FS_HZ))
    spectrum = Spectrum(x, FS_HZ)
    result = analyze_lung(x, spectrum, lung_band(spectrum), 0.25)
    assert result.respiratory_rate_bpm is None and result.breaths is None
    assert result.notes == (NO_BREATHING,)
