"""Wheezes (CORSA): tonal peaks above 100 Hz held at least 100 ms, hum and voice left out."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy import fft, ndimage

from stetho_signal._masks import half_peak_span
from stetho_signal._spectra import Spectrogram

__all__ = [
    "HEART_GATE_S",
    "MIN_RATE_HZ",
    "VOICE_F0_HZ",
    "VOICE_HEARD_MIN_SOUNDS",
    "WHEEZE_NPERSEG",
    "Tone",
    "WheezeSearch",
    "find_wheezes",
]

HEART_GATE_S = 0.06
"""Frames and transients within this of a prominent heart sound belong to it, seconds."""
WHEEZE_NPERSEG = 256
"""64 ms at 4 kHz: 15.6 Hz bins, enough to see a tone."""
# A single frame's periodogram of breath noise has random peaks ~10 dB over its neighbours;
# averaging three half-overlapping frames (~130 ms, about the shortest wheeze) shrinks them
# and keeps a held tone. On 10 min of breath-modulated band noise a peak 9 dB over the mean
# power of the neighbouring bins (+-94 Hz, its own +-1 bins left out) held 100 ms never
# occurred (0.3 % of frames reach 9 dB; 0.2 false wheezes/min at 7 dB).
_WHEEZE_PROMINENCE_DB = 9.0
_WHEEZE_NEIGHBOURS = 13  # bins over which the local level is taken (+-6 bins, ~ +-94 Hz)
# CORSA: a wheeze is a tone above 100 Hz. S1/S2 carry tonal energy up to ~250 Hz, so frames
# within 60 ms of a prominent heart sound are left out instead of raising the band's floor.
_WHEEZE_BAND_HZ = (100.0, 1600.0)
# Low-pitched wheezes (100-150 Hz) mostly stay under 9 dB here. A second search with 128 ms
# frames (7.8 Hz bins) in 100-250 Hz was tried on ICBHI: it found tones held 100 ms in 6 of
# the 7 recordings without wheezes and none in the one with low wheezes; not kept.
_WHEEZE_MIN_SHARE = 0.01  # of the band's power in the frame (-20 dB): see _tonal_frames
# Voiced sound (speech, moaning, from the patient or the room) is a harmonic series over a
# fundamental in the speaking range: 85-155 Hz in typical adult men, 165-255 Hz in women
# (Baken, Clinical Measurement of Speech and Voice, 2nd ed. 2000, p. 177, after Fitch and
# Holbrook 1970), widened to 70-260 Hz; harmonics count when 6 dB over their neighbours.
VOICE_F0_HZ = (70.0, 260.0)
"""The speaking range of a voice's fundamental, Hz (above)."""
_VOICE_HARMONICS = 6
_VOICE_MIN_HARMONICS = 3  # the fundamental and two more of its first six harmonics
_HARMONIC_PROMINENCE_DB = 6.0
VOICE_HEARD_MIN_SOUNDS = 3
"""Voice-like tones left out of a recording from which on speech was heard in it.

None of the 30 ICBHI recordings of the shared data without talking holds one; a talking
patient's hold 7-18, and simulated speech under breathing 8-32 at every level and harmonic
slope tried (docs/accuracy.md, sixteenth round). Speech whose harmonics fall steeply can pass
the voice test and be taken for a wheeze at its fundamental: a wheeze in the speaking range
(:data:`VOICE_F0_HZ`) then says speech was heard."""
_STEADY_TONE_FRACTION = 0.6  # a tone in most frames is hum or device whine, not a wheeze
# A run of tonal frames is 64 ms frames averaged three at a time: a click ringing for 20-30 ms
# at a chest-piece or tissue resonance spans four or five of them (130-160 ms) and passes for a
# held tone. Its duration is measured again on the waveform: the amplitude in a band around
# the run's pitch track, over at least half its peak. The band is at least +-40 Hz and follows
# a gliding pitch; the amplitude is smoothed over 20 ms so that breath noise in the band does
# not cut a held tone. Filter and smoothing stretch an impulse to 20 ms, a click halving
# every 12 ms to 28 ms and leave a 100 ms tone at 98-100 ms: far apart at CORSA's 100 ms.
_HELD_MIN_HALF_BAND_HZ = 40.0
_HELD_SMOOTH_S = 0.02
_HELD_MARGIN_S = 0.25  # waveform kept on each side of the run
# The amplitude is sampled at a few hundred hertz and a 100 ms tone measures 98-100 ms: a
# tone is held when it reaches the asked duration within 10 ms (a click is 70 ms short).
_HELD_SLACK_S = 0.01
# The waveform band stays under 0.45 of the rate (the band-pass's skirt under Nyquist). A
# tone at the wheeze band's top needs its +-40 Hz there: rates under ~3.64 kHz would cut it
# and measure a held tone short, so the search refuses them (the analysis runs at 4 kHz).
_HELD_TOP_SHARE = 0.45
MIN_RATE_HZ = (_WHEEZE_BAND_HZ[1] + _HELD_MIN_HALF_BAND_HZ) / _HELD_TOP_SHARE


