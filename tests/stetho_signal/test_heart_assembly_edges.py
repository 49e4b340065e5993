"""The heart analysis put together, rule by rule, on inputs made by hand or short synthetic hearts.

``analyze_heart`` joins the parts (cycle estimate, segmentation, half-rate guard, murmur, snap,
fast-read measures) into the ``HeartResult`` the triage reads: a rate, a note saying why a value
is missing, the measure each flag compares with its bound. The parts have their own tests; here
each joint is pinned: which part's value lands in which field and how it is rounded, each gate
(no cycle, sounds as wide as breaths, no repeating heartbeat) hit on both sides of its bound,
and the helpers (half-height width, prominence, beat intervals, rate, rhythm) on envelopes and
intervals written by hand. Where a gate's input cannot be made exact through the whole chain,
the part that computes it is replaced by one returning the bound (``monkeypatch``); the rest of
the chain runs for real. A synthetic heart of 8 s analyses in under 10 ms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from stetho_signal import heart
from stetho_signal._fast_read import beat_span_share, envelope_repeat
from stetho_signal._murmur import MURMUR_BAND_HZ
from stetho_signal._notes import Note
from stetho_signal._snap import SnapMeasure
from stetho_signal._sound_band import high_band_share
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import (
    ENVELOPE_RATE_HZ,
    HEART_RATE_HZ,
    MAX_RATE_BPM,
    MIN_RATE_BPM,
    SOUND_BAND_HZ,
    CycleEstimate,
    estimate_cycles,
    heart_envelope,
    heart_envelopes,
)
from stetho_signal.filters import HEART_BAND_HZ
from stetho_signal.heart import (
    HeartResult,
    _beat_intervals,
    _half_width_s,
    _no_heartbeat,
    _nrmssd,
    _prominence,
    _rate_bpm,
    _rounded_ms,
    _shown_at_or_above,
    _shown_at_or_below,
    analyze_heart,
    normalised_rmssd,
)
from stetho_signal.segmentation import PITCH_BAND_HZ, HeartSounds
from stetho_sim.sounds import FS_HZ, burst, pcg

NO_CYCLE = "clip too short or too irregular to find a repeating heartbeat"
NO_HEARTBEAT = "heart rate needs a repeating heartbeat; none found in this clip"
TOO_FEW_BEATS = "heart rate needs at least two beats; the clip holds fewer"
ONE_S = np.zeros(round(ENVELOPE_RATE_HZ))  # a one-second envelope
TOO_FEW_FOR_RHYTHM = "rhythm needs at least five consecutive beats; the clip holds fewer"


class _Spy:
    """Wraps a name ``heart`` calls: the real function runs, each call's arguments and result
    are kept."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any], Any]] = []
        real: Callable[..., Any] = getattr(heart, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            self.calls.append((args, kwargs, result))
            return result

        monkeypatch.setattr(heart, name, wrapper)

    @property
    def result(self) -> Any:
        assert len(self.calls) == 1
        return self.calls[0][2]

    @property
    def args(self) -> tuple[Any, ...]:
        assert len(self.calls) == 1
        return self.calls[0][0]


def _code(note: str) -> tuple[str, float | None]:
    """A note's code and the number it states."""
    assert isinstance(note, Note)
    return note.code, note.value


def _heart(
    rate: float, seconds: float = 8.0, **kwargs: Any
) -> tuple[Spectrum, NDArray[np.float64]]:
    x, _, _ = pcg(rate, seconds, **kwargs)
    return Spectrum(x, FS_HZ), x


def _sounds(s1: list[float], s2: list[float] | None = None) -> HeartSounds:
    return HeartSounds(np.array(s1, dtype=np.float64), np.array(s2 or [], dtype=np.float64))


def _cycle(period_s: float = 1.0, periodicity: float = 0.5) -> CycleEstimate:
    return CycleEstimate(period_s=period_s, systole_s=0.3 * period_s, periodicity=periodicity)


def _repeating(period_s: float, seconds: float) -> NDArray[np.float64]:
    """An envelope of 50 ms pulses every ``period_s`` (periodicity there 0.45-0.5 here)."""
    t = np.arange(round(seconds * ENVELOPE_RATE_HZ)) / ENVELOPE_RATE_HZ
    return np.where(np.mod(t, period_s) < 0.05, 1.0, 0.05)


# ---- the gates: no cycle, sounds as wide as breaths, no repeating heartbeat


def test_a_silent_clip_has_no_cycle_and_nothing_measured() -> None:
    result = analyze_heart(Spectrum(np.zeros(8000), FS_HZ))
    assert result == HeartResult(
        None, (), (), None, None, None, 0.0, 0.0, (NO_CYCLE,), heartbeat_found=False,
        clip_s=8000 / FS_HZ,
    )  # fmt: skip
    assert _code(result.notes[0]) == ("no_cycle", None)


def test_no_heartbeat_keeps_what_was_measured_and_finds_no_heart() -> None:
    result = _no_heartbeat("why", 4.5, 0.25, 3.5, 0.2)
    assert result == HeartResult(
        rate_bpm=None, s1_s=(), s2_s=(), rr_nrmssd=None, murmur_contrast=None,
        murmur_phase=None, periodicity=0.25, sound_prominence=3.5, notes=("why",),
        sound_half_width_s=0.2, heartbeat_found=False, clip_s=4.5,
    )  # fmt: skip
    assert _no_heartbeat("why", 2.0) == HeartResult(
        None, (), (), None, None, None, 0.0, 0.0, ("why",), None, heartbeat_found=False,
        clip_s=2.0,
    )  # fmt: skip


@pytest.mark.parametrize("width", [0.15, 0.6])
def test_sounds_150_ms_wide_or_more_are_breaths_not_a_heart(
    monkeypatch: pytest.MonkeyPatch, width: float
) -> None:
    spectrum, _ = _heart(70.0)
    cycles = _Spy(monkeypatch, "estimate_cycles")
    prominence = _Spy(monkeypatch, "_prominence")
    monkeypatch.setattr(heart, "_half_width_s", lambda env, sounds: width)
    result = analyze_heart(spectrum)
    ms = round(1000 * width)
    assert result == _no_heartbeat(
        result.notes[0], 8.0, cycles.result[0].periodicity, prominence.result, width
    )
    assert result.notes == (
        f"heart rate needs heart sounds; the sounds found last {ms} ms at half height, far "
        "longer than heart sounds: breath sounds or noise, no heartbeat",
    )
    assert _code(result.notes[0]) == ("no_heart_sounds", ms)
    assert result.periodicity > 0.5 and result.sound_prominence > 50.0


def test_sounds_just_under_150_ms_wide_are_a_heart(monkeypatch: pytest.MonkeyPatch) -> None:
    spectrum, _ = _heart(70.0)
    monkeypatch.setattr(heart, "_half_width_s", lambda env, sounds: 0.1499)
    result = analyze_heart(spectrum)
    assert result.heartbeat_found and result.rate_bpm == 70.0
    assert result.sound_half_width_s == 0.1499
    assert result.notes == ()


def _with(monkeypatch: pytest.MonkeyPatch, periodicity: float, prominence: float) -> HeartResult:
    """A 70 /min heart analysed as if its cycle repeated at ``periodicity`` and its sounds
    stood ``prominence`` over the background."""
    real = estimate_cycles

    def cycles(env: NDArray[np.float64], fs_hz: float) -> list[CycleEstimate]:
        return [dataclasses.replace(c, periodicity=periodicity) for c in real(env, fs_hz)]

    monkeypatch.setattr(heart, "estimate_cycles", cycles)
    monkeypatch.setattr(heart, "_prominence", lambda env, sounds: prominence)
    return analyze_heart(_heart(70.0)[0])


@pytest.mark.parametrize(
    ("periodicity", "prominence", "found"),
    [
        (0.1, 1.0, True),  # the autocorrelation alone, at its bound
        (0.0999, 2.4999, False),
        (0.0999, 2.5, True),  # prominent sounds, at their bound, over any repeat
        (1e-9, 2.5, True),
        (0.05, 2.4999, False),
        (0.0, 100.0, False),  # an envelope that does not repeat at all
        (-0.1, 100.0, False),
    ],
)
def test_a_heartbeat_repeats_clearly_or_repeats_with_prominent_sounds(
    monkeypatch: pytest.MonkeyPatch, periodicity: float, prominence: float, found: bool
) -> None:
    result = _with(monkeypatch, periodicity, prominence)
    assert result.periodicity == periodicity and result.sound_prominence == prominence
    assert result.heartbeat_found is found
    assert result.sound_half_width_s == 0.04
    if found:
        assert result.rate_bpm == 70.0 and result.notes == ()
    else:
        assert result == _no_heartbeat(result.notes[0], 8.0, periodicity, prominence, 0.04)
        assert result.notes == (NO_HEARTBEAT,)
        assert _code(result.notes[0]) == ("no_heartbeat", None)


# ---- what each field carries


def test_each_field_carries_its_part_s_measure_rounded_as_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spectrum, x = _heart(80.0, jitter=0.3, seed=4)
    spies = {
        name: _Spy(monkeypatch, name)
        for name in (
            "estimate_cycles", "phase_medians", "level_ratio", "_prominence", "_half_width_s",
            "_beat_intervals", "_rate_bpm", "_nrmssd", "murmur_contrast", "snap_after_s2",
            "_urgent_band_measures", "beat_measures",
        )
    }  # fmt: skip
    result = analyze_heart(spectrum, 60.0, 70.0, recording=x)
    sounds: HeartSounds = spies["phase_medians"].args[0]
    systole, diastole = spies["phase_medians"].result
    contrast, phase = spies["murmur_contrast"].result
    snap = spies["snap_after_s2"].result
    assert result == HeartResult(
        rate_bpm=spies["_rate_bpm"].result,
        s1_s=tuple(round(t, 3) for t in sounds.s1_s.tolist()),
        s2_s=tuple(round(t, 3) for t in sounds.s2_s.tolist()),
        rr_nrmssd=spies["_nrmssd"].result,
        murmur_contrast=contrast,
        murmur_phase=phase,
        periodicity=spies["estimate_cycles"].result[0].periodicity,
        sound_prominence=spies["_prominence"].result,
        notes=(),
        sound_half_width_s=spies["_half_width_s"].result,
        heartbeat_found=True,
        beat_intervals=spies["_beat_intervals"].result.size,
        snap_fraction=snap.fraction,
        snap_delay_s=snap.delay_s,
        systole_s=round(systole, 3),
        diastole_s=round(diastole, 3),
        s1_s2_level_ratio=round(spies["level_ratio"].result, 3),
        diastole_follows_cycle=None,
        sound_high_band_share=spies["_urgent_band_measures"].result[0],
        envelope_repeat=spies["_urgent_band_measures"].result[1],
        beat_span_share=spies["_urgent_band_measures"].result[2],
        beat_step=spies["beat_measures"].result[0],
        clip_s=spies["estimate_cycles"].args[0].size / ENVELOPE_RATE_HZ,
        beat_prominence=spies["beat_measures"].result[1],
    )
    # The values are not already round: dropping a rounding would show.
    assert systole != round(systole, 3) or diastole != round(diastole, 3)
    assert spies["level_ratio"].result != result.s1_s2_level_ratio
    # Each measure is there to be read: none of them is None on this heart.
    assert None not in (result.rr_nrmssd, contrast, result.sound_high_band_share)
    assert None not in (result.envelope_repeat, result.beat_span_share, result.beat_step)
    assert result.beat_prominence is not None
    assert result.rate_bpm == 75.0 and result.beat_intervals == 9
    assert isinstance(result.beat_intervals, int)
    # The beat step and prominence read the recording at its own rate, at the sounds as
    # reported.
    assert spies["beat_measures"].args == (x, FS_HZ, result.s1_s, result.s2_s)


def test_the_parts_read_the_sound_band_envelope_at_its_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spectrum, _ = _heart(70.0)
    env = heart_envelope(spectrum)
    cycles = _Spy(monkeypatch, "estimate_cycles")
    prominence = _Spy(monkeypatch, "_prominence")
    width = _Spy(monkeypatch, "_half_width_s")
    ratio = _Spy(monkeypatch, "level_ratio")
    rate = _Spy(monkeypatch, "_rate_bpm")
    analyze_heart(spectrum)
    assert np.array_equal(cycles.args[0], env) and cycles.args[1] == ENVELOPE_RATE_HZ
    for spy in (prominence, width, ratio):
        assert np.array_equal(spy.args[0], env)
    assert np.array_equal(rate.args[2], env) and env.size / ENVELOPE_RATE_HZ == 8.0


def test_a_band_given_is_the_band_the_sounds_are_read_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spectrum, _ = _heart(70.0)
    cands = _Spy(monkeypatch, "sound_candidates")
    band = spectrum.band(HEART_BAND_HZ, HEART_RATE_HZ)
    given = analyze_heart(spectrum, band=band)
    assert cands.args[3][0] is band and cands.args[3][1] == HEART_RATE_HZ
    cands.calls.clear()
    cut = analyze_heart(spectrum)
    assert np.array_equal(cands.args[3][0], band) and cands.args[3][1] == HEART_RATE_HZ
    assert given == cut


def test_no_murmur_measure_no_phases_no_ratio_leave_their_fields_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heart, "murmur_contrast", lambda env, sounds, notes: None)
    monkeypatch.setattr(heart, "snap_after_s2", lambda *args: None)
    monkeypatch.setattr(heart, "phase_medians", lambda sounds: None)
    monkeypatch.setattr(heart, "level_ratio", lambda env, sounds: None)
    result = analyze_heart(_heart(70.0)[0])
    assert result.rate_bpm == 70.0
    assert (result.murmur_contrast, result.murmur_phase) == (None, None)
    assert (result.snap_fraction, result.snap_delay_s) == (None, None)
    assert (result.systole_s, result.diastole_s) == (None, None)
    assert result.s1_s2_level_ratio is None and result.diastole_follows_cycle is None


