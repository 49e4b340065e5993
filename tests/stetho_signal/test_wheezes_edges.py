"""The wheeze search's bounds, on spectrograms made bin by bin.

Each test builds the power of a spectrogram directly: a flat level of 1 in every bin and a few
bins raised over chosen frames, so a tone's prominence, a run's frames or a voice's harmonics
sit exactly where a bound is. The waveform the held duration is measured on is silent unless a
test says otherwise (a silent stretch holds "at least half its peak" throughout).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage, signal

from stetho_signal._spectra import Spectrogram
from stetho_signal.wheezes import (
    HEART_GATE_S,
    MIN_RATE_HZ,
    VOICE_F0_HZ,
    WHEEZE_NPERSEG,
    WheezeSearch,
    _band_amplitude,
    _held_s,
    _mean_of_three,
    _runs,
    _steady_tone,
    find_wheezes,
)

FS_HZ = 4000.0
HOP = WHEEZE_NPERSEG // 2
HOP_S = HOP / FS_HZ  # 32 ms
FRAMES = 60
NINE_DB = np.float32(10.0**0.9)  # the prominence bound, in the spectrogram's precision
SIX_DB = np.float32(10.0**0.6)  # a harmonic's


def _flat(frames: int = FRAMES, fs_hz: float = FS_HZ, bin_hz: float | None = None) -> Spectrogram:
    """Frequencies, centres (as ``frame_power`` spaces them) and a flat power of 1; bins of
    ``bin_hz`` (513 of them) instead of a 256-sample frame's when given."""
    if bin_hz is None:
        freqs = np.asarray(np.fft.rfftfreq(WHEEZE_NPERSEG, 1.0 / fs_hz), dtype=np.float64)
    else:
        freqs = np.arange(513, dtype=np.float64) * bin_hz
    times = (np.arange(frames, dtype=np.float64) + 1.0) * (HOP / fs_hz)
    return freqs, times, np.ones((int(freqs.size), frames), dtype=np.float32)


def _silence(spectrogram: Spectrogram) -> NDArray[np.float64]:
    freqs, times, _ = spectrogram
    return np.zeros(int((times[-1] + times[0]) * 2.0 * freqs[-1]))


def _tone(power: NDArray[np.float32], row: int, frames: range, level: float = 16.0) -> None:
    """Raise one bin over ``frames``. At 16 the three-frame mean is tonal (11 or 16) exactly on
    these frames: the frame before and after average 6, under 9 dB."""
    power[row, frames.start : frames.stop] = level


def _wheezes(spectrogram: Spectrogram, min_s: float = 0.1) -> tuple[tuple[float, float], ...]:
    return find_wheezes(_silence(spectrogram), spectrogram, min_s)[0]


def test_find_wheezes_is_one_search_asked_once() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(10, 20))
    x = _silence(spectrogram)
    heart = np.array([spectrogram[1][15]])
    assert find_wheezes(x, spectrogram, 0.1) == WheezeSearch(x, spectrogram).find(0.1)
    assert find_wheezes(x, spectrogram, 0.1, heart) == WheezeSearch(x, spectrogram).find(0.1, heart)
    assert find_wheezes(x, spectrogram, 0.1)[0] != find_wheezes(x, spectrogram, 0.1, heart)[0]


def test_a_tone_at_exactly_9_db_is_tonal_and_one_a_hair_under_is_not() -> None:
    # Over a level of 1 the tone's ratio in frames 11..28 is its level: NINE_DB exactly.
    at, under = _flat(), _flat()
    _tone(at[2], 30, range(10, 30), level=float(NINE_DB))
    _tone(under[2], 30, range(10, 30), level=float(NINE_DB) * 0.99999)
    assert len(_wheezes(at)) == 1
    assert _wheezes(under) == ()