def find_wheezes(
    x: NDArray[np.float64],
    spectrogram: Spectrogram,
    min_duration_s: float,
    heart_sounds_s: NDArray[np.float64] | None = None,
) -> tuple[tuple[tuple[float, float], ...], float | None]:
    """Wheeze intervals (CORSA): a tonal peak above 100 Hz held at least ``min_duration_s``.

    Parameters
    ----------
    x : ndarray, shape (n,)
        The unfiltered recording the spectrogram was taken from (its rate is implied by the
        spectrogram's frequencies).
    spectrogram : (freqs_hz, centres_s, power)
        Half-overlapping frames of ``x`` (see ``frame_power``).
    min_duration_s : float
        Shortest tone reported, seconds.
    heart_sounds_s : ndarray or None
        Times of prominent heart sounds (s); frames near them are not tonal.

    Returns the intervals (seconds) and the dominant frequency of the longest one (Hz).

    Notes
    -----
    A frame is tonal when its most prominent bin stands out of its neighbours and holds an
    audible share of the band's power (:func:`_tonal_frames`). Left out: frames near heart
    sounds, a tone held through most of the recording (hum, device whine), runs whose tone
    lasts under ``min_duration_s`` on the waveform (a ringing click: :func:`_held_s`) and runs
    whose tone belongs to a voice-like harmonic series (speech, moaning: :func:`_voiced_frames`).
    """
    return WheezeSearch(x, spectrogram).find(min_duration_s, heart_sounds_s)


class Tone(NamedTuple):
    """One wheeze: its interval (s) and median pitch (Hz)."""

    start_s: float
    end_s: float
    pitch_hz: float


