"""The heart's cycle estimate at its exact edges, on envelopes and autocorrelations made by hand.

``estimate_cycles`` chooses which periods the S1/S2 segmentation weighs; a wrong one is a half-
or double-rate read (issue 17). Its guards are tested here one at a time: the double-rate guard
(``_repeating_lag``) and the half-rate guard (``_halve_if_skipped``) on autocorrelations written
by hand, the systole's window (``_systole_lag``) on monotonic or peaked series, and the search's
bounds (30 to 220 /min, 60 % of the recording) on trains of identical beats. Where a bound must
be hit exactly, the values are binary fractions or products the test computes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import fft

from stetho_signal._stats import quantile
from stetho_signal.bands import Spectrum, smooth_resampled
from stetho_signal.envelope import (
    ANALYTIC_RATE_HZ,
    ENVELOPE_RATE_HZ,
    SOUND_BAND_HZ,
    _halve_if_skipped,
    _repeating_lag,
    _systole_lag,
    autocorrelation,
    estimate_cycles,
    expected_systole_s,
    heart_envelope,
    heart_envelopes,
)

FS = ENVELOPE_RATE_HZ  # 100 Hz: a lag in samples is a hundredth of a second


def _beats(
    n: int, period: int, systole: int | None = None, width: float = 1.5
) -> NDArray[np.float64]:
    """``n`` samples of an envelope with a sound (a Gaussian bump of ``width`` samples) at every
    multiple of ``period``, and a second one ``systole`` samples after each if given."""
    t = np.arange(n, dtype=np.float64)
    env = np.zeros(n)
    for start in range(0, n, period):
        for at in (start,) if systole is None else (start, start + systole):
            env += np.exp(-0.5 * ((t - at) / width) ** 2)
    return env


def _boxes(n: int, period: int, half_width: int = 8) -> NDArray[np.float64]:
    """``n`` samples of 0 with a box of 1 (``2 * half_width + 1`` samples) at every multiple of
    ``period``: its autocorrelation peaks exactly at the multiples, however few they are."""
    t = np.arange(n)
    return (np.minimum(t % period, period - t % period) <= half_width).astype(np.float64)


def _ac(n: int, values: dict[int, float]) -> NDArray[np.float64]:
    """An autocorrelation of ``n`` lags: 1 at lag 0, the given values, 0 elsewhere."""
    ac = np.zeros(n)
    ac[0] = 1.0
    for lag, value in values.items():
        ac[lag] = value
    return ac


def _periods(env: NDArray[np.float64], fs_hz: float = FS) -> list[float]:
    return [c.period_s for c in estimate_cycles(env, fs_hz)]


# ---- expected_systole_s: Weissler's line, and 40 % of the cycle at fast rates


def test_expected_systole_follows_weissler_at_ordinary_rates() -> None:
    # 75 /min: 0.496 - 0.0021 * 75 = 0.3385 s, above 40 % of 0.8 s (0.32 s).
    assert expected_systole_s(0.8) == pytest.approx(0.3385, rel=1e-12)
    # 30 /min: 0.496 - 0.063 = 0.433 s; 40 % of 2 s would be 0.8 s, capped at 0.35 s.
    assert expected_systole_s(2.0) == pytest.approx(0.433, rel=1e-12)


def test_expected_systole_is_forty_percent_of_a_fast_cycle() -> None:
    # 200 /min: Weissler gives 0.076 s, below physiology; 40 % of 0.3 s is 0.12 s.
    assert expected_systole_s(0.3) == pytest.approx(0.12, rel=1e-12)


def test_expected_systole_is_under_half_of_any_period() -> None:
    # Systole is the shorter phase: 10 % of the period under half at fast rates, and at least
    # 5 ms under where Weissler's line comes closest (0.5 s). _systole_lag's fallback relies on
    # it: round(expected) never passes period // 2.
    for period in np.arange(1, 1001) / 1000.0 * 3.0:
        assert expected_systole_s(period) <= period / 2 - min(0.1 * period, 0.005) + 1e-12
    for fs_hz in (10.0, FS, 4000.0):
        for lags in range(1, round(3 * fs_hz)):
            assert round(expected_systole_s(lags / fs_hz) * fs_hz) <= lags // 2


# ---- _systole_lag: the highest peak within 70-130 % of the expected systole, under half the
# period. At a 1 s period the expected systole is 37 lags: the window is lags 25..49.


def test_systole_is_the_highest_peak_inside_the_window() -> None:
    ac = _ac(200, {24: 0.9, 30: 0.2, 35: 0.5, 40: 0.2, 45: 0.6, 47: 0.2, 50: 0.9})
    assert _systole_lag(ac, 100, FS) == 45


def test_systole_window_starts_at_seventy_percent_of_the_expected() -> None:
    # Falling through the window: no peak inside, its first lag (int(0.7 * 37) = 25) is the
    # highest.
    ac = np.linspace(1.0, 0.0, 200)
    assert _systole_lag(ac, 100, FS) == 25


def test_systole_window_ends_at_a_hundred_and_thirty_percent_of_the_expected() -> None:
    # Rising through the window: its last lag, ceil(1.3 * 37) = 49, is the highest.
    ac = np.linspace(0.0, 1.0, 200)
    assert _systole_lag(ac, 100, FS) == 49


def test_systole_never_exceeds_half_the_period() -> None:
    # 0.6 s: the expected systole is 28.6 lags, its window 20..38, cut at 30 (half the period).
    ac = np.linspace(0.0, 1.0, 200)
    assert _systole_lag(ac, 60, FS) == 30


def test_a_very_short_period_searches_from_its_window_not_from_lag_two() -> None:
    # 4 lags: the expected systole is 1.6 lags (40 %), the window lags 1..2; falling, 1 wins.
    ac = np.linspace(1.0, 0.0, 20)
    assert _systole_lag(ac, 4, FS) == 1


def test_an_autocorrelation_ending_before_the_window_gives_the_expected_systole() -> None:
    # 20 lags cannot reach the window (25..49): the expected 37 lags, rounded.
    assert _systole_lag(np.linspace(1.0, 0.0, 20), 100, FS) == 37
    # One lag inside the window is searched: the last one, 25.
    assert _systole_lag(np.linspace(1.0, 0.0, 26), 100, FS) == 25


# ---- _repeating_lag: a peak under 0.4 s that does not repeat at twice its lag (within a
# tenth of the lag, at 30 % of its height) is an S1-S2 interval, not a beat.


def test_a_short_peak_that_does_not_repeat_gives_way_to_the_next_highest() -> None:
    ac = _ac(1000, {30: 0.8, 50: 0.3, 80: 0.5})
    assert _repeating_lag(ac, np.array([30, 50, 80]), FS) == 80


def test_the_highest_peak_is_taken_when_long_enough_not_to_be_checked() -> None:
    # 0.5 s needs no repeat; a lower short peak that repeats does not replace it.
    ac = _ac(1000, {30: 0.5, 50: 0.8, 60: 0.5})
    assert _repeating_lag(ac, np.array([30, 50]), FS) == 50


def test_a_peak_at_exactly_four_tenths_of_a_second_is_not_checked() -> None:
    ac = _ac(1000, {40: 0.8, 60: 0.5})
    assert _repeating_lag(ac, np.array([40, 60]), FS) == 40
    ac = _ac(1000, {39: 0.8, 60: 0.5})
    assert _repeating_lag(ac, np.array([39, 60]), FS) == 60


@pytest.mark.parametrize(("at", "repeats"), [(56, False), (57, True), (63, True), (64, False)])
def test_the_repeat_is_sought_within_a_tenth_of_the_lag_of_its_double(
    at: int, repeats: bool
) -> None:
    # 30 lags: the repeat counts at 57..63 (60 +- 3).
    ac = _ac(1000, {30: 0.8, 50: 0.5, at: 0.5})
    assert _repeating_lag(ac, np.array([30, 50]), FS) == (30 if repeats else 50)


@pytest.mark.parametrize(("repeat", "kept"), [(0.15, 30), (np.nextafter(0.15, 0.0), 50)])
def test_a_repeat_at_thirty_percent_of_the_peak_counts(repeat: float, kept: int) -> None:
    # 0.3 * 0.5 is exactly 0.15 (halving is exact); a hair below it does not count.
    ac = _ac(1000, {30: 0.5, 50: 0.4, 60: repeat})
    assert _repeating_lag(ac, np.array([30, 50]), FS) == kept


def test_a_repeat_past_sixty_percent_of_the_series_is_not_required() -> None:
    # 30 lags: the window ends at 63, exactly 60 % of 105 lags: beyond the reliable part, the
    # peak is taken as it is. With 106 lags the window is inside, and empty: the next peak wins.
    peaks = np.array([30, 50])
    assert _repeating_lag(_ac(105, {30: 0.8, 50: 0.5}), peaks, FS) == 30
    assert _repeating_lag(_ac(106, {30: 0.8, 50: 0.5}), peaks, FS) == 50


def test_the_window_edge_against_sixty_percent_counts_whole_lags() -> None:
    # 39 lags: the window ends at 78 + 3 = 81 (a tenth of 39 is 3 whole lags), inside 60 % of
    # 136 lags (81.6): checked, no repeat, the next peak wins.
    assert _repeating_lag(_ac(136, {39: 0.8, 50: 0.5}), np.array([39, 50]), FS) == 50


def test_when_no_short_peak_repeats_the_highest_stays() -> None:
    ac = _ac(1000, {30: 0.8, 35: 0.5})
    assert _repeating_lag(ac, np.array([30, 35]), FS) == 30


# ---- _halve_if_skipped: a peak within 5 % of half the lag, as high once the biased estimate's
# decay (1 - lag / n) is undone (at least 90 %), means the chosen lag skipped a beat.


@pytest.mark.parametrize(("half", "halved"), [(89, False), (90, True), (110, True), (111, False)])
def test_a_half_lag_peak_counts_within_five_percent_of_the_lag(half: int, halved: bool) -> None:
    # 0.6 at 90..110 is over 0.9 * 0.5 / (1 - 0.2) once undone.
    ac = _ac(1000, {half: 0.6, 200: 0.5})
    assert _halve_if_skipped(ac, np.array([half, 200]), 200) == (half if halved else 200)


def test_the_highest_of_several_half_lag_peaks_is_weighed() -> None:
    ac = _ac(1000, {95: 0.1, 105: 0.6, 200: 0.5})
    assert _halve_if_skipped(ac, np.array([95, 105, 200]), 200) == 105


@pytest.mark.parametrize(("height", "halved"), [(0.271, True), (0.269, False)])
def test_heights_are_compared_with_the_biased_decay_undone(height: float, halved: bool) -> None:
    # 1000 lags, 500 and its half 250: the full peak 0.2 is 0.4 once divided by 1 - 0.5, and
    # 90 % of it (0.36) is 0.27 at the half lag (times 1 - 0.25). The raw heights would
    # halve both (0.269 > 0.9 * 0.2).
    ac = _ac(1000, {250: height, 500: 0.2})
    assert _halve_if_skipped(ac, np.array([250, 500]), 500) == (250 if halved else 500)


def test_a_half_lag_peak_at_exactly_ninety_percent_halves() -> None:
    # 1024 lags, 256 and 128: 0.75 / (1 - 0.25) is 1 exactly, 0.7875 / (1 - 0.125) is 0.9.
    ac = _ac(1024, {128: 0.7875, 256: 0.75})
    assert ac[128] / (1.0 - 128 / 1024) == 0.9 * (ac[256] / (1.0 - 256 / 1024))
    assert _halve_if_skipped(ac, np.array([128, 256]), 256) == 128
    ac[128] = np.nextafter(0.7875, 0.0)
    assert _halve_if_skipped(ac, np.array([128, 256]), 256) == 256


def test_no_peak_near_half_the_lag_keeps_it() -> None:
    ac = _ac(1000, {150: 0.9, 200: 0.5})
    assert _halve_if_skipped(ac, np.array([150, 200]), 200) == 200


# ---- estimate_cycles: rates from 30 (5 % margin) to 220 /min, lags under 60 % of the
# recording, alternatives at least 20 % apart.


def test_220_per_minute_is_the_fastest_rate_searched() -> None:
    # At 220 Hz a beat every 60 samples is exactly 220 /min: read as itself. Every 59 samples
    # is faster: its own lag is left out, and its double (0.54 s) is read first.
    assert _periods(_beats(2200, 60), 220.0)[0] == 60 / 220
    periods = _periods(_beats(2200, 59), 220.0)
    assert 59 / 220 not in periods
    assert periods[0] == 118 / 220


@pytest.mark.parametrize(("period", "read"), [(209, True), (210, False)])
def test_the_slowest_period_searched_is_5_percent_past_two_seconds(period: int, read: bool) -> None:
    # Lags up to 210 (1.05 * 2 s) are searched; a peak must lie inside, so 2.09 s is the last.
    env = _boxes(1000, period)
    assert (period / FS in _periods(env)) == read


@pytest.mark.parametrize(("period", "read"), [(179, True), (180, False)])
def test_a_period_is_searched_under_sixty_percent_of_the_recording(period: int, read: bool) -> None:
    # 300 samples: lags up to 180; a peak must lie inside, so 1.79 s is the last (2.09 s with
    # a longer recording).
    env = _boxes(300, period)
    assert (period / FS in _periods(env)) == read


def test_an_envelope_too_short_for_three_lags_gives_nothing() -> None:
    # 49 samples: lags up to int(29.4) = 29, no more than two past the shortest (27).
    assert estimate_cycles(_beats(49, 28)) == []
    # 50 samples: lags up to 30, and the one peak there is read.
    cycles = estimate_cycles(_beats(50, 28))
    assert len(cycles) == 1
    assert cycles[0].period_s == pytest.approx(0.28, abs=0.015)


def test_a_flat_envelope_gives_nothing() -> None:
    assert estimate_cycles(np.ones(1000)) == []


def test_alternatives_are_the_next_peaks_then_half_and_twice_none_within_20_percent() -> None:
    # S1 every 0.8 s, S2 0.3 s after: the three highest autocorrelation peaks are 0.8 and 1.6 s
    # (S1 on S1 and S2 on S2) and 0.3 s (S1 on S2; 0.5 s, S2 on the next S1, is a little lower).
    # Offered: 0.8 s, then 1.6 and 0.3 s, then half of 0.8 s (0.4 s, more than 20 % from
    # 0.3 s); twice (1.6 s) is there already.
    env = _beats(1000, 80, systole=30)
    cycles = estimate_cycles(env)
    assert [c.period_s for c in cycles] == [0.8, 1.6, 0.3, 0.4]
    ac = autocorrelation(np.minimum(env, quantile(env, 0.95)))
    for cycle in cycles:
        assert cycle.periodicity == ac[80]  # the best period's, for every candidate
        assert cycle.systole_s == _systole_lag(ac, round(cycle.period_s * FS), FS) / FS
    assert cycles[0].systole_s == 0.3


def test_twice_the_period_is_offered_up_to_the_longest_lag() -> None:
    # 300 samples, a beat every 0.9 s: lags up to 180 hold no peak at 1.8 s (the edge), but
    # twice the period is offered all the same.
    periods = _periods(_boxes(300, 90))
    assert periods[0] == 0.9
    assert 1.8 in periods


def test_half_the_period_is_offered_down_to_the_shortest_lag() -> None:
    # A beat every 0.55 s: half of it, 27 lags, is the shortest searched (220 /min).
    periods = _periods(_beats(1000, 55))
    assert periods[0] == 0.55
    assert 0.27 in periods


def test_half_and_twice_outside_the_search_are_not_offered() -> None:
    # A beat every 1.5 s: twice is 3 s, past 2.1 s. A beat every 0.4 s: half is 0.2 s, under
    # 60/220 s.
    assert 3.0 not in _periods(_boxes(1000, 150))
    assert 0.2 not in _periods(_beats(1000, 40))


def test_a_peak_within_20_percent_of_a_chosen_period_is_not_offered() -> None:
    # S2 0.15 s after S1, every 1 s: the peaks at 0.85 and 1.15 s (S2 on S1, S1 on S2) lie 15 %
    # from 1 s. Exactly 20 % away is too close too: 0.8 s when S2 comes 0.2 s after S1.
    for systole in (15, 20):
        periods = _periods(_beats(1000, 100, systole=systole))
        assert periods[0] == 1.0
        assert all(abs(p - 1.0) > 0.2 for p in periods[1:])


def test_periodicity_is_never_negative() -> None:
    rng = np.random.default_rng(5)
    for cycle in estimate_cycles(rng.random(1000)):
        assert 0.0 <= cycle.periodicity <= 1.0


# ---- autocorrelation: the biased sum of products, normalised at lag 0, in SciPy's fast length


def _direct(x: NDArray[np.float64]) -> NDArray[np.float64]:
    c = x - x.mean()
    sums = np.array([np.dot(c[: c.size - k], c[k:]) for k in range(c.size)])
    normalised: NDArray[np.float64] = sums / sums[0]
    return normalised


@pytest.mark.parametrize("n", [8, 9, 100])
def test_autocorrelation_is_the_biased_sum_of_products(n: int) -> None:
    # 8: 2n - 1 = 15 is itself a fast, odd length; 9: 2n - 2 = 16 would wrap lag 8 around.
    # A small amplitude: the sums at lag 0 are under 1, and are still divided by.
    x = 0.01 * np.random.default_rng(n).standard_normal(n)
    np.testing.assert_allclose(autocorrelation(x), _direct(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [8, 9, 11, 100])
def test_autocorrelation_transforms_at_scipys_fast_real_length(n: int) -> None:
    # The analysis's bits depend on the transform length: SciPy's fast length for real input
    # (for 11 samples 24, where a complex transform's would be 21 = 3 * 7).
    x = np.random.default_rng(n).standard_normal(n)
    c = x - x.mean()
    length = fft.next_fast_len(2 * n - 1, real=True)
    ac = np.fft.irfft(np.abs(np.fft.rfft(c, length)) ** 2, length)[:n]
    assert autocorrelation(x).tobytes() == (ac / ac[0]).tobytes()


def test_autocorrelation_of_a_constant_is_zero() -> None:
    assert not np.any(autocorrelation(np.full(50, 3.0)))


# ---- heart_envelope(s): one band or several, the same bits; smoothed in single precision


def _noise(seconds: float = 3.0) -> Spectrum:
    fs_hz = 4000.0
    return Spectrum(np.random.default_rng(21).standard_normal(round(seconds * fs_hz)), fs_hz)


def test_the_default_band_is_the_sound_band() -> None:
    spectrum = _noise()
    assert heart_envelope(spectrum).tobytes() == heart_envelope(spectrum, SOUND_BAND_HZ).tobytes()


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_bands_taken_together_are_each_band_alone_bit_for_bit(count: int) -> None:
    bands: Sequence[tuple[float, float]] = [(25.0 + 10 * i, 200.0 + 50 * i) for i in range(count)]
    spectrum = _noise()
    together = heart_envelopes(spectrum, tuple(bands))
    assert together.shape[0] == count
    for row, band_hz in zip(together, bands, strict=True):
        assert row.tobytes() == heart_envelope(_noise(), band_hz).tobytes()


def test_the_envelope_is_smoothed_in_single_precision() -> None:
    # The magnitude plus a floor of a millionth of its peak, its logarithm smoothed as float32,
    # then scaled so its 99th percentile is 1.
    spectrum = _noise()
    magnitude = spectrum.envelopes((SOUND_BAND_HZ,), ANALYTIC_RATE_HZ)[0]
    floor = np.float32(max(float(np.max(magnitude)) * 1e-6, 1e-12))
    logged = np.log(magnitude + floor)
    assert logged.dtype == np.float32
    smoothed = smooth_resampled(logged, ANALYTIC_RATE_HZ, 20.0, ENVELOPE_RATE_HZ)
    expected = np.exp(spectrum.unpad(smoothed, ENVELOPE_RATE_HZ)).astype(np.float64)
    expected /= quantile(expected, 0.99)
    assert heart_envelope(spectrum).tobytes() == expected.tobytes()


def test_a_silent_band_keeps_a_finite_envelope() -> None:
    # No energy at all: the floor (1e-12) keeps the logarithm finite, and a zero scale is not
    # divided by.
    spectrum = Spectrum(np.zeros(12_000), 4000.0)
    env = heart_envelope(spectrum)
    assert np.all(np.isfinite(env))