@pytest.mark.parametrize(
    ("level", "found"),
    [
        (0.45, True),
        (0.4040404, True),  # exactly 1 % of the band's power in single precision: 0.404 / 40.404
        (0.36, False),
    ],
)
def test_a_tone_must_hold_1_percent_of_the_band(level: float, found: bool) -> None:
    # Silence around the tone (it stands far out of its neighbours) and 40 bins of level 1
    # elsewhere in the band: the tone holds 1 % of the band's power from 0.404 on.
    freqs, times, power = _flat()
    power[:] = 0.0
    power[50:90] = 1.0
    _tone(power, 20, range(0, FRAMES), level=level)  # in every frame: no smoothing at its ends
    power[20, 30:] = 0.0  # nor is it held through the recording (hum)
    assert (len(_wheezes((freqs, times, power))) == 1) is found


def test_a_tone_far_under_the_loudest_frame_is_judged_against_its_own_neighbours() -> None:
    # The ratio's floor is 1e-12 of the loudest bin: a quiet stretch at that level still has a
    # tone 9 dB over its neighbours ((15 + 1) / (1 + 1) = 8 with the floor added to both).
    freqs, times, power = _flat()
    power[:] = 1e-12
    power[:, :3] = 1.0
    _tone(power, 30, range(10, 40), level=15e-12)
    power[30, 9] = power[30, 40] = 15e-12 / 2  # the run's ends as tonal as its middle
    assert len(_wheezes((freqs, times, power))) == 1


@pytest.mark.parametrize(("row", "found"), [(4, True), (64, True), (3, False), (65, False)])
def test_the_band_holds_100_and_1600_hz_and_nothing_past_them(row: int, found: bool) -> None:
    # At 6.4 kHz the bins are 25 Hz apart: 100 Hz is bin 4 and 1600 Hz bin 64.
    spectrogram = _flat(fs_hz=6400.0)
    _tone(spectrogram[2], row, range(10, 30), level=100.0)
    assert (len(_wheezes(spectrogram)) == 1) is found


@pytest.mark.parametrize("fs_hz", [3000.0, 3200.0, MIN_RATE_HZ - 1.0])
def test_a_rate_that_cuts_the_held_band_is_refused(fs_hz: float) -> None:
    # The waveform band of a tone at the search band's top (1600 Hz +-40) must fit under 0.45
    # of the rate: 3,644 Hz. Under it a held tone would be measured short (a 1500 Hz tone held
    # 300 ms measured 69 ms at 3.2 kHz), so the search says what it needs instead.
    spectrogram = _flat(fs_hz=fs_hz)
    with pytest.raises(ValueError, match="needs a recording at 3644 Hz or more"):
        WheezeSearch(_silence(spectrogram), spectrogram)


def test_the_refusal_names_the_rate_needed_and_the_spectrogram_s_top() -> None:
    spectrogram = _flat(fs_hz=3200.0)
    want = (
        "the wheeze search needs a recording at 3644 Hz or more (a spectrogram up to 1822 Hz); "
        "this one reaches 1600 Hz"
    )
    with pytest.raises(ValueError) as refused:
        WheezeSearch(_silence(spectrogram), spectrogram)
    assert str(refused.value) == want


def test_a_spectrogram_reaching_exactly_half_the_lowest_rate_is_taken() -> None:
    # 512 bins of a 512th of it: the last is exactly MIN_RATE_HZ / 2.
    spectrogram = _flat(bin_hz=MIN_RATE_HZ / 2 / 512)
    assert 2.0 * float(spectrogram[0][-1]) == MIN_RATE_HZ
    WheezeSearch(_silence(spectrogram), spectrogram)


def test_the_lowest_rate_taken_finds_a_tone_at_the_band_s_top() -> None:
    spectrogram = _flat(fs_hz=MIN_RATE_HZ + 1.0)
    row = int(np.argmin(np.abs(spectrogram[0] - 1590.0)))
    _tone(spectrogram[2], row, range(10, 30), level=30.0)
    assert len(_wheezes(spectrogram)) == 1


