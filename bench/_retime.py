"""Real annotated heart recordings made to beat at another rate, beat by beat.

One policy for every rate a bench asks of a recording (bench.heart_faster: faster hearts;
bench.heart_rhythms: slower hearts and an irregular, AF-like rhythm). Each beat gets its own
cycle factor (new cycle over annotated cycle, S1 centre to S1 centre):

- Its systole (S1 to S2 centres) scales by the factor to the power ``SYSTOLE_EXPONENT`` (1/2),
  the diastole takes the rest. The exponent is Bazett's (QT proportional to the square root of
  the R-R interval); QT parallels total electromechanical systole QS2 (QT = 529 - 2.1 HR ms,
  QS2 = 541 - 2.2 HR ms in men, Chest 1981;80:613), and near rest Weissler's linear QS2 (546 -
  2.1 HR ms, Circulation 1968;37:149) changes at the same relative rate (elasticity 0.5 at
  80/min; less below it: from 80 to 40/min Weissler's QS2 grows 1.22 times, Bazett's 1.41).
- S1 and S2 (states 1 and 3) keep every sample and their annotated length. A systole or
  diastole (states 2 and 4) is changed in its middle only, so a murmur keeps its onset and end:
  - shorter: samples are cut from its middle, the two sides joined by a 10 ms equal-power
    crossfade; it keeps at least ``MIN_PHASE_S``, and where it cannot give more the beat stays
    slower (the reference rate from the modified annotation says how fast it came out);
  - longer: background is inserted at its middle. A long silent diastole sounds like the
    recording's own background, not like repeated sounds, so the fill is made of pieces of
    the middle halves of every phase of that kind in the recording (never their ends, where
    S1, S2 and a murmur's onset lie): pieces of random length (``FILL_PIECE_S`` on average,
    so the joins fall at no fixed rhythm) at random places (seeded) among the stretches that
    hold no transient over the whole band or in the heart sounds' (an S3, an S4 or a click
    happens once per beat and is not copied; a murmur lasts its phase and is kept), joined
    by the same equal-power crossfade: no click, no silence, and no repeat at the heart-rate
    scale.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray
from scipy import signal

SYSTOLE_EXPONENT = 0.5  # Bazett: systole ~ cycle^(1/2), see the module docstring
CROSSFADE_S = 0.01
MIN_PHASE_S = 0.02  # a shortened systole or diastole keeps this much of its annotated gap
FILL_PIECE_S = 0.08  # one piece of inserted background: 8 crossfades long, far under a beat
_FRAME_S = 0.01  # transients are sought frame by frame
_LOUD_FRAME = 4.0  # a frame at 4 times the median power (6 dB over it in level): a transient
# Transients are sought in this band too, the heart sounds' (stetho_signal.envelope's
# SOUND_BAND_HZ): an S3 or S4 (20-70 Hz) under a hiss louder than it over the whole band passes
# the whole band's test, and copied into the fill becomes a heart-like sound in every
# lengthened diastole (docs/accuracy.md, fourteenth round).
HEART_SOUND_BAND_HZ = (25.0, 200.0)

Segments = NDArray[np.float64]  # rows of start s, end s, state (1 S1, 2 sys, 3 S2, 4 dia, 0)
Samples = NDArray[np.float64]


def annotated_beats(seg: Segments) -> Segments | None:
    """The longest run of annotated rows, from its first S1 to its last (None: under 2 beats)."""
    best: tuple[int, int] = (0, 0)
    start = 0
    for i, state in enumerate([*seg[:, 2].tolist(), 0.0]):
        if state == 0:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i + 1
    rows = seg[best[0] : best[1]]
    s1 = np.flatnonzero(rows[:, 2] == 1)
    if s1.size < 3:
        return None
    return rows[s1[0] : s1[-1] + 1]


def beat_count(seg: Segments) -> int:
    """Beats of ``seg`` (from :func:`annotated_beats`): S1 rows less the last."""
    return int(np.count_nonzero(seg[:, 2] == 1)) - 1


def seeded(*key: object) -> np.random.Generator:
    """A generator fixed by ``key`` (a recording's name, a target, a seed): same run, same fill."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def retime(
    x: Samples,
    fs: float,
    seg: Segments,
    factors: NDArray[np.float64],
    rng: np.random.Generator | None = None,
) -> tuple[Samples, Segments]:
    """The beats of ``seg`` (from :func:`annotated_beats`) with beat ``k``'s cycle scaled by
    ``factors[k]`` (systole by its square root, see the module docstring); the samples and
    their new annotation, times from the first S1's start. ``rng`` draws the background
    pieces of lengthened phases (a fixed one when None)."""
    edges = np.round(seg[:, 0] * fs).astype(int)
    ends = np.append(edges[1:], round(seg[-1, 1] * fs))
    changes = _changes(seg, factors, fs)
    draw = rng if rng is not None else seeded("retime")
    pools = {state: _quiet_runs(x, fs, seg, state) for state in (2, 4)} if max(changes) > 0 else {}
    pieces, rows, at = [], [], 0
    for (start, end, state), lo, hi, change in zip(seg.tolist(), edges, ends, changes, strict=True):
        if change < 0:
            piece = _cut_middle(x[lo:hi], -change, fs)
        elif change > 0:
            piece = _insert_middle(x[lo:hi], change, fs, draw, pools[int(state)])
        else:
            piece = x[lo:hi]
        length = min(round((end - start) * fs), piece.size) if change == 0 else piece.size
        rows.append((at / fs, (at + length) / fs, state))
        pieces.append(piece)
        at += piece.size
    return np.concatenate(pieces), np.array(rows, dtype=np.float64)