def test_a_clip_too_short_for_a_rate_reports_no_beat_intervals() -> None:
    # Two S1s 1.33 s apart in 2.5 s: one interval, and the clip is under two periods.
    result = analyze_heart(_heart(45.0, 2.5)[0])
    assert result.heartbeat_found and result.rate_bpm is None
    assert result.beat_intervals == 0
    assert result.notes == (TOO_FEW_BEATS, TOO_FEW_FOR_RHYTHM)


@pytest.mark.parametrize(("phases", "called"), [((0.3, 0.3), True), ((0.3, 0.7), False)])
def test_which_phase_follows_the_cycle_is_read_only_with_even_phases(
    monkeypatch: pytest.MonkeyPatch, phases: tuple[float, float], called: bool
) -> None:
    monkeypatch.setattr(heart, "phase_medians", lambda sounds: phases)
    follows = _Spy(monkeypatch, "diastole_follows_cycle")
    result = analyze_heart(_heart(80.0, jitter=0.3, seed=4)[0])
    assert (result.systole_s, result.diastole_s) == phases
    assert len(follows.calls) == called
    assert result.diastole_follows_cycle == (follows.result if called else None)
    if called:
        assert follows.result is not None  # this heart's beats tell


def test_the_phases_are_not_read_without_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heart, "phase_medians", lambda sounds: None)
    follows = _Spy(monkeypatch, "diastole_follows_cycle")
    assert analyze_heart(_heart(80.0, jitter=0.3, seed=4)[0]).diastole_follows_cycle is None
    assert follows.calls == []