def test_one_frame_holds_no_wheeze_and_two_frames_can() -> None:
    one = _flat(frames=1)
    _tone(one[2], 30, range(0, 1), level=100.0)
    search = WheezeSearch(_silence(one), one)
    assert search.find(0.01) == ((), None)
    assert search.voice_sounds(0.01) == 0
    two = _flat(frames=2)
    two[2][30, 0] = 20.0  # frame 0 averages (20 + 20 + 1) / 3, frame 1 (20 + 1 + 1) / 3
    assert _wheezes(two, HOP_S) == ((0.016, 0.048),)


def test_a_run_of_exactly_the_shortest_duration_is_kept() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(10, 14))  # four frames, 128 ms
    assert _wheezes(spectrogram, 4 * HOP_S) == ((0.336, 0.464),)
    assert _wheezes(spectrogram, 4 * HOP_S + 1e-9) == ()


def test_an_interval_runs_half_a_hop_either_side_of_its_frames() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(0, 8))
    _tone(spectrogram[2], 30, range(20, 30))
    assert _wheezes(spectrogram) == ((0.016, 0.272), (0.656, 0.976))


def test_intervals_are_given_to_the_millisecond() -> None:
    # At 6 kHz a hop is 21.33 ms: frame 2's interval starts at 53.33 ms, frame 7's ends at
    # 181.33 ms.
    spectrogram = _flat(fs_hz=6000.0)
    _tone(spectrogram[2], 30, range(2, 8))
    assert _wheezes(spectrogram) == ((0.053, 0.181),)


def test_the_longest_wheeze_gives_the_frequency_to_a_tenth_of_a_hertz() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(5, 20))  # 468.75 Hz, 480 ms
    _tone(spectrogram[2], 40, range(30, 35))  # 625 Hz, 160 ms, later
    intervals, frequency = find_wheezes(_silence(spectrogram), spectrogram, 0.1)
    assert len(intervals) == 2
    assert frequency == 468.8


def test_a_frame_at_the_heart_gate_s_reach_belongs_to_the_heart_sound() -> None:
    # A frame stands for half a hop either side of its centre: frame 5 at exactly 60 ms plus
    # half a hop from the sound is gated, a microsecond further it is not.
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(5, 25))
    x, times = _silence(spectrogram), spectrogram[1]
    reach = HEART_GATE_S + HOP_S / 2
    search = WheezeSearch(x, spectrogram)
    gated = search.find(0.1, np.array([float(times[5]) - reach]))[0]
    kept = search.find(0.1, np.array([float(times[5]) - reach - 1e-6]))[0]
    assert gated == ((0.208, 0.816),)
    assert kept == ((0.176, 0.816),)
    assert search.find(0.1)[0] == kept


def test_a_heart_sound_inside_a_run_cuts_it() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(10, 20))
    heart = np.array([float(spectrogram[1][15])])
    search = WheezeSearch(_silence(spectrogram), spectrogram)
    assert search.tones(0.1) != ()
    assert search.tones(0.1, heart) == ()  # 3 frames before, 2 after: both under 100 ms


def _sine(x: NDArray[np.float64], fs_hz: float, span_s: tuple[float, float], hz: float) -> None:
    t = np.arange(int(span_s[0] * fs_hz), int(span_s[1] * fs_hz))
    x[t] += np.sin(2.0 * np.pi * hz * t / fs_hz)


def test_a_tone_held_100_ms_on_the_waveform_passes_the_10_ms_slack() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(10, 14))  # 128 ms of frames
    x = _silence(spectrogram)
    _sine(x, FS_HZ, (0.35, 0.45), 468.75)  # 100 ms: measures 98-100 ms
    assert len(find_wheezes(x, spectrogram, 0.1)[0]) == 1


def test_a_click_s_run_left_out_does_not_end_the_search() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 30, range(5, 10))
    _tone(spectrogram[2], 30, range(40, 50))
    x = _silence(spectrogram)
    _sine(x, FS_HZ, (0.25, 0.26), 468.75)  # a 10 ms burst: well under 100 ms held
    _sine(x, FS_HZ, (1.30, 1.62), 468.75)
    assert _wheezes(spectrogram) != ()  # silent waveform: both held
    assert find_wheezes(x, spectrogram, 0.1)[0] == ((1.296, 1.616),)


