"""Half-rate guard: a chain of evenly spaced sounds read as S1, S2, S1, S2 at half the rate.

When S2 is faint (a soft S2 under a systolic murmur, a site where S1 dominates) the sounds
heard are the S1s alone, evenly spaced. Labelled alternately S1 and S2 they make a cycle of
twice the true period whose "systole" equals its "diastole": a fast heart read as a normal one,
the most dangerous error (issue 17: a child at 130/min read as 65/min). Physiology tells the
two readings apart: at the slow rate such a "systole" is far longer than the electromechanical
systole of that rate (Weissler), while at twice the rate the same sounds make a regular beat.

What the guard cannot settle it leaves to the triage: evenly spaced, alike sounds whose
"systole" is as long as a heart's at the read rate may be one sound per beat of a heart twice
as fast (:func:`systole_if_half_rate`); the rules then ask for a review instead of calling the
read normal.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stetho_signal._chain_judge import s1_phase_follows_cycle
from stetho_signal._chains import S1, S2
from stetho_signal._murmur import levels_at
from stetho_signal._rhythm import MIN_INTERVALS_FOR_RHYTHM, nrmssd
from stetho_signal._stats import median
from stetho_signal.envelope import (
    ENVELOPE_RATE_HZ,
    MAX_RATE_BPM,
    CycleEstimate,
    expected_systole_s,
)
from stetho_signal.segmentation import HeartSounds
from stetho_signal.triage import TriageThresholds

__all__ = [
    "diastole_follows_cycle", "evenly_spaced", "guard_half_rate", "level_ratio",
    "phase_medians", "systole_if_half_rate",
]  # fmt: skip

# |systole - diastole| over the cycle, at most: sounds evenly spaced. A real cycle under
# 110/min has its diastole longer than its systole by a quarter of the cycle or more.
EVEN_SPACING = 0.1
# The chain's systole over Weissler's expected systole for its period, at least. Correct reads
# of all shared CirCor recordings stay at 0.83-1.06 (the regression's spread is a few tens of
# ms); their half-rate reads stood at 1.32-1.74, a synthetic 150/min one at 1.18. Above about
# 170/min the half-rate chain's systole is within 10 % of a normal one: not caught here.
_LONG_SYSTOLE = 1.15
# Or: a clear sound in the middle half of most of the chain's "systoles" and most of its
# "diastoles". At twice the rate those are the S2s between the S1s (or S1s between S2s); a
# true read has at most a murmur or an S3 in one of its phases. Placed by looking at our
# recordings (CirCor and CirCor made faster, bench.heart_faster): correct reads of evenly
# spaced chains reach 0.23 in the sparser phase, the half-rate reads at 170-190/min that the
# systole test misses 0.55-1.0 in both; 0.5 leaves a margin of about 0.25 either side.
# bench.heart_faster scores it leave-one-patient-out over 0.3-0.7 (docs/accuracy.md).
_MIDDLE = (0.25, 0.75)
_MIDDLE_SHARE = 0.5
_S2_WINDOW = (0.5, 1.5)  # S2 sought this far after S1, in expected systoles
_S2_OVER_MEDIAN = 2.0
# The S1s over the S2s, at most (or its inverse): the two "sounds" of a chain that holds one
# sound per beat, labelled S1 and S2 in turn, are alike. The half-rate reads the guard missed
# (CirCor made faster to 170-190/min, bench.heart_faster) read 0.92-1.20; a true S1 and S2
# differ by site (S1 the louder at the apex, S2 at the base): correct reads of evenly spaced
# chains with a systole at least Weissler's read 0.34-0.65 or 2.2-2.6 (Yaseen MR and MS clips,
# CirCor made faster to 110/min), 1.06 only with a shorter systole (85029_TV at 110/min, 0.998).
_ALIKE_LEVELS = 1.35
# A chain that already looks like half a fast heart (evenly spaced, alike sounds and a systole
# at least Weissler's for its rate, :func:`systole_if_half_rate`; the triage's default bound)
# needs less to be read at twice its rate: a sound between its sounds at 1.5 times the
# envelope median rather than 2 (the faint S1s of base sites stand at 1.4-1.9 times it).
# Placed by looking at our recordings: of every record of CirCor and CirCor made faster, only
# the six half reads carry that sign, and at 1.5x the sparser phase of 73497_AV holds a sound
# in 0.8-1.0 of its beats, of 68861_PV in 0.53 (just over the 0.5 share), of 50209_PV in
# 0.17-0.33 (still read at half). Without the sign, 1.5x let correct reads reach 0.47 (sixth
# round, docs/accuracy.md): the sign is what keeps them out.
_SIGN_SYSTOLE = 1.0
_FAINT_OVER_MEDIAN = 1.5
# An irregular rhythm read at half rate: its two "phases" are two samples of whole beats, whose
# medians differ by about 0.89 CV / sqrt(k) of the two-beat cycle (SD, k beats a phase): at CV
# 0.25 two SDs are 0.20-0.26 for 5-3 beats a phase. Such a chain (S1-S1 nRMSSD over the
# triage's irregularity bound) whose systole is already too long for its rate counts as evenly
# spaced up to this share of its cycle when its two "sounds" are alike, as one sound per beat
# is (docs/accuracy.md, thirtieth round, s49-fastheart: without that, breath peaks under a
# heart read near its rate were doubled to an urgent 137-181/min).
_IRREGULAR_SPACING = 0.25
_TRIAGE_DEFAULTS = TriageThresholds()  # the bounds below are the triage's own, read once
_IRREGULAR_NRMSSD = _TRIAGE_DEFAULTS.irregularity_nrmssd
# Read on four S1-S1 intervals or more, as the rhythm's own measure is
# (stetho_signal._rhythm.MIN_INTERVALS_FOR_RHYTHM): a short clip's chain of two or three beats
# and noise peaks has no measured rhythm (a 35/min heart in 3 s was doubled twice, to 134/min).
# The widened test is the weaker one: it may double only into a rate the triage does not call
# urgent (its default high bound, 131/min), so it never makes a false tachycardia urgent
# (breath peaks under a heart read at 96/min were doubled to 180).
_WIDENED_DOUBLED_UNDER_BPM = _TRIAGE_DEFAULTS.heart_rate_urgent_high_bpm


def guard_half_rate(
    env: NDArray[np.float64],
    fs_hz: float,
    sounds: HeartSounds,
    cycle: CycleEstimate,
) -> tuple[HeartSounds, CycleEstimate]:
    """The sounds and cycle at twice the rate when the chain looks like a half-rate read.

    At twice the rate the chain's sounds are all S1s or all S2s (S2 is the louder at the
    base). Their partner is sought a systole after each (an S2) and a systole before each (an
    S1), where Weissler puts it (half to one and a half times the expected systole, and within
    half the beat, which keeps the other side's partner, a diastole away, out): the envelope's
    highest peak there, when it rises over twice the envelope's median (the segmentation's own
    noise-peak level). The side that finds more partners says which sounds the chain holds
    (a tie: S1s). No partner found means none claimed: the rate stands on the evenly spaced
    sounds, as it does when the partners are taken for S1s (the heart rate is read from the
    sound found in more beats, :func:`stetho_signal.heart.analyze_heart`). (Two CirCor base
    recordings, 68861_PV and 73497_AV, had their loud S2s read as S1s: S1/S2 F1 0 before,
    0.47-0.95 after.)

    The chain is taken for a half-rate read when its sounds are evenly spaced and either its
    systole is far longer than Weissler's for its rate, or a clear sound sits in the middle
    of most of its systoles and most of its diastoles (:func:`_sounds_between`): above about
    170/min a half-rate chain's systole is no longer too long for its rate, but the S2s
    between its S1s are still heard. A chain that carries the half-rate sign the triage reads
    (:func:`systole_if_half_rate`) needs only a fainter sound there (:data:`_FAINT_OVER_MEDIAN`).
    """
    spacing = phase_medians(sounds)
    if spacing is None:
        return sounds, cycle
    systole, diastole = spacing
    period = systole + diastole
    half = period / 2.0
    too_long = systole >= _LONG_SYSTOLE * expected_systole_s(period)
    if not _spaced_as_half(env, sounds, spacing, too_long) or 60.0 / half > MAX_RATE_BPM:
        return sounds, cycle
    if not (
        too_long
        or _sounds_between(env, fs_hz, sounds, _between_level(env, sounds, spacing))
        >= _MIDDLE_SHARE
    ):
        return sounds, cycle
    sounds_s = np.sort(np.concatenate([sounds.s1_s, sounds.s2_s]))
    systole = expected_systole_s(half)
    faster = CycleEstimate(half, systole, cycle.periodicity)
    s2 = _partners(env, fs_hz, sounds_s, systole, half, 1.0)
    s1 = _partners(env, fs_hz, sounds_s, systole, half, -1.0)
    if s1.size > s2.size:
        return HeartSounds(s1_s=s1, s2_s=sounds_s), faster
    return HeartSounds(s1_s=sounds_s, s2_s=s2), faster


def _spaced_as_half(
    env: NDArray[np.float64],
    sounds: HeartSounds,
    spacing: tuple[float, float],
    too_long: bool,
) -> bool:
    """Whether the chain's phases are as evenly spaced as one sound per beat: within
    :data:`EVEN_SPACING` of its cycle, or within :data:`_IRREGULAR_SPACING` for an irregular
    chain whose systole is ``too_long`` for its rate and whose two "sounds" are alike
    (:data:`_ALIKE_LEVELS`): a few whole beats in each "phase", one sound per beat."""
    systole, diastole = spacing
    if evenly_spaced(systole, diastole):
        return True
    if not too_long or abs(systole - diastole) > _IRREGULAR_SPACING * (systole + diastole):
        return False
    if 120.0 / (systole + diastole) >= _WIDENED_DOUBLED_UNDER_BPM:
        return False
    intervals = np.diff(sounds.s1_s)
    if intervals.size < MIN_INTERVALS_FOR_RHYTHM or nrmssd(intervals) <= _IRREGULAR_NRMSSD:
        return False
    # Breath peaks make a chain irregular with a long "systole" too, but not alike sounds.
    ratio = level_ratio(env, sounds)
    return ratio is not None and ratio > 0 and max(ratio, 1.0 / ratio) <= _ALIKE_LEVELS


def systole_if_half_rate(
    rate_bpm: float,
    systole_s: float,
    diastole_s: float,
    s1_s2_level_ratio: float,
    diastole_follows: bool | None = None,
) -> float | None:
    """The chain's systole over the expected systole for the read rate when the read looks
    like it could be half the true rate; None when it does not.

    What the guard (:func:`guard_half_rate`) cannot settle, the triage can say: a chain whose
    sounds are evenly spaced (:data:`EVEN_SPACING`) and alike (:data:`_ALIKE_LEVELS`), at a
    rate whose double is still a heart rate (:data:`~stetho_signal.envelope.MAX_RATE_BPM`), is
    what one sound per beat of a heart twice as fast looks like. Its systole over Weissler's
    for the read rate (:func:`~stetho_signal.envelope.expected_systole_s`) says how far: a
    heart at rest has a systole shorter than the expected one as often as longer, a half-rate
    chain's is its whole half-beat (1.05-1.12 at 170-190/min read at half, 1.32-1.74 at
    130-150/min, which the guard already catches at 1.15).

    Not when the chain's diastole demonstrably takes the beat-to-beat changes of its cycle
    while its systole holds (``diastole_follows``, :func:`diastole_follows_cycle`): that is a
    true read of a varying rhythm. One sound per beat, labelled S1 and S2 in turn, makes each
    "phase" a whole beat of the faster heart, and the two vary alike. (An irregular rhythm near
    95/min, S1 and S2 alike, is evenly spaced with a systole as long as Weissler's: the
    simulator's raised the sign in 5 of 40 recordings of 15 s; every half-rate chain of CirCor
    made faster leaves the cue undecided.)
    """
    period = systole_s + diastole_s
    if not (period > 0 and s1_s2_level_ratio > 0) or 2.0 * rate_bpm > MAX_RATE_BPM:
        return None
    if diastole_follows:
        return None
    if not evenly_spaced(systole_s, diastole_s):
        return None
    if max(s1_s2_level_ratio, 1.0 / s1_s2_level_ratio) > _ALIKE_LEVELS:
        return None
    return systole_s / expected_systole_s(period)


def _partners(
    env: NDArray[np.float64],
    fs_hz: float,
    anchors: NDArray[np.float64],
    systole: float,
    half: float,
    side: float,
) -> NDArray[np.float64]:
    """The sound found a systole after (``side`` 1: S2 after S1) or before (-1: S1 before S2)
    each anchor (see :func:`guard_half_rate`), seconds, sorted: the highest envelope peak of
    each window over the level (:func:`_highest_peaks`), windows under three samples left
    out."""
    level = _S2_OVER_MEDIAN * median(env)
    near, far = _S2_WINDOW[0] * systole, min(_S2_WINDOW[1] * systole, 0.5 * half)
    starts, ends = (anchors + near, anchors + far) if side > 0 else (anchors - far, anchors - near)
    lo = np.maximum(np.round(starts * fs_hz), 0).astype(np.intp)
    hi = np.minimum(np.round(ends * fs_hz), env.size).astype(np.intp)
    wide = hi - lo >= 3
    best = _highest_peaks(env, lo[wide], hi[wide], level)
    found: NDArray[np.float64] = best[best >= 0] / fs_hz
    return found


def _highest_peaks(
    env: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp], level: float
) -> NDArray[np.intp]:
    """For each window ``env[lo:hi]`` (0 <= lo <= hi <= env.size), the index in ``env`` of
    its highest peak at or over ``level`` as ``find_peaks(env[lo:hi], height=level)`` finds
    peaks (the first of equal ones), or -1 when it has none.

    Notes
    -----
    All windows at once, as rows of one array (a call per beat was most of the half-rate
    guard's time, docs/accuracy.md, thirty-first round). ``find_peaks`` takes a sample that
    rises from the one before it and whose run of equal samples then falls, the run ending
    before the window's last sample; the peak is the run's middle. So a window's peaks are the
    rises ``p`` in ``lo + 1 ..`` whose run, read in the whole envelope, ends at ``r`` with
    ``r + 1 < hi`` and ``env[r + 1] < env[p]``: a run reaching the window's end ends there at
    or after ``hi - 1``, and is no peak in either reading.
    """
    best = np.full(lo.size, -1, dtype=np.intp)
    width = int(np.max(hi - lo)) if lo.size else 0
    if width < 3:
        return best
    n = env.size
    # Each sample's run of equal samples ends at the first change at or after it.
    changes = np.flatnonzero(np.append(env[1:] != env[:-1], True))
    run_end = np.repeat(changes, np.diff(changes, prepend=-1))
    after = np.minimum(run_end + 1, n - 1)
    rises = np.zeros(n, dtype=bool)
    rises[1:] = env[:-1] < env[1:]
    peaked = rises & (env[after] < env) & (env >= level)  # a run to the end: after is in it
    at = np.minimum(lo[:, None] + np.arange(width), n - 1)
    inside = (at > lo[:, None]) & (run_end[at] + 1 < hi[:, None]) & peaked[at]
    heights = np.where(inside, env[at], -np.inf)
    first = np.argmax(heights, axis=1)
    rows = np.flatnonzero(inside.any(axis=1))
    start = at[rows, first[rows]]
    best[rows] = (start + run_end[start]) // 2
    return best


def _between_level(
    env: NDArray[np.float64], sounds: HeartSounds, spacing: tuple[float, float]
) -> float:
    """How clear a sound between the chain's must be, over the envelope median: less when the
    chain carries the half-rate sign (see :data:`_FAINT_OVER_MEDIAN`)."""
    ratio = level_ratio(env, sounds)
    if ratio is None:
        return _S2_OVER_MEDIAN
    rate = 60.0 / sum(spacing)
    sign = systole_if_half_rate(rate, *spacing, ratio)
    if sign is not None and sign >= _SIGN_SYSTOLE:  # the cue (~0.1 ms) only where it can matter
        sign = systole_if_half_rate(rate, *spacing, ratio, diastole_follows_cycle(sounds))
    return _FAINT_OVER_MEDIAN if sign is not None and sign >= _SIGN_SYSTOLE else _S2_OVER_MEDIAN


def level_ratio(env: NDArray[np.float64], sounds: HeartSounds) -> float | None:
    """Median envelope at the S1s over that at the S2s (None without both, or at silence)."""
    if sounds.s1_s.size == 0 or sounds.s2_s.size == 0:
        return None
    s2 = median(levels_at(env, sounds.s2_s))
    return median(levels_at(env, sounds.s1_s)) / s2 if s2 > 0 else None


def _sounds_between(
    env: NDArray[np.float64], fs_hz: float, sounds: HeartSounds, over_median: float
) -> float:
    """The share of the chain's systoles, or of its diastoles if fewer, that hold a clear
    sound (an envelope peak over ``over_median`` times the median) in their middle half (0
    with under two of either)."""
    times, is_s1 = _in_order(sounds)
    gaps = np.diff(times)
    # Phases: from one label to the other, within the chain (a restart leaves a long gap).
    phase = (is_s1[:-1] != is_s1[1:]) & (gaps <= 1.5 * median(gaps))
    level = over_median * median(env)
    k = np.flatnonzero(phase)
    # Python's round as the windows were cut before (half to even, as np.round), each window
    # then read as a slice reads it (times are never negative).
    lo = np.round((times[k] + _MIDDLE[0] * gaps[k]) * fs_hz).astype(np.intp)
    hi = np.round((times[k] + _MIDDLE[1] * gaps[k]) * fs_hz).astype(np.intp)
    found = np.zeros(k.size, dtype=bool)
    wide = hi - lo >= 3
    found[wide] = (
        _highest_peaks(env, np.minimum(lo[wide], env.size), np.minimum(hi[wide], env.size), level)
        >= 0
    )
    first_s1 = is_s1[k]
    shares = [
        int(np.count_nonzero(found[held])) / count
        for held in (first_s1, ~first_s1)
        if (count := int(np.count_nonzero(held))) >= 2
    ]
    return min(shares) if len(shares) == 2 else 0.0


def phase_medians(sounds: HeartSounds) -> tuple[float, float] | None:
    """Median S1-S2 and S2-S1 intervals of the chain, seconds (None under two of each)."""
    s1, s2 = sounds.s1_s, sounds.s2_s
    after = np.searchsorted(s2, s1, side="right")
    systoles = s2[after[after < s2.size]] - s1[after < s2.size]
    nxt = np.searchsorted(s1, s2, side="right")
    diastoles = s1[nxt[nxt < s1.size]] - s2[nxt < s1.size]
    if systoles.size < 2 or diastoles.size < 2:
        return None
    return median(systoles), median(diastoles)


def evenly_spaced(systole_s: float, diastole_s: float) -> bool:
    """Whether a chain's median phases are within :data:`EVEN_SPACING` of its cycle."""
    return abs(systole_s - diastole_s) <= EVEN_SPACING * (systole_s + diastole_s)


def diastole_follows_cycle(sounds: HeartSounds) -> bool | None:
    """Whether the chain's S2-S1 phase takes most of its cycle's beat-to-beat changes (False:
    its S1-S2 phase does; None: undecided), by the segmentation's own test
    (:func:`~stetho_signal._chain_judge.s1_phase_follows_cycle`) on the envelope's grid."""
    times, is_s1 = _in_order(sounds)
    follows = s1_phase_follows_cycle(times, np.where(is_s1, S1, S2), 1.0 / ENVELOPE_RATE_HZ)
    return None if follows is None else not follows


def _in_order(sounds: HeartSounds) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The chain's sound times, sorted, and which of them are S1s."""
    times = np.concatenate([sounds.s1_s, sounds.s2_s])
    order = np.argsort(times)
    return times[order], order < sounds.s1_s.size