def test_one_cycle_estimate_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    real = estimate_cycles
    monkeypatch.setattr(heart, "estimate_cycles", lambda env, fs_hz: real(env, fs_hz)[:1])
    result = analyze_heart(_heart(70.0)[0])
    assert result.rate_bpm == 70.0 and result.periodicity == pytest.approx(0.8694, abs=1e-4)
    monkeypatch.setattr(heart, "_half_width_s", lambda env, sounds: 0.2)
    assert analyze_heart(_heart(70.0)[0]).periodicity == pytest.approx(0.8694, abs=1e-4)


def test_the_sounds_are_found_with_the_pitch_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    spectrum, _ = _heart(70.0)
    cands = _Spy(monkeypatch, "sound_candidates")
    analyze_heart(spectrum)
    pitch = heart_envelopes(spectrum, (SOUND_BAND_HZ, PITCH_BAND_HZ, MURMUR_BAND_HZ))[1]
    assert np.array_equal(cands.args[2], pitch)


def test_a_murmur_measure_missing_says_why() -> None:
    # 3 s at 30 /min: sounds too few for a whole cycle (and no rate read since s46-acfperiod).
    result = analyze_heart(_heart(30.0, 3.0)[0])
    assert result.murmur_contrast is None
    assert "murmur hint needs a whole cycle (S1, S2 and the next S1)" in result.notes