def test_hum_moving_between_two_neighbouring_bins_is_steady() -> None:
    # A tone in most frames is hum, whichever of two neighbouring bins it peaks in: here six
    # frames in one, six in the other, each stretch long enough for a wheeze of its own.
    for low, high in ((30, 31), (31, 30)):
        spectrogram = _flat()
        power = spectrogram[2]
        in_low = (np.arange(FRAMES) // 6) % 2 == 0
        power[low, in_low] = power[high, ~in_low] = 100.0
        power[low, ~in_low] = power[high, in_low] = 60.0
        assert _wheezes(spectrogram) == ()


def test_a_tone_in_exactly_60_percent_of_frames_is_hum() -> None:
    frames = 20
    spectrogram = _flat(frames=frames)
    _tone(spectrogram[2], 30, range(0, 12))  # tonal in frames 0..11: 12 of 20
    assert _wheezes(spectrogram) == ()
    spectrogram[2][30, 11] = 1.0  # tonal in 0..10: 11 of 20
    assert len(_wheezes(spectrogram)) == 1


def _voice(
    power: NDArray[np.float32], f0_row: int, frames: range, levels: dict[int, float]
) -> None:
    """Harmonic ``k`` of a fundamental at ``f0_row`` raised to ``levels[k]`` (k from 1)."""
    for k, level in levels.items():
        power[k * f0_row, frames.start : frames.stop] = level


def _voice_sounds(spectrogram: Spectrogram) -> int:
    return WheezeSearch(_silence(spectrogram), spectrogram).voice_sounds(0.1)


@pytest.mark.parametrize(
    ("levels", "voiced"),
    [
        ({1: 16.0, 2: 100.0, 3: 16.0}, True),  # the fundamental and two more
        ({1: 16.0, 2: 100.0}, False),  # two harmonics only
        ({1: 16.0, 2: 100.0, 3: float(SIX_DB)}, True),  # the third exactly 6 dB out
        ({1: 16.0, 2: 100.0, 3: 4.1}, True),
        ({1: 16.0, 2: 100.0, 3: 3.8}, False),
        ({1: float(NINE_DB), 2: 100.0, 3: 16.0}, True),  # the fundamental exactly 9 dB out
        ({1: 8.2, 2: 100.0, 3: 16.0}, True),
        ({1: 7.0, 2: 100.0, 3: 16.0}, False),  # a bump of noise, not a tone
    ],
)
def test_the_bounds_of_a_voice_like_series(levels: dict[int, float], voiced: bool) -> None:
    spectrogram = _flat()
    _voice(spectrogram[2], 10, range(10, 30), levels)  # 156 Hz: a man's voice
    assert _voice_sounds(spectrogram) == int(voiced)
    assert (_wheezes(spectrogram) == ()) is voiced


def test_a_harmonic_one_bin_off_its_place_still_counts() -> None:
    for row in (29, 31):
        spectrogram = _flat()
        _voice(spectrogram[2], 10, range(10, 30), {1: 16.0, 2: 100.0})
        spectrogram[2][row, 10:30] = 16.0
        assert _voice_sounds(spectrogram) == 1


def test_a_series_over_a_fundamental_above_the_speaking_range_is_a_wheeze() -> None:
    spectrogram = _flat()
    _voice(spectrogram[2], 40, range(10, 30), {1: 100.0, 2: 16.0, 3: 16.0})  # over 625 Hz
    assert _voice_sounds(spectrogram) == 0
    assert len(_wheezes(spectrogram)) == 1


@pytest.mark.parametrize(("bin_hz", "f0_row"), [(4.375, 16), (4.0625, 64)])
def test_the_speaking_range_holds_its_bounds(bin_hz: float, f0_row: int) -> None:
    # Bins chosen so that the fundamental falls exactly on 70 Hz (16 x 4.375) and on 260 Hz
    # (64 x 4.0625); the tone is its second harmonic, its neighbouring bins level.
    assert {f0_row * bin_hz} <= set(VOICE_F0_HZ)
    spectrogram = _flat(bin_hz=bin_hz)
    _voice(spectrogram[2], f0_row, range(10, 30), {1: 16.0, 2: 100.0, 3: 16.0})
    assert _voice_sounds(spectrogram) == 1


def test_a_run_half_voiced_is_voice() -> None:
    # Frames 10..13 carry the series, 14..17 the tone alone: voiced in exactly half the run.
    spectrogram = _flat()
    _tone(spectrogram[2], 20, range(10, 18), level=20.0)  # the run: frames 10..17 exactly
    _voice(spectrogram[2], 10, range(10, 14), {1: 16.0, 3: 16.0})
    assert _voice_sounds(spectrogram) == 1
    assert _wheezes(spectrogram) == ()


def test_a_voice_over_digital_silence_is_voice() -> None:
    freqs, times, power = _flat()
    power[:] = 0.0
    _voice(power, 10, range(10, 30), {1: 16.0, 2: 100.0, 3: 16.0})
    assert _voice_sounds((freqs, times, power)) == 1


def test_a_run_follows_a_peak_moving_two_bins_a_frame_and_not_three() -> None:
    tonal = np.ones(6, dtype=bool)
    assert _runs(tonal, np.array([10, 12, 14, 17, 17, 15])) == [(0, 3), (3, 6)]


@pytest.mark.parametrize("axis", [0, 1])
def test_the_mean_of_three_is_the_size_3_filter_with_ends_repeated(axis: int) -> None:
    a = np.random.default_rng(0).random((7, 9)).astype(np.float32)
    expected = ndimage.uniform_filter1d(a, size=3, axis=axis, mode="nearest")
    np.testing.assert_allclose(_mean_of_three(a, axis), expected, rtol=1e-6)


def test_no_frame_holds_no_steady_tone() -> None:
    steady = _steady_tone(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=bool))
    assert steady.dtype == np.bool_ and steady.shape == (0,)


