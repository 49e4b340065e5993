"""Short beats of an irregular rhythm: the second chain search's sounds and its chain's keeping.

An AF-like chain drops its shortest beats; searched again, it may shorten a diastole only into a
clear sound shaped like its own S1s, and the new chain is kept only when most of the S1s it adds
are shaped so: a split S2, a third heart sound or a murmur's peak is not an S1 (docs/accuracy.md,
sixteenth round, short beats of irregular rhythms).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stetho_signal import analyze
from stetho_signal._chains import S1, S2
from stetho_signal._peaks import PEAK_FLOOR, Candidates
from stetho_signal._short_beats import IRREGULAR_CHAIN, ShortBeats, kept, short_beats
from stetho_sim.sounds import median_rate_bpm
from stetho_sim.synth import StethoscopeSynth

FS_HZ = 100.0  # the envelope's rate
SIM_FS_HZ = 4000
SYSTOLE_S = 0.28
# Cycles varying as atrial fibrillation's (normalised RMSSD of the S1-S1 intervals ~0.5).
IRREGULAR_S = (0.45, 0.8, 0.5, 0.9, 0.55, 0.85, 0.5, 0.95)
REGULAR_S = (0.7,) * 8


def _bump(t: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def _s1(t: np.ndarray, at: float) -> np.ndarray:
    """Two components (mitral, tricuspid) 50 ms apart: a broad sound."""
    return _bump(t, at - 0.02, 0.018) + 0.8 * _bump(t, at + 0.03, 0.018)


def _s2(t: np.ndarray, at: float) -> np.ndarray:
    """One narrow component."""
    return 0.9 * _bump(t, at, 0.012)


def _chain(
    cycles: tuple[float, ...], extra: dict[str, float] | None = None
) -> tuple[np.ndarray, Candidates, np.ndarray, np.ndarray]:
    """Envelope, candidates and the chain (candidate indices, labels) of S1-S2 beats with
    ``cycles``, plus extra sounds (kind -> time, s) that the chain leaves out."""
    s1 = 0.5 + np.concatenate([[0.0], np.cumsum(cycles)])
    t = np.arange(round((s1[-1] + 1.0) * FS_HZ)) / FS_HZ
    env = np.full(t.size, 0.02)
    sounds = [(a, S1) for a in s1] + [(a + SYSTOLE_S, S2) for a in s1]
    for a, mark in sounds:
        env += _s1(t, a) if mark == S1 else _s2(t, a)
    kinds = {"s1_shaped": _s1, "s2_shaped": _s2}
    for kind, at in (extra or {}).items():
        env += kinds[kind.removesuffix("_quiet")](t, at) * (0.2 if kind.endswith("_quiet") else 1.0)
        sounds.append((at, -1))
    sounds.sort()
    times = np.array([a for a, _ in sounds])
    peaks = np.rint(times * FS_HZ).astype(np.intp)
    relative = env[peaks] / np.max(env[peaks])
    cands = Candidates(
        times_s=peaks / FS_HZ,
        reward=2.0 * (relative - PEAK_FLOOR),
        weak=np.zeros(times.size, dtype=bool),
        low=np.zeros(times.size, dtype=bool),
        step_s=1.0 / FS_HZ,
    )
    chain = [(i, mark) for i, (_, mark) in enumerate(sounds) if mark >= 0]
    peaks_in_chain = np.array([i for i, _ in chain], dtype=np.intp)
    marks = np.array([mark for _, mark in chain], dtype=np.intp)
    return env, cands, peaks_in_chain, marks


def _index(cands: Candidates, at: float) -> int:
    return int(np.argmin(np.abs(cands.times_s - at)))


def test_a_regular_chain_is_not_searched_again() -> None:
    env, cands, peaks, marks = _chain(REGULAR_S, {"s1_shaped": 1.0})
    assert short_beats(peaks, marks, cands, env, 0.7) is None


def test_an_irregular_chain_is_searched_again() -> None:
    gaps = np.diff(IRREGULAR_S)
    assert np.sqrt(np.mean(gaps**2)) / np.mean(IRREGULAR_S) > IRREGULAR_CHAIN
    env, cands, peaks, marks = _chain(IRREGULAR_S, {"s1_shaped": 1.0})
    assert short_beats(peaks, marks, cands, env, 0.7) is not None


def test_a_short_diastole_ends_only_in_a_clear_sound_shaped_like_an_s1() -> None:
    # Diastoles of the irregular chain: 0.5 + 0.45 + 0.8 = 1.75 s is an S1; 1.03-1.75 s and
    # 2.53-3.25 s are diastoles.
    extra = {"s1_shaped": 1.45, "s2_shaped": 2.9, "s1_shaped_quiet": 3.9}
    env, cands, peaks, marks = _chain(IRREGULAR_S, extra)
    beats = short_beats(peaks, marks, cands, env, 0.7)
    assert beats is not None
    s1_like, s2_like, quiet = (_index(cands, at) for at in extra.values())
    assert beats.widen[s1_like] and beats.s1_like[s1_like]
    assert not beats.widen[s2_like] and not beats.s1_like[s2_like]  # a split S2's half, an S3
    assert not beats.widen[quiet]  # not a clear sound
    assert beats.s1_like[peaks[marks == S1]].all()
    assert not beats.s1_like[peaks[marks == S2]].any()


@pytest.mark.parametrize(
    ("added", "expected"),
    [
        ((True, True, False), True),  # most of the added S1s are shaped like S1s
        ((True, False), False),  # half is not most
        ((False, False, True), False),
        ((), False),  # nothing added: no short beat found
    ],
)
def test_the_second_chain_is_kept_when_most_of_its_new_s1s_look_like_s1s(
    added: tuple[bool, ...], expected: bool
) -> None:
    first = [(0, S1), (1, S2), (2, S1), (3, S2)]
    new = [(4 + k, S1) for k in range(len(added))]
    s1_like = np.array([True, False, True, False, *added])
    second = [*first, *new]
    beats = ShortBeats(widen=s1_like.copy(), s1_like=s1_like)
    assert kept(first, second, beats) is expected


def test_an_s2_relabelled_s1_counts_as_added() -> None:
    first = [(0, S1), (1, S2), (2, S1), (3, S2)]
    second = [(0, S1), (1, S1), (2, S2), (3, S1)]  # labels swapped: 1 and 3 are added S1s
    s1_like = np.array([True, False, True, False])
    assert kept(first, second, ShortBeats(s1_like, s1_like)) is False


# The simulator's irregular scenario made AF-like: its S1s and S2s keep one shape each, as the
# bench's retimed CirCor beats do. Without the second search these read 64.2 and 117.1/min, the
# shortest beats dropped (docs/accuracy.md, sixteenth round).
@pytest.mark.parametrize(("rate", "variation", "seed"), [(70.0, 0.3, 5), (120.0, 0.25, 1)])
def test_an_af_like_rhythm_keeps_its_short_beats(rate: float, variation: float, seed: int) -> None:
    synth = StethoscopeSynth("irregular", SIM_FS_HZ, seed)
    synth.scenario = dataclasses.replace(
        synth.scenario, heart_rate_bpm=rate, rr_variation=variation
    )
    x = synth.read(round(20.0 * SIM_FS_HZ))
    s1 = [(e.start_s + e.end_s) / 2 for e in synth.events if e.kind == "S1"]
    s1 = [t for t in s1 if t < 20.0]
    heart = analyze(x, SIM_FS_HZ, "heart").heart
    assert heart is not None and heart.rate_bpm is not None
    assert heart.rate_bpm == pytest.approx(median_rate_bpm(s1), rel=0.02)
    found = np.array(heart.s1_s)
    assert all(np.min(np.abs(found - t)) <= 0.06 for t in s1)


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ([(0, S1), (1, S2), (4, S1), (2, S1), (3, S2)], True),  # one beat found, as left out
        ([(0, S1), (4, S1), (5, S1), (1, S2), (2, S1), (3, S2)], False),  # two: a faster rhythm
        ([(0, S1), (1, S2), (4, S1), (3, S2)], False),  # one S1 moved, none found
    ],
)
def test_a_chain_searched_for_one_left_out_beat_is_kept_when_it_found_one(
    second: list[tuple[int, int]], expected: bool
) -> None:
    # Candidates 4 and 5 are S1-shaped sounds the first chain left out; it left one whole beat.
    first = [(0, S1), (1, S2), (2, S1), (3, S2)]
    s1_like = np.array([True, False, True, False, True, True])
    beats = ShortBeats(widen=s1_like.copy(), s1_like=s1_like, most_added=1)
    assert kept(first, sorted(second), beats) is expected
    assert kept(first, sorted(second), ShortBeats(s1_like, s1_like)) is True  # no limit