def test_a_snap_s_share_and_delay_are_carried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heart, "snap_after_s2", lambda *args: SnapMeasure(0.5, 0.08, 8))
    result = analyze_heart(_heart(70.0)[0])
    assert (result.snap_fraction, result.snap_delay_s) == (0.5, 0.08)


def test_phases_and_level_ratio_are_shown_to_the_thousandth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heart, "phase_medians", lambda sounds: (0.33349, 0.45651))
    monkeypatch.setattr(heart, "level_ratio", lambda env, sounds: 1.23449)
    result = analyze_heart(_heart(70.0)[0])
    assert (result.systole_s, result.diastole_s) == (0.333, 0.457)
    assert result.s1_s2_level_ratio == 1.234


def _faint_s2_heart(rate: float) -> NDArray[np.float64]:
    """Systole as long as diastole and a faint, high-pitched S2: the chain search keeps one
    sound per beat, the half-rate guard reads it at twice its rate (test_fast_orientation)."""
    rng = np.random.default_rng(0)
    period, n = 60.0 / rate, int(12.0 * FS_HZ)
    x = 0.01 * rng.standard_normal(n)
    for t in np.arange(0.2, 11.5, period):
        x += 0.5 * burst(n, t, 45.0, 0.02, FS_HZ)
        x += 0.15 * burst(n, t + period / 2.0, 110.0, 0.012, FS_HZ)
    return x