def _burst(seconds: float, span_s: tuple[float, float], hz: float = 400.0) -> NDArray[np.float64]:
    t = np.arange(int(seconds * FS_HZ)) / FS_HZ
    return np.where((t >= span_s[0]) & (t < span_s[1]), np.sin(2.0 * np.pi * hz * t), 0.0)


def test_the_band_amplitude_is_a_zero_phase_butterworth_s_envelope() -> None:
    # What sosfiltfilt of a second-order Butterworth band-pass and the analytic signal give,
    # read at the amplitude's own rate (within 3 %: the analogue response against the
    # bilinear one, 1.1 % here).
    x = np.random.default_rng(1).standard_normal(3001)
    amplitude, rate_hz = _band_amplitude(x, FS_HZ, (360.0, 440.0))
    sos = signal.butter(2, (360.0, 440.0), "bandpass", fs=FS_HZ, output="sos")
    reference = np.abs(signal.hilbert(signal.sosfiltfilt(sos, x)))
    at = np.round(np.arange(amplitude.size) / rate_hz * FS_HZ).astype(int)
    inside = slice(int(0.1 * at.size), int(0.6 * at.size))  # away from both ends
    assert rate_hz < 0.2 * FS_HZ  # a short inverse transform
    error = np.abs(amplitude[inside] - reference[at[inside]])
    assert float(error.max()) < 0.03 * float(reference.max())


@pytest.mark.parametrize(
    ("x", "held_s"),
    [
        (_burst(2.0, (1.0, 1.1)), (0.097, 0.1)),  # a 100 ms tone: 98-100 ms
        (_burst(2.0, (1.0, 1.3)), (0.297, 0.3)),
        (np.where(np.arange(8000) == 4000, 1.0, 0.0), (0.018, 0.022)),  # an impulse: 20 ms
        (  # a click halving every 12 ms: 28 ms
            _burst(2.0, (1.0, 2.0))
            * np.exp(-np.maximum(np.arange(8000) / FS_HZ - 1.0, 0.0) * np.log(2.0) / 0.012),
            (0.027, 0.03),
        ),
    ],
)
def test_how_long_a_tone_a_click_and_an_impulse_hold(
    x: NDArray[np.float64], held_s: tuple[float, float]
) -> None:
    assert held_s[0] <= _held_s(x, FS_HZ, (0.95, 1.15), np.full(4, 400.0)) <= held_s[1]