class WheezeSearch:
    """:func:`find_wheezes` over one recording, asked more than once.

    The lung analysis searches before and after heart sounds are known (they are looked for
    only when something was found): the tone candidates and each run's held duration on the
    waveform are worked out once for both searches.
    """

    def __init__(self, x: NDArray[np.float64], spectrogram: Spectrogram) -> None:
        self._x = x
        self._freqs, self._times, spectra = spectrogram
        if self._freqs.size and 2.0 * float(self._freqs[-1]) < MIN_RATE_HZ:
            raise ValueError(
                f"the wheeze search needs a recording at {MIN_RATE_HZ:.0f} Hz or more "
                f"(a spectrogram up to {MIN_RATE_HZ / 2:.0f} Hz); this one reaches "
                f"{float(self._freqs[-1]):.0f} Hz"
            )
        inside = np.flatnonzero(
            (self._freqs >= _WHEEZE_BAND_HZ[0]) & (self._freqs <= _WHEEZE_BAND_HZ[1])
        )
        self._band = slice(int(inside[0]), int(inside[-1]) + 1)
        self._tones = _tonal_frames(spectra, self._band) if self._times.size >= 2 else None
        self._held: dict[tuple[int, int], float] = {}  # run (start, end) -> _held_s
        # min duration -> the runs with no heart sounds left out and their voiced shares: the
        # first search and voice_sounds ask for the same
        self._ungated: dict[float, tuple[list[tuple[int, int]], NDArray[np.float64]]] = {}

    def find(
        self, min_duration_s: float, heart_sounds_s: NDArray[np.float64] | None = None
    ) -> tuple[tuple[tuple[float, float], ...], float | None]:
        """Wheeze intervals and the longest one's frequency, as :func:`find_wheezes`."""
        found = self.tones(min_duration_s, heart_sounds_s)
        if not found:
            return (), None
        longest = max(found, key=lambda tone: tone.end_s - tone.start_s)
        return tuple((t.start_s, t.end_s) for t in found), round(longest.pitch_hz, 1)

    def tones(
        self, min_duration_s: float, heart_sounds_s: NDArray[np.float64] | None = None
    ) -> tuple[Tone, ...]:
        """Each wheeze :func:`find` reports, with its own median pitch, in time order."""
        runs, voiced_share = self._runs(min_duration_s, heart_sounds_s)
        if not runs:
            return ()
        times, hop_s = self._times, float(self._times[1] - self._times[0])
        assert self._tones is not None  # there are runs
        found: list[Tone] = []
        track_hz = self._freqs[self._band][self._tones.best_bin]
        for (start, end), share in zip(runs, voiced_share.tolist(), strict=True):
            if share >= 0.5:
                continue
            # Checked last: it costs a transform per run.
            if self._held_s(start, end, track_hz[start:end]) < min_duration_s - _HELD_SLACK_S:
                continue
            t0 = float(times[start]) - hop_s / 2
            pitch = float(np.median(track_hz[start:end]))
            found.append(Tone(round(max(t0, 0.0), 3), round(t0 + (end - start) * hop_s, 3), pitch))
        return tuple(found)

    def voice_sounds(self, min_duration_s: float) -> int:
        """How many tones held ``min_duration_s`` were left out as voice (speech, moaning)."""
        _, voiced_share = self._runs(min_duration_s, None)
        return int(np.count_nonzero(voiced_share >= 0.5))

    def _runs(
        self, min_duration_s: float, heart_sounds_s: NDArray[np.float64] | None
    ) -> tuple[list[tuple[int, int]], NDArray[np.float64]]:
        """The runs of tonal frames held ``min_duration_s`` (frames near heart sounds left
        out) and the share of each run's frames that are voiced."""
        if heart_sounds_s is not None:
            return self._voiced_runs(min_duration_s, heart_sounds_s)
        if min_duration_s not in self._ungated:
            self._ungated[min_duration_s] = self._voiced_runs(min_duration_s, None)
        return self._ungated[min_duration_s]

    def _voiced_runs(
        self, min_duration_s: float, heart_sounds_s: NDArray[np.float64] | None
    ) -> tuple[list[tuple[int, int]], NDArray[np.float64]]:
        if self._tones is None:
            return [], np.zeros(0)
        times, hop_s = self._times, float(self._times[1] - self._times[0])
        best_bin, tonal = self._tones.best_bin, self._tones.tonal.copy()
        if heart_sounds_s is not None and heart_sounds_s.size:
            near = np.abs(times[:, None] - heart_sounds_s[None, :]) <= HEART_GATE_S + hop_s / 2
            tonal &= ~near.any(axis=1)
        tonal &= ~_steady_tone(best_bin, tonal)
        # Each frame stands for one hop around its centre: a conservative duration.
        runs = [(a, b) for a, b in _runs(tonal, best_bin) if (b - a) * hop_s >= min_duration_s]
        if not runs:
            return [], np.zeros(0)
        frames = np.concatenate([np.arange(a, b) for a, b in runs])
        voiced = _voiced_frames(self._tones, self._freqs, frames)
        lengths = np.array([b - a for a, b in runs])
        return runs, np.add.reduceat(voiced, np.cumsum(lengths) - lengths) / lengths

    def _held_s(self, start: int, end: int, track_hz: NDArray[np.float64]) -> float:
        """:func:`_held_s` of the run of frames ``start:end`` (pitch ``track_hz``), worked out
        once per run."""
        if (start, end) not in self._held:
            times, hop_s = self._times, float(self._times[1] - self._times[0])
            # A frame reaches a hop either side of its centre (half-overlapping frames).
            span_s = (float(times[start]) - hop_s, float(times[end - 1]) + hop_s)
            fs_hz = 2.0 * float(self._freqs[-1])
            self._held[start, end] = _held_s(self._x, fs_hz, span_s, track_hz)
        return self._held[start, end]


class _Tones(NamedTuple):
    """Per-frame tone candidates of a spectrogram (frames along the last axis)."""

    best_bin: NDArray[np.intp]  # most prominent bin of each frame, counted from band.start
    tonal: NDArray[np.bool_]  # whether that bin is a prominent, audible tone
    bin_offset: int  # band.start: add to best_bin for a row of ratio or smooth
    ratio: NDArray[np.float32]  # each bin's power over its neighbours' mean, all bins
    smooth: NDArray[np.float32]  # power averaged over three frames, all bins