def test_a_chain_read_at_half_rate_is_searched_again_doubled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spectrum = Spectrum(_faint_s2_heart(170.0), FS_HZ)
    guard = _Spy(monkeypatch, "guard_half_rate")
    cands = _Spy(monkeypatch, "sound_candidates")
    doubled = _Spy(monkeypatch, "segment_doubled")
    phases = _Spy(monkeypatch, "phase_medians")
    result = analyze_heart(spectrum)
    guarded, faster = guard.result
    env = heart_envelope(spectrum)
    args = doubled.args
    assert np.array_equal(args[0], env) and args[1:] == (
        ENVELOPE_RATE_HZ, cands.result, guarded, faster
    )  # fmt: skip
    again = doubled.result
    assert again is not None
    # The sounds read are the doubled search's, not the guard's.
    assert phases.args[0] is again[0]
    assert again[0].s1_s.size != guarded.s1_s.size  # the two searches differ here
    assert result.s1_s == _rounded_ms(again[0].s1_s)
    assert result.rate_bpm is not None and abs(result.rate_bpm - 170.0) <= 5.0


def test_a_chain_not_read_faster_is_not_searched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    doubled = _Spy(monkeypatch, "segment_doubled")
    guard = _Spy(monkeypatch, "guard_half_rate")
    phases = _Spy(monkeypatch, "phase_medians")
    analyze_heart(_heart(70.0)[0])
    assert doubled.calls == []
    assert phases.args[0] is guard.result[0]


# ---- the urgent bounds: which measures are made at which rate


def _urgent(
    monkeypatch: pytest.MonkeyPatch, low: float | None, high: float | None, **kwargs: Any
) -> tuple[HeartResult, _Spy, NDArray[np.float64]]:
    spectrum, x = _heart(80.0, jitter=0.3, seed=4)  # read at 75.0 /min
    spy = _Spy(monkeypatch, "_urgent_band_measures")
    return analyze_heart(spectrum, low, high, recording=x, **kwargs), spy, x


@pytest.mark.parametrize(("low", "high"), [(None, None), (74.0, None), (None, 76.0), (74.0, 76.0)])
def test_no_urgent_measure_at_a_rate_inside_the_bounds(
    monkeypatch: pytest.MonkeyPatch, low: float | None, high: float | None
) -> None:
    result, _, _ = _urgent(monkeypatch, low, high)
    assert result.rate_bpm == 75.0
    assert (result.sound_high_band_share, result.envelope_repeat) == (None, None)
    assert (result.beat_span_share, result.beat_step, result.beat_prominence) == (None,) * 3


def test_at_the_low_bound_only_the_high_band_share(monkeypatch: pytest.MonkeyPatch) -> None:
    result, spy, _ = _urgent(monkeypatch, 75.0, None)
    spectrum, _, sounds, _, rate, bounds = spy.args
    assert rate == 75.0 and bounds == (75.0, None)
    share = high_band_share(spectrum, np.concatenate([sounds.s1_s, sounds.s2_s]))
    assert share is not None
    assert result.sound_high_band_share == share
    assert (result.envelope_repeat, result.beat_span_share, result.beat_step) == (None,) * 3


def test_at_the_high_bound_all_four(monkeypatch: pytest.MonkeyPatch) -> None:
    result, spy, _ = _urgent(monkeypatch, None, 75.0)
    spectrum, env, sounds, intervals, _, _ = spy.args
    assert result.sound_high_band_share == high_band_share(
        spectrum, np.concatenate([sounds.s1_s, sounds.s2_s])
    )
    assert result.envelope_repeat == envelope_repeat(env, ENVELOPE_RATE_HZ, 0.8)
    assert result.beat_span_share == beat_span_share(intervals, 8.0)
    assert None not in (result.envelope_repeat, result.beat_span_share, result.beat_step)


def test_the_beat_step_needs_the_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    spectrum, _ = _heart(80.0, jitter=0.3, seed=4)
    result = analyze_heart(spectrum, None, 75.0)
    assert result.envelope_repeat is not None and result.beat_step is None
    assert result.beat_prominence is None