@pytest.mark.parametrize("louder_s", [0.8, 1.3])  # before and after, within the 0.25 s margin
def test_a_louder_sound_outside_the_run_is_not_its_peak(louder_s: float) -> None:
    x = _burst(2.0, (1.0, 1.1)) + 3.0 * _burst(2.0, (louder_s, louder_s + 0.01))
    assert _held_s(x, FS_HZ, (0.95, 1.15), np.full(4, 400.0)) >= 0.097


def test_a_tone_held_from_the_first_sample_is_measured_from_it() -> None:
    assert _held_s(_burst(2.0, (0.0, 0.3)), FS_HZ, (0.0, 0.2), np.full(4, 400.0)) == 0.3


def test_a_tone_held_to_the_last_sample_ends_with_it() -> None:
    assert _held_s(_burst(2.0, (1.8, 2.0)), FS_HZ, (1.85, 2.0), np.full(4, 400.0)) <= 0.2


def test_the_run_s_waveform_reaches_a_hop_past_its_frames_and_no_further() -> None:
    # A louder click 1.5 hops after the run's last frame is outside it: the run's own tone is
    # measured, and held.
    spectrogram = _flat()
    _tone(spectrogram[2], 26, range(10, 20))  # 406 Hz
    times = spectrogram[1]
    x = _silence(spectrogram)
    x[: int(FS_HZ)] += _burst(1.0, (float(times[10]) - HOP_S / 2, float(times[19]) + HOP_S / 2))
    click = float(times[19]) + 1.5 * HOP_S
    x[: int(FS_HZ)] += 3.0 * _burst(1.0, (click, click + 0.01))
    assert len(find_wheezes(x, spectrogram, 0.1)[0]) == 1


def test_the_waveform_is_read_a_quarter_second_past_the_run_and_no_further() -> None:
    # A tone masked for most of its length in the frames still lasts as long as it sounds, as
    # far as the waveform read around the run (0.75-1.35 s here) shows it.
    track = np.full(4, 400.0)
    assert _held_s(_burst(2.0, (0.9, 1.3)), FS_HZ, (1.0, 1.1), track) == pytest.approx(
        0.4, abs=0.003
    )
    # 2401 samples read (0.75-1.35025 s): the transform pads them to 2430 and the padding is
    # not read, even where the tone grows louder past the run and is cut at full height.
    for louder in (1.0, 4.0):
        x = _burst(2.0, (0.9, 1.2)) + louder * _burst(2.0, (1.2, 1.9))
        assert _held_s(x, FS_HZ, (1.0, 1.10025), track) == pytest.approx(0.45, abs=0.002)


def test_a_tone_held_exactly_the_duration_less_the_slack_is_a_wheeze() -> None:
    spectrogram = _flat()
    _tone(spectrogram[2], 26, range(10, 14))  # 406 Hz, 128 ms of frames
    times = spectrogram[1]
    x = _silence(spectrogram)
    x[: int(FS_HZ)] += _burst(1.0, (0.35, 0.44))
    span = (float(times[10]) - HOP_S, float(times[13]) + HOP_S)
    held = _held_s(x, FS_HZ, span, np.full(4, float(spectrogram[0][26])))
    asked = held + 0.01
    assert asked - 0.01 == held and held < 0.1  # the bound is met exactly
    assert len(find_wheezes(x, spectrogram, asked)[0]) == 1
    assert find_wheezes(x, spectrogram, np.nextafter(asked, 1.0))[0] == ()