def _tonal_frames(spectra: NDArray[np.float32], band: slice) -> _Tones:
    """Per frame, the most prominent bin in the band and whether it is an audible tone.

    Prominence is the bin's power (averaged over three frames) over the mean power of its
    neighbours, its own +-1 bins left out so a tone does not raise its own reference. A
    prominent peak must also hold at least 1 % (-20 dB) of the frame's power in the band: a
    whistle over an empty stretch of spectrum, far under the breath sound, is masked by it
    (upward spread of masking) and is not what a listener calls a wheeze.
    """
    smooth = _mean_of_three(spectra, axis=1)
    wide = ndimage.uniform_filter1d(smooth, size=_WHEEZE_NEIGHBOURS, axis=0, mode="nearest")
    centre = _mean_of_three(smooth, axis=0)
    # Mean power, not mean dB: a band edge (a deep trough beside a flat level) is then not
    # a peak. The running sums can dip a hair below zero in floating point: floor them.
    floor = max(float(smooth.max()) * 1e-12, 1e-30)
    # neighbours = (13 * wide - 3 * centre) / 10, computed in place (the Pi's memory bandwidth)
    neighbours = wide
    neighbours *= _WHEEZE_NEIGHBOURS / (_WHEEZE_NEIGHBOURS - 3.0)
    neighbours -= centre * (3.0 / (_WHEEZE_NEIGHBOURS - 3.0))
    np.maximum(neighbours, 0.0, out=neighbours)
    neighbours += floor
    ratio = smooth + floor
    ratio /= neighbours
    # Taken over the whole spectrum, then cut, so the search band has no artificial edge.
    best_bin = np.argmax(ratio[band], axis=0)
    frames = np.arange(ratio.shape[1])
    row = best_bin + band.start
    prominent = ratio[row, frames] >= 10.0 ** (_WHEEZE_PROMINENCE_DB / 10.0)
    audible = 3.0 * centre[row, frames] >= _WHEEZE_MIN_SHARE * smooth[band].sum(axis=0)
    return _Tones(best_bin, prominent & audible, band.start, ratio, smooth)


def _mean_of_three(a: NDArray[np.float32], axis: int) -> NDArray[np.float32]:
    """Mean of each element and its two neighbours along ``axis`` (0 or 1), ends repeated: as
    ``uniform_filter1d(size=3, mode="nearest")``, in two additions instead of a filter pass."""
    ends = np.concatenate((np.take(a, [0], axis=axis), a, np.take(a, [-1], axis=axis)), axis=axis)
    if axis == 0:
        total = ends[:-2] + ends[1:-1]
        total += ends[2:]
    else:
        total = ends[:, :-2] + ends[:, 1:-1]
        total += ends[:, 2:]
    total /= np.float32(3.0)
    return total


def _voiced_frames(
    tones: _Tones, freqs: NDArray[np.float64], frames: NDArray[np.intp]
) -> NDArray[np.bool_]:
    """Whether each frame's tone is one harmonic of a voice-like series (speech, moaning).

    The tone is taken as harmonic 1 to 6 of a fundamental in the speaking range; the series
    is voice-like when the fundamental and at least two more of its first six harmonics stand
    out. Voiced sound comes from a train of glottal pulses, rich in harmonics; a wheeze is a
    near-sinusoid, at most with a weaker second harmonic, and has no subharmonic.
    """
    bin_hz = float(freqs[1] - freqs[0])
    rows = tones.ratio.shape[0]
    peak = tones.best_bin[frames] + tones.bin_offset
    # The tone's frequency to a few hertz (parabolic interpolation of log power), so that its
    # sixth harmonic still falls within a bin of where it is looked for.
    lower, middle, upper = (
        np.log(tones.smooth[np.clip(peak + k, 0, rows - 1), frames] + 1e-30) for k in (-1, 0, 1)
    )
    curvature = lower - 2.0 * middle + upper
    peaked = curvature < 0.0
    offset = np.zeros(peak.size)
    offset[peaked] = np.clip(0.5 * (lower - upper)[peaked] / curvature[peaked], -0.5, 0.5)
    fundamental = (peak + offset)[None, :] / np.arange(1, _VOICE_HARMONICS + 1)[:, None]
    harmonics = np.arange(1, _VOICE_HARMONICS + 1)[None, :, None] * fundamental[:, None, :]
    at = np.clip(np.rint(harmonics).astype(np.intp), 1, rows - 2)  # (divisor, harmonic, frame)
    level = np.maximum.reduce([tones.ratio[at + k, frames] for k in (-1, 0, 1)])
    present = (level >= 10.0 ** (_HARMONIC_PROMINENCE_DB / 10.0)) & (harmonics < rows - 1)
    f0_hz = fundamental * bin_hz
    speaking = (f0_hz >= VOICE_F0_HZ[0]) & (f0_hz <= VOICE_F0_HZ[1])
    # The fundamental must be a tone itself (the chest wall passes it best), not a bump of
    # breath noise under a wheeze's second harmonic.
    fundamental_tone = level[:, 0, :] >= 10.0 ** (_WHEEZE_PROMINENCE_DB / 10.0)
    series = speaking & fundamental_tone & (present.sum(axis=1) >= _VOICE_MIN_HARMONICS)
    voiced: NDArray[np.bool_] = series.any(axis=0)
    return voiced