def test_the_urgent_measures_need_a_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    spectrum, x = _heart(45.0, 2.5)
    spy = _Spy(monkeypatch, "_urgent_band_measures")
    result = analyze_heart(spectrum, 1e9, -1e9, recording=x)
    assert spy.result == (None, None, None)
    assert result.rate_bpm is None and result.beat_step is None


def test_the_fast_measures_use_the_period_of_the_rate_read() -> None:
    spectrum, _ = _heart(120.0, 4.0)
    env = heart_envelope(spectrum)
    sounds = _sounds([0.2, 0.7, 1.2])
    intervals = np.array([0.5, 0.5])
    share, repeat, span = heart._urgent_band_measures(
        spectrum, env, sounds, intervals, 120.0, (None, 120.0)
    )
    assert share == high_band_share(spectrum, sounds.s1_s)
    assert repeat == envelope_repeat(env, ENVELOPE_RATE_HZ, 0.5)
    assert span == beat_span_share(intervals, 4.0) == 0.25
    slow = heart._urgent_band_measures(spectrum, env, sounds, intervals, 120.0, (120.0, 121.0))
    assert slow == (share, None, None)
    unread = heart._urgent_band_measures(spectrum, env, sounds, intervals, None, (1e9, -1e9))
    assert unread == (None, None, None)


@pytest.mark.parametrize(
    ("rate", "bound", "below", "above"),
    [
        (75.0, 75.0, True, True),
        (75.4, 75.0, True, True),  # shown as 75
        (74.6, 75.0, True, True),
        (75.6, 75.0, False, True),  # shown as 76
        (74.4, 75.0, True, False),  # shown as 74
        (None, 75.0, False, False),
        (75.0, None, False, False),
    ],
)
def test_a_rate_is_compared_with_a_bound_as_shown(
    rate: float | None, bound: float | None, below: bool, above: bool
) -> None:
    assert _shown_at_or_below(rate, bound) is below
    assert _shown_at_or_above(rate, bound) is above


def test_times_are_rounded_to_the_millisecond() -> None:
    assert _rounded_ms(np.array([0.1234, 1.0006, 2.0])) == (0.123, 1.001, 2.0)
    assert _rounded_ms(np.array([0.12345, 1.00061])) == (0.123, 1.001)
    assert _rounded_ms(np.array([0.12345, 1.00061, 2.5, 3.33333])) == (0.123, 1.001, 2.5, 3.333)
    assert _rounded_ms(np.zeros(0)) == ()


# ---- the half-height width, on envelopes made by hand


def _box(n: int, at: int, half: int, level: float = 1.0) -> NDArray[np.float64]:
    env = np.zeros(n)
    env[at - half : at + half + 1] = level
    return env


def test_width_is_the_span_over_half_the_peak_in_seconds() -> None:
    env = _box(400, 200, 5)  # 11 samples
    assert _half_width_s(env, _sounds([2.0])) == 0.11
    assert _half_width_s(env, _sounds([], [2.0])) == 0.11  # an S2 counts as an S1
    assert _half_width_s(env, _sounds([])) is None


def test_width_is_the_median_over_the_sounds() -> None:
    env = _box(1000, 100, 5) + _box(1000, 400, 10) + _box(1000, 700, 15)
    assert _half_width_s(env, _sounds([1.0, 7.0], [4.0])) == 0.21
    assert _half_width_s(env, _sounds([1.0, 4.0])) == 0.16  # the middle of an even count


def test_a_sample_at_exactly_half_the_peak_is_inside() -> None:
    env = _box(400, 200, 5)
    env[194] = env[206] = 0.5
    assert _half_width_s(env, _sounds([2.0])) == 0.13
    env[194] = env[206] = np.nextafter(0.5, 0.0)
    assert _half_width_s(env, _sounds([2.0])) == 0.11


def test_the_peak_is_sought_within_50_ms_of_the_centre() -> None:
    env = _box(400, 200, 10)  # 21 samples at 1
    env[205] = 4.0  # within 50 ms: the peak, and only it stands over half of it
    assert _half_width_s(env, _sounds([2.0])) == 0.01
    env[205], env[206] = 1.0, 4.0  # 60 ms off: the box's own level is the peak
    assert _half_width_s(env, _sounds([2.0])) == 0.21
    env[206], env[195] = 1.0, 4.0
    assert _half_width_s(env, _sounds([2.0])) == 0.01
    env[195], env[194] = 1.0, 4.0
    assert _half_width_s(env, _sounds([2.0])) == 0.21