@pytest.mark.parametrize("at_end", [False, True])
def test_the_run_s_loudest_point_is_looked_for_a_hop_either_side_of_its_frames(
    at_end: bool,
) -> None:
    # The tone's loud onset (or end) lies between a hop before the run's first frame and that
    # frame's centre (or between the last frame's centre and a hop after it): it is the peak,
    # and the quiet rest (under half of it) is not held with it.
    spectrogram = _flat()
    _tone(spectrogram[2], 26, range(10, 20))
    times = spectrogram[1]
    x = _silence(spectrogram)
    if at_end:
        loud = (float(times[19]) + 0.75 * HOP_S - 0.02, float(times[19]) + 0.75 * HOP_S)
        quiet = (float(times[10]), loud[0])
    else:
        loud = (float(times[10]) - 0.75 * HOP_S, float(times[10]) - 0.75 * HOP_S + 0.02)
        quiet = (loud[1], float(times[19]))
    x[: int(FS_HZ)] += _burst(1.0, loud) + 0.4 * _burst(1.0, quiet)
    assert find_wheezes(x, spectrogram, 0.1)[0] == ()


def test_a_tone_at_a_voice_s_seventh_harmonic_is_not_taken_for_it() -> None:
    # The tone is read as harmonic 1 to 6 of a fundamental, never 7: a voice at 156 Hz with
    # harmonics 1-3 under a tone at 1094 Hz (its seventh) leaves the tone a wheeze.
    spectrogram = _flat()
    _voice(spectrogram[2], 10, range(10, 30), {1: 16.0, 2: 16.0, 3: 16.0, 7: 100.0})
    assert _voice_sounds(spectrogram) == 0
    assert len(_wheezes(spectrogram)) == 1


def test_only_the_first_six_harmonics_make_a_series() -> None:
    spectrogram = _flat()
    _voice(spectrogram[2], 10, range(10, 30), {1: 16.0, 2: 100.0, 7: 16.0})
    assert _voice_sounds(spectrogram) == 0


def test_a_voice_between_two_bins_is_found_by_its_fifth_and_sixth_harmonics() -> None:
    # The tone peaks 0.15 bin over bin 16 (log power parabola: bins 15, 16, 17 at -1.857, 0
    # and -1 nepers): a 252 Hz voice whose fifth and sixth harmonics sit in bins 82 and 96.
    # Bin 16 alone would look for the fifth at 79-81, a vertex at 16.45 for the sixth at
    # 98-100. Power is at 1e-4 of the usual scale: only ratios count.
    spectrogram = _flat()
    power = spectrogram[2]
    power[15:18, 10:30] = (100.0 * np.exp(np.array([-1.857, 0.0, -1.0])))[:, None]
    power[[82, 96], 10:30] = 16.0
    power *= np.float32(1e-4)
    assert _voice_sounds(spectrogram) == 1


def test_a_tone_flat_over_three_bins_is_taken_at_its_middle_bin() -> None:
    # Equal power in bins 15-17: no parabola's vertex, the fundamental is bin 16 itself.
    spectrogram = _flat()
    _voice(spectrogram[2], 16, range(10, 30), {1: 100.0, 2: 16.0, 3: 16.0})
    spectrogram[2][[15, 17], 10:30] = 100.0
    assert _voice_sounds(spectrogram) == 1


@pytest.mark.parametrize("side", [-1, 1])
def test_the_tone_s_place_between_bins_is_taken_at_most_half_a_bin_off(side: int) -> None:
    # Bin 16 has the best ratio, but its neighbour on one side is louder still (its own
    # neighbours are louder too, 7 bins off): the parabola's vertex lies 1.5 bins out, and is
    # taken at 16.5 (or 15.5). A voice at that fundamental has its second and fourth
    # harmonics at 33 and 66 (31 and 62); at 17.5 (14.5) they would be missed.
    spectrogram = _flat()
    power = spectrogram[2]
    power[16, 10:30] = 100.0
    power[16 + side, 10:30] = 1000.0
    power[16 + 7 * side, 10:30] = 150.0
    fundamental = 16.0 + 0.5 * side
    power[[int(2 * fundamental), int(4 * fundamental)], 10:30] = 16.0
    assert _voice_sounds(spectrogram) == 1