def _held_s(
    x: NDArray[np.float64], fs_hz: float, span_s: tuple[float, float], track_hz: NDArray[np.float64]
) -> float:
    """How long (s) a tone holds at least half its peak amplitude on the waveform.

    ``span_s`` is the stretch of the recording the run's frames cover and ``track_hz`` the
    run's pitch in each frame. The waveform is band-passed over the pitch track's range, at
    least +-40 Hz around its median; the returned stretch is the one around the loudest
    point within ``span_s`` where the smoothed amplitude stays at or over half of it. It may
    reach past ``span_s`` (by up to 0.25 s): a wheeze partly masked by breath noise or cut by
    a heart sound still lasts as long as it sounds.
    """
    margin = int(_HELD_MARGIN_S * fs_hz)
    first, last = int(span_s[0] * fs_hz), int(span_s[1] * fs_hz)
    start, stop = max(first - margin, 0), min(last + margin, x.size)
    centre = float(np.median(track_hz))
    low = max(min(float(track_hz.min()), centre - _HELD_MIN_HALF_BAND_HZ), 20.0)
    high = min(max(float(track_hz.max()), centre + _HELD_MIN_HALF_BAND_HZ), _HELD_TOP_SHARE * fs_hz)
    raw, rate_hz = _band_amplitude(x[start:stop], fs_hz, (low, high))
    amplitude = ndimage.uniform_filter1d(raw, size=max(1, round(_HELD_SMOOTH_S * rate_hz)))
    # The run's stretch at the amplitude's rate (the segment's end holds only zero padding).
    scale = rate_hz / fs_hz
    inside = amplitude[int((first - start) * scale) : int(np.ceil((last - start) * scale))]
    if inside.size == 0:
        return 0.0
    peak = int((first - start) * scale) + int(np.argmax(inside))
    stop_at = min(int(np.ceil((stop - start) * scale)), amplitude.size)
    begin, end = half_peak_span(amplitude, peak, 0, stop_at)
    return (end - begin) / rate_hz


def _band_amplitude(
    segment: NDArray[np.float64], fs_hz: float, band_hz: tuple[float, float]
) -> tuple[NDArray[np.float64], float]:
    """Amplitude of a segment in a band and the rate (Hz) it comes at.

    The band is a zero-phase second-order Butterworth band-pass (what ``sosfiltfilt`` applies:
    the squared magnitude), applied to one real FFT; the analytic signal is then taken back
    from the bins where the gain is over 1e-3 only, a short inverse transform that samples
    it at a lower rate (the band holds no faster change).
    """
    n = fft.next_fast_len(segment.size, real=True)  # zeros after the segment: its margins
    spectrum = fft.rfft(segment, n)
    f = fft.rfftfreq(n, 1.0 / fs_hz)
    low, high = band_hz
    with np.errstate(divide="ignore"):
        q = (f**2 - low * high) / (f * (high - low))
    gain = 1.0 / (1.0 + q**4)
    kept = np.flatnonzero(gain >= 1e-3)
    m = fft.next_fast_len(int(kept[-1] - kept[0]) + 1)
    shifted = np.zeros(m, dtype=np.complex128)
    shifted[: kept.size] = spectrum[kept] * gain[kept]
    amplitude: NDArray[np.float64] = np.abs(fft.ifft(shifted)) * (2.0 * m / n)
    return amplitude, fs_hz * m / n


def _steady_tone(best_bin: NDArray[np.intp], tonal: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Frames whose tone sits in a bin that is tonal in most of the recording (hum)."""
    if tonal.size == 0:
        return np.zeros(0, dtype=bool)
    counts = np.bincount(best_bin[tonal], minlength=int(best_bin.max()) + 2)
    spread = counts + np.roll(counts, 1) + np.roll(counts, -1)
    steady = spread >= _STEADY_TONE_FRACTION * tonal.size
    result: NDArray[np.bool_] = steady[best_bin]
    return result


def _runs(tonal: NDArray[np.bool_], best_bin: NDArray[np.intp]) -> list[tuple[int, int]]:
    """Runs (start, end) of tonal frames whose peak moves at most two bins from frame to frame."""
    follows = np.zeros(tonal.size, dtype=bool)
    follows[1:] = tonal[1:] & tonal[:-1] & (np.abs(np.diff(best_bin)) <= 2)
    starts = np.flatnonzero(tonal & ~follows)
    ends = np.flatnonzero(tonal & ~np.append(follows[1:], False)) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