def test_a_span_is_counted_up_to_half_a_second_each_side() -> None:
    assert _half_width_s(np.ones(400), _sounds([2.0])) == 1.01
    assert _half_width_s(_box(400, 200, 49), _sounds([2.0])) == 0.99
    assert _half_width_s(_box(400, 200, 50), _sounds([2.0])) == 1.01
    assert _half_width_s(_box(400, 200, 51), _sounds([2.0])) == 1.01
    env = _box(400, 200, 60)
    env[150] = 0.0  # a sample below half, 50 samples before the centre: within reach
    assert _half_width_s(env, _sounds([2.0])) == 1.0
    env[150], env[149] = 1.0, 0.0  # 51 samples before: out of reach
    assert _half_width_s(env, _sounds([2.0])) == 1.01
    env[149], env[250] = 1.0, 0.0  # 50 samples after
    assert _half_width_s(env, _sounds([2.0])) == 1.0


def test_the_recording_s_ends_bound_a_span() -> None:
    env = _box(100, 3, 3)  # samples 0..6 over half
    assert _half_width_s(env, _sounds([0.03])) == 0.07
    assert _half_width_s(env, _sounds([-0.5])) == 0.07  # a centre before the start: sample 0
    env = _box(100, 96, 3)  # samples 93..99
    assert _half_width_s(env, _sounds([0.96])) == 0.07
    assert _half_width_s(env, _sounds([5.0])) == 0.07  # past the end: the last sample
    assert _half_width_s(np.ones(30), _sounds([0.15])) == 0.3


def test_a_centre_outside_the_recording_is_its_first_or_last_sample() -> None:
    # Four samples at 1 at one end, a peak of 4 six samples in: from the end sample the peak
    # search (+-5 samples) stops short of it; from the next sample in, it would reach it.
    env = np.zeros(100)
    env[:4], env[6] = 1.0, 4.0
    assert _half_width_s(env, _sounds([-0.5])) == 0.04
    assert _half_width_s(env, _sounds([0.01])) == 0.01
    env = env[::-1].copy()
    assert _half_width_s(env, _sounds([5.0])) == 0.04
    assert _half_width_s(env, _sounds([0.98])) == 0.01


# ---- prominence, beat intervals, rate and rhythm


def test_prominence_is_the_sounds_median_level_over_the_envelope_s() -> None:
    env = np.ones(300)
    env[[50, 150, 250]] = [6.0, 4.0, 10.0]
    assert _prominence(env, _sounds([0.5, 2.5], [1.5])) == 6.0
    assert _prominence(env, _sounds([0.5, 1.5])) == 5.0  # even count: the middle two
    env[150] = 10.0 / 3.0
    assert _prominence(env, _sounds([1.5])) == 3.333


def test_prominence_is_zero_without_sounds_or_background() -> None:
    env = np.ones(300)
    assert _prominence(env, _sounds([])) == 0.0
    env[:151] = 0.0  # the median is 0
    env[200] = 5.0
    assert _prominence(env, _sounds([2.0])) == 0.0
    env[150] = 1.0  # 150 zeros and 150 ones: the median is 0.5
    assert _prominence(env, _sounds([2.0])) == 10.0


def test_beat_intervals_are_s1_to_s1_within_half_and_1_6_periods() -> None:
    cycle = _cycle(1.0)
    s1 = [0.0, 1.0, 1.5, 3.1]  # 1, 0.5, 1.6: each bound kept
    assert _beat_intervals(_sounds(s1), cycle).tolist() == [1.0, 0.5, 1.6]
    s1 = [0.0, 1.0, np.nextafter(1.5, 1.0), 3.1]  # just under 0.5 and just over 1.6
    kept = _beat_intervals(_sounds(s1), cycle)
    assert kept.tolist() == [1.0]
    assert _beat_intervals(_sounds([0.0, 2.0]), _cycle(1.25)).tolist() == [2.0]
    assert _beat_intervals(_sounds([0.0, 2.0]), _cycle(1.2)).size == 0


def test_beat_intervals_need_two_beats() -> None:
    assert _beat_intervals(_sounds([1.0]), _cycle()).size == 0
    assert _beat_intervals(_sounds([1.0, 2.0]), _cycle()).tolist() == [1.0]