def _changes(seg: Segments, factors: NDArray[np.float64], fs: float) -> list[int]:
    """Samples to add to (> 0) or take out of (< 0) each row: each beat's systole and
    diastole (rows 1 and 3 of every four from an S1); a cut within what the phase can give."""
    centre = (seg[:, 0] + seg[:, 1]) / 2.0
    changes = [0] * len(seg)
    keep = round(MIN_PHASE_S * fs)
    beats = np.flatnonzero(seg[:, 2] == 1)[:-1].tolist()
    for a, factor in zip(beats, factors.tolist(), strict=True):
        cycle, systole = centre[a + 4] - centre[a], centre[a + 2] - centre[a]
        shorter = systole * (1.0 - factor**SYSTOLE_EXPONENT)
        for row, seconds in ((a + 1, shorter), (a + 3, cycle * (1.0 - factor) - shorter)):
            cut = round(seconds * fs)
            if cut < 0:
                changes[row] = -cut
                continue
            room = round((seg[row + 1, 0] - seg[row, 0]) * fs) - keep
            changes[row] = -max(min(cut, room), 0)
    return changes


def _splice(head: Samples, tail: Samples, fade: int) -> Samples:
    """``head`` then ``tail``, their last and first ``fade`` samples overlapped by an
    equal-power crossfade (uncorrelated noise keeps its level across the join)."""
    t = (np.arange(fade) + 0.5) / max(fade, 1)
    joined = head[head.size - fade :] * np.cos(0.5 * np.pi * t) + tail[:fade] * np.sin(
        0.5 * np.pi * t
    )
    return np.concatenate([head[: head.size - fade], joined, tail[fade:]])


def _cut_middle(piece: Samples, cut: int, fs: float) -> Samples:
    """``piece`` less ``cut`` samples from its middle, the two sides crossfaded."""
    kept = piece.size - cut
    fade = min(round(CROSSFADE_S * fs), kept)
    head = (kept - fade) // 2
    tail = kept - fade - head
    return _splice(piece[: head + fade], piece[piece.size - tail - fade :], fade)


def _insert_middle(
    piece: Samples, extra: int, fs: float, rng: np.random.Generator, runs: list[Samples]
) -> Samples:
    """``piece`` with ``extra`` samples of background (:func:`_background` of ``runs``)
    inserted at its middle, both joins crossfaded."""
    fade = min(round(CROSSFADE_S * fs), piece.size // 8)
    fill = _background(runs, extra + 2 * fade, round(CROSSFADE_S * fs), rng)
    middle = piece.size // 2
    return _splice(_splice(piece[:middle], fill, fade), piece[middle:], fade)


def _quiet_runs(x: Samples, fs: float, seg: Segments, state: int) -> list[Samples]:
    """The stretches of the middle halves of every ``state`` row (2 systole, 4 diastole) that
    hold no transient: no 10 ms frame over ``_LOUD_FRAME`` times the median frame power of
    those middles (an S3, an S4, a click; a murmur is as long as its phase and stays), in the
    whole band or in the heart-sound band (``HEART_SOUND_BAND_HZ``)."""
    step = round(_FRAME_S * fs)
    sos = signal.butter(4, HEART_SOUND_BAND_HZ, "bandpass", fs=fs, output="sos")
    heard = (x, signal.sosfiltfilt(sos, x))  # the samples copied, and the band the heart is in
    middles: tuple[list[Samples], list[Samples]] = ([], [])
    for start, end, _ in seg[seg[:, 2] == state].tolist():
        lo, hi = round(start * fs), round(end * fs)
        quarter = (hi - lo) // 4
        for frames, y in zip(middles, heard, strict=True):
            middle = y[lo + quarter : hi - quarter]
            frames.append(middle[: middle.size // step * step].reshape(-1, step))
    if np.concatenate(middles[0]).size == 0:
        return []
    power = [[np.mean(m**2, axis=1) for m in frames] for frames in middles]
    levels = [_LOUD_FRAME * float(np.median(np.concatenate(p))) for p in power]
    runs = []
    for middle, whole, band in zip(middles[0], *power, strict=True):
        loud = np.flatnonzero((whole > levels[0]) | (band > levels[1]))
        for a, b in zip([-1, *loud.tolist()], [*loud.tolist(), len(middle)], strict=True):
            if b - a > 3:  # three frames (30 ms, three fades) at least between transients
                runs.append(middle[a + 1 : b].ravel())
    return runs


def _background(runs: list[Samples], size: int, fade: int, rng: np.random.Generator) -> Samples:
    """``size`` samples of pieces of ``runs`` joined by ``fade``-sample equal-power
    crossfades: each piece from a run drawn in proportion to its length, at a random place,
    of a random length (between half and one and a half ``FILL_PIECE_S`` samples, at most the
    run, at least three fades)."""
    longest = max((r.size for r in runs), default=0)
    if longest < 3 * fade:  # no stretch long enough to join: silence is the background
        return np.zeros(size)
    usable = [r for r in runs if r.size >= 3 * fade]
    weights = np.array([r.size for r in usable], dtype=np.float64)
    mean = round(FILL_PIECE_S / CROSSFADE_S * fade)
    out = np.zeros(0)
    while out.size < size:
        run = usable[int(rng.choice(len(usable), p=weights / weights.sum()))]
        length = min(int(rng.integers(mean // 2, mean + mean // 2 + 1)), run.size)
        length = max(length, 3 * fade)
        start = int(rng.integers(0, run.size - length + 1))
        out = _splice(out, run[start : start + length], fade if out.size else 0)
    return out[:size]