def test_s2s_give_the_beats_when_found_in_more_than_the_chain_s_ends() -> None:
    cycle = _cycle(1.0)
    s2 = [0.25, 1.25, 2.25, 3.25]
    # Two more S2s than S1s: the S2s. One more (an S2 at each end): the S1s.
    assert _beat_intervals(_sounds([0.0, 2.0], s2), cycle).tolist() == [1.0, 1.0, 1.0]
    assert _beat_intervals(_sounds([0.0, 1.0, 2.0], s2), cycle).tolist() == [1.0, 1.0]
    assert _beat_intervals(_sounds([0.0], [0.3, 1.3]), cycle).tolist() == []


def test_rate_is_the_median_interval_from_two_intervals_on() -> None:
    notes: list[str] = []
    assert _rate_bpm(np.array([0.75, 0.8, 1.0]), _cycle(2.0, 0.0), ONE_S, notes) == 75.0
    assert _rate_bpm(np.array([0.8, 0.9]), _cycle(2.0, 0.0), ONE_S, notes) == 70.6
    assert notes == []


def test_from_the_cycle_alone_the_clip_holds_two_periods_of_a_clear_repeat() -> None:
    notes: list[str] = []
    one = np.array([0.5])
    assert _rate_bpm(one, _cycle(0.8, 0.2), _repeating(0.8, 1.6), notes) == 75.0
    assert _rate_bpm(np.zeros(0), _cycle(0.7, 0.9), _repeating(0.7, 1.4), notes) == 85.7
    assert notes == []
    assert _rate_bpm(one, _cycle(0.8, 0.2), _repeating(0.8, 1.59), notes) is None
    assert _rate_bpm(one, _cycle(0.8, np.nextafter(0.2, 0.0)), _repeating(0.8, 1.6), notes) is None
    assert notes == [TOO_FEW_BEATS, TOO_FEW_BEATS]
    assert _code(notes[0]) == ("too_few_beats", None)


def _period_for(rate: float) -> float:
    """A period whose rate, 60 / period, is ``rate`` exactly."""
    period = 60.0 / rate
    for _ in range(4):
        if 60.0 / period == rate:
            return period
        period = np.nextafter(period, 0.0 if 60.0 / period < rate else 1.0)
    raise AssertionError(rate)


@pytest.mark.parametrize(
    "bound", [MIN_RATE_BPM * (1 - 0.1), MAX_RATE_BPM * (1 + 0.1)], ids=["27", "242"]
)
def test_a_rate_just_past_the_searched_range_is_still_measured(bound: float) -> None:
    notes: list[str] = []
    period = _period_for(bound)
    assert _rate_bpm(np.array([period, period]), _cycle(), ONE_S, notes) == round(bound, 1)
    assert notes == []


@pytest.mark.parametrize(("rate", "shown"), [(26.9, 27), (242.3, 242)])
def test_a_rate_further_out_is_none_with_its_value(rate: float, shown: int) -> None:
    notes: list[str] = []
    period = 60.0 / rate
    assert _rate_bpm(np.array([period, period]), _cycle(), ONE_S, notes) is None
    assert notes == [f"heart rate {shown} bpm is outside the measurable 30-220 bpm"]
    assert _code(notes[0]) == ("heart_rate_out_of_range", shown)


def test_the_range_s_margin_is_a_tenth_each_side() -> None:
    assert (MIN_RATE_BPM, MAX_RATE_BPM) == (30.0, 220.0)
    low, high = _period_for(27.0), _period_for(242.00000000000003)
    for period in (np.nextafter(low, 10.0), np.nextafter(high, 0.0)):  # just slower, faster
        notes: list[str] = []
        assert _rate_bpm(np.array([period, period]), _cycle(), ONE_S, notes) is None
        assert len(notes) == 1


def test_rhythm_needs_four_intervals() -> None:
    notes: list[str] = []
    four = np.array([1.0, 1.5, 1.0, 1.5])
    assert _nrmssd(four, notes) == normalised_rmssd(four) == 0.4
    assert notes == []
    assert _nrmssd(four[:3], notes) is None
    assert notes == [TOO_FEW_FOR_RHYTHM]
    assert _code(notes[0]) == ("too_few_beats_for_rhythm", None)


def test_normalised_rmssd_is_the_rms_of_successive_differences_over_the_mean() -> None:
    # Differences 1 and 2: RMS sqrt(2.5) = 1.5811; mean 7/3: 0.67763 to four places.
    assert normalised_rmssd(np.array([1.0, 2.0, 4.0])) == 0.6776
    assert normalised_rmssd(np.array([0.8, 0.8, 0.8])) == 0.0
    # Signs do not cancel: +0.2 and -0.2 are an RMS of 0.2 over a mean of 0.8667.
    assert normalised_rmssd(np.array([0.8, 1.0, 0.8])) == 0.2308
