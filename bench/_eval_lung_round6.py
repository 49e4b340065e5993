"""Sixth round's lung probe: other crackle detectors, a crackle's waveform, whitened tones.

Everything is measured from the recording alone; the annotated cycles give only the truth.
Each family is a set of rules that flag a recording, the shipped rule always a member, scored
as the fifth round's (:func:`bench._eval_lung_round5.family_scores`): the best member on all
36 recordings (fitted) and leave-one-patient-out (each patient gets the member with the best
Se + Sp on the other patients; ties go to the shipped rule, then to the earlier member).

Crackles (the shipped flag: at least 3 detections of ``stetho_signal.crackles``):

- ``not_a_spike``: detections whose waveform is not a single spike: the share of their
  energy (+-4 ms in the 150-1800 Hz band, read at 8 kHz as the detector reads it) within
  +-0.3 ms of the largest deflection is under c. A click through the band keeps ~0.8 of it
  there; a crackle that rings down keeps less, by its pitch as much as by its ringing
  (``synthetic_spike_share``: 0.25-0.58 at 2CD 3-11 ms with 0.3 of the amplitude kept per
  cycle, 0.62-0.71 at 2CD 3-4 ms with 0.15). Members from the most lenient c down, so ties
  go to the one closest to the shipped rule.
- ``damped_fit``: detections whose best damped sinusoid (:func:`damped_fits`) explains at
  least R2 of the band around them, with at least d of the amplitude kept per cycle.
- ``nonstationary_wavelet``, ``kurtosis``, ``katz_fractal_dimension``: separate detectors
  (:mod:`bench._eval_lung_detectors`), heart sounds gated as shipped; recordings need n
  events. The wavelet one's members also with the ``not_a_spike`` test at 0.6.

Wheezes (the shipped flag: one tone 9 dB over its neighbours held 100 ms):

- ``whitened``: the wheeze search with each bin's power divided by the recording's own
  median power in that bin (a resonance present all the time is then 0 dB) and a tone p dB
  over the median of its whitened neighbours (+-6 bins, its own +-1 left out); every other
  shipped test kept (audible share, heart sounds, steady tone, voice, held on the waveform).
  Held at least 100 ms (CORSA) or 250 ms (ATS, DOMAIN.md), optionally rising and falling
  within a breath: at its pitch the whitened level falls p dB under the tone's peak within
  half a breath before it and after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from bench._eval_lung import annotated_cycles, read_audio
from bench._eval_lung_detectors import (
    FINE_HZ,
    FRACTAL_RULES,
    KURTOSIS_RULES,
    NST_RULES,
    fractal_events,
    kurtosis_events,
    nonstationary_events,
)
from bench._eval_lung_round5 import Rules, family_lines, family_scores
from stetho_signal import _ringing, crackles, lung, wheezes
from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._heart_gate import CLEAR_HEARTBEAT, HEART_SOUND_REACH_S, REGULAR_NRMSSD
from stetho_signal._spectra import Spectrogram, frame_power
from stetho_signal.bands import Spectrum
from stetho_signal.heart import analyze_heart

FLAG_COUNT = 3  # TriageThresholds.crackles_min_count
SPIKE_SHARES = (0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45)  # lenient first
SPIKE_HALF_S, SPIKE_CORE_S = 0.004, 0.0003
FIT_RULES = tuple(itertools.product((0.5, 0.6, 0.7, 0.8), (0.1, 0.2, 0.35)))  # R2, decay
# The analysis's ringing rule (twentieth round) was built from this round's models: one grid
# serves both (150-1000 Hz, 0.1-0.5 of the amplitude kept per cycle, 2 ms before to 12 ms after).
FIT_FREQS_HZ = _ringing._FREQS_HZ
FIT_DECAYS = _ringing._KEPT_PER_CYCLE
FIT_SPAN_S = _ringing._SPAN_S
WAVEFORM_SHARE = 0.6
TONE_RULES = tuple(itertools.product((6.0, 9.0, 12.0, 15.0), (0.1, 0.25), (False, True)))
_DEFAULT_BREATH_S = 4.0


def sixth_round_probe(data_dir: Path, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per-recording measures and each rule family's fitted and held-out Se / Sp."""
    rows = [_row(data_dir, record) for record in records]
    patients = [r["patient"] for r in rows]
    truth = {"crackles": [r["crackles"] for r in rows], "wheezes": [r["wheezes"] for r in rows]}
    families = {
        kind: {
            name: family_scores(truth[kind], patients, rules)
            for name, rules in builder(rows).items()
        }
        for kind, builder in (("crackles", crackle_families), ("wheezes", wheeze_families))
    }
    return {
        "per_recording": [_public(r) for r in rows],
        "synthetic_spike_share": synthetic_spike_shares(),
        **families,
    }


class LungInputs(NamedTuple):
    """One lung recording as the shipped analysis prepares it, and what the probes read off it."""

    samples: NDArray[np.float64]
    spectrum: Spectrum
    fine: NDArray[np.float64]  # the crackle band at the crackle detector's interpolated rate
    heart: NDArray[np.float64]  # prominent heart-sound times, s
    spectrogram: Spectrogram  # the wheeze detector's frames


def lung_inputs(path: Path) -> LungInputs:
    """Read, prepare and measure one lung recording once for every probe that needs it."""
    raw, fs = read_audio(path)
    x = prepare(raw, fs).samples
    spectrum = Spectrum(x, ANALYSIS_RATE_HZ)
    fine, _ = crackles.crackle_band(lung.lung_band(spectrum), ANALYSIS_RATE_HZ)
    spectrogram = frame_power(
        x, ANALYSIS_RATE_HZ, wheezes.WHEEZE_NPERSEG, wheezes.WHEEZE_NPERSEG // 2
    )
    return LungInputs(
        x, spectrum, fine.astype(np.float64), lung.heart_sound_times(spectrum), spectrogram
    )


def _row(data_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    path = data_dir / record["file"]
    x, spectrum, fine64, heart, spectrogram = lung_inputs(path)
    lasting = heart[lung._longer_than_a_crackle(heart, spectrum)]
    beat = _heartbeat_sounds(spectrum)

    def gated(times: list[float]) -> NDArray[np.float64]:
        kept = np.asarray(lung._away_from(tuple(times), lasting), dtype=np.float64)
        if beat.size and kept.size:
            near = np.abs(kept[:, None] - beat[None, :]) <= HEART_SOUND_REACH_S
            kept = kept[~near.any(axis=1)]
        return kept

    cycles = annotated_cycles(path)
    shipped = np.asarray(record["crackle_times_s"], dtype=np.float64)
    rate = record["rr_estimate_bpm"]
    breath_s = 60.0 / rate if rate else _DEFAULT_BREATH_S
    nst = {key: gated(t) for key, t in nonstationary_events(fine64).items()}
    kurt = {key: gated(t) for key, t in kurtosis_events(fine64).items()}
    fractal = {key: gated(t) for key, t in fractal_events(fine64).items()}
    return {
        "file": record["file"],
        "patient": record["patient"],
        "crackles": bool((cycles[:, 2] > 0).any()),
        "wheezes": bool((cycles[:, 3] > 0).any()),
        "shipped": shipped,
        "spike_share": spike_shares(fine64, shipped),
        "fit": damped_fits(fine64, shipped),
        "nst": {key: (t, spike_shares(fine64, t)) for key, t in nst.items()},
        "kurtosis": kurt,
        "fractal": fractal,
        "wheeze_flagged": bool(record["wheeze_flagged"]),
        "whitened": whitened_tone_counts(x, spectrogram, heart, breath_s),
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """What the JSON keeps of a row."""
    return {
        "file": row["file"],
        "patient": row["patient"],
        "crackles": row["crackles"],
        "wheezes": row["wheezes"],
        "detections": int(row["shipped"].size),
        "spike_share": [round(float(v), 2) for v in sorted(row["spike_share"])],
        "damped_fit_r2_decay": [[round(float(a), 2), float(b)] for a, b in row["fit"]],
        "nonstationary_events_k5_m2": int(row["nst"][5.0, 2][0].size),
        "kurtosis_events_12": int(row["kurtosis"][12.0].size),
        "fractal_events_1_2": int(row["fractal"][1.2].size),
        "whitened_tones": {
            f"{p:g} dB, {d:g} s, {w}": n for (p, d, w), n in row["whitened"].items()
        },
    }


def spike_shares(fine: NDArray[np.float64], times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per detection, the share of its energy (+-4 ms) within +-0.3 ms of its largest peak."""
    half, core = round(SPIKE_HALF_S * FINE_HZ), round(SPIKE_CORE_S * FINE_HZ)
    out = []
    for t in times_s:
        i = round(float(t) * FINE_HZ)
        segment = fine[max(i - half, 0) : i + half]
        if segment.size < 2 * core + 1:
            out.append(1.0)
            continue
        k = int(np.argmax(np.abs(segment)))
        energy = np.square(segment)
        out.append(float(energy[max(k - core, 0) : k + core + 1].sum() / energy.sum()))
    return np.asarray(out)


def damped_fits(fine: NDArray[np.float64], times_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per detection, the best damped-sinusoid fit (R2) and its decay per cycle.

    The model is A exp(-t f ln(1/d)) sin(2 pi f t + phi) from an onset at or up to half a
    period before the largest deflection (f 150-1000 Hz, d 0.1-0.5), zero before it, least
    squares over 2 ms before to 12 ms after that deflection.
    """
    before, after = round(FIT_SPAN_S[0] * FINE_HZ), round(FIT_SPAN_S[1] * FINE_HZ)
    segments = []
    for t in times_s:
        i = round(float(t) * FINE_HZ)
        k = i - 8 + int(np.argmax(np.abs(fine[max(i - 8, 0) : i + 8])))
        segment = fine[max(k - before, 0) : k + after]
        if segment.size < before + after:
            segment = np.zeros(before + after)
        segments.append(segment)
    if not segments:
        return np.zeros((0, 2))
    s = np.asarray(segments)
    energy = np.maximum(np.sum(s * s, axis=1), 1e-30)
    best = np.zeros((s.shape[0], 2))
    t_all = (np.arange(before + after) - before) / FINE_HZ
    for f, d in itertools.product(FIT_FREQS_HZ, FIT_DECAYS):
        for lead in np.linspace(0.0, 0.5 / f, 4):
            t = t_all + lead
            envelope = np.where(t >= 0, np.exp(-np.maximum(t, 0.0) * f * np.log(1.0 / d)), 0.0)
            basis = np.stack(
                [envelope * np.sin(2 * np.pi * f * t), envelope * np.cos(2 * np.pi * f * t)]
            )
            gram_inv = np.linalg.pinv(basis @ basis.T)
            projection = s @ basis.T  # (detections, 2)
            explained = np.einsum("ni,ij,nj->n", projection, gram_inv, projection) / energy
            better = explained > best[:, 0]
            best[better] = np.column_stack([explained[better], np.full(better.sum(), d)])
    return best


def synthetic_spike_shares() -> dict[str, list[float]]:
    """``spike_shares`` range over sampling phases of an impulse and of damped crackles
    (2CD 3-11 ms, amplitude kept per cycle 0.15 as tests/stetho_signal/test_lung.py's and
    0.3 as stetho_sim's), made at 44.1 kHz and analysed as a recording."""
    from scipy import signal as sig

    native = 44100.0
    shapes: dict[str, NDArray[np.float64]] = {"impulse": np.array([1.0])}
    for two_cycle_ms, decay in itertools.product((3.0, 4.0, 5.0, 8.0, 11.0), (0.15, 0.3)):
        f = 2000.0 / two_cycle_ms
        t = np.arange(int(4.0 / f * native)) / native
        shapes[f"2CD {two_cycle_ms:g} ms, {decay:g}/cycle"] = np.sin(2 * np.pi * f * t) * decay ** (
            t * f
        )
    out = {}
    for name, wave in shapes.items():
        shares = []
        for phase in np.linspace(0.0, 0.9, 4):
            x = np.zeros(int(native))
            start = int(native * 0.5 + phase * native / ANALYSIS_RATE_HZ)
            x[start : start + wave.size] += wave
            x4 = sig.resample_poly(x, 40, 441)
            fine, _ = crackles.crackle_band(
                lung.lung_band(Spectrum(x4, ANALYSIS_RATE_HZ)), ANALYSIS_RATE_HZ
            )
            fine64 = fine.astype(np.float64)
            peak = int(np.argmax(np.abs(fine64)))
            shares.append(float(spike_shares(fine64, np.array([peak / FINE_HZ]))[0]))
        out[name] = [round(min(shares), 2), round(max(shares), 2)]
    return out


def _heartbeat_sounds(spectrum: Spectrum) -> NDArray[np.float64]:
    """S1 and S2 of a clear, regular heartbeat, as the lung analysis gates them (else none)."""
    heart = analyze_heart(spectrum)
    clear = heart.heartbeat_found and heart.periodicity >= CLEAR_HEARTBEAT
    regular = heart.rr_nrmssd is not None and heart.rr_nrmssd < REGULAR_NRMSSD
    if not (clear and regular):
        return np.zeros(0)
    return np.concatenate([heart.s1_s, heart.s2_s]).astype(np.float64)


def whitened_tone_counts(
    x: NDArray[np.float64],
    spectrogram: Any,
    heart_s: NDArray[np.float64],
    breath_s: float,
) -> dict[tuple[float, float, bool], int]:
    """Tones found by the wheeze search on the whitened spectrogram, per rule."""
    search = wheezes.WheezeSearch(x, spectrogram)
    tones = search._tones
    if tones is None:
        return dict.fromkeys(TONE_RULES, 0)
    whitened, over = _whitened(tones.smooth)
    band = search._band
    best = np.argmax(over[band], axis=0)
    frames = np.arange(over.shape[1])
    row = best + band.start
    centre = wheezes._mean_of_three(tones.smooth, axis=0)
    audible = 3.0 * centre[row, frames] >= wheezes._WHEEZE_MIN_SHARE * tones.smooth[band].sum(
        axis=0
    )
    freqs, times = spectrogram[0], spectrogram[1]
    counts = {}
    for prominence in sorted({p for p, _, _ in TONE_RULES}):
        tonal = (over[row, frames] >= prominence) & audible
        search._tones = tones._replace(best_bin=best, tonal=tonal)
        found = search.tones(0.1, heart_s)
        for p, held, within in TONE_RULES:
            if p == prominence:
                counts[p, held, within] = sum(
                    tone.end_s - tone.start_s >= held - 1e-9
                    and (not within or _rises_and_falls(tone, whitened, freqs, times, breath_s, p))
                    for tone in found
                )
    return counts


def _whitened(smooth: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each bin in dB over its median in the recording, and over its whitened neighbours'
    median (+-6 bins, its own +-1 left out)."""
    power = smooth.astype(np.float64)
    whitened = 10.0 * np.log10(power / (np.median(power, axis=1, keepdims=True) + 1e-30) + 1e-12)
    padded = np.pad(whitened, ((6, 6), (0, 0)), mode="edge")
    windows = sliding_window_view(padded, 13, axis=0)
    neighbours = np.median(np.concatenate([windows[..., :5], windows[..., 8:]], axis=-1), axis=-1)
    return whitened, whitened - neighbours


def _rises_and_falls(
    tone: wheezes.Tone,
    whitened: NDArray[np.float64],
    freqs: NDArray[np.float64],
    times: NDArray[np.float64],
    breath_s: float,
    prominence_db: float,
) -> bool:
    """Whether, at the tone's pitch, the whitened level falls ``prominence_db`` under the
    tone's peak within half a breath before it and after it (it rises and falls)."""
    row = int(np.argmin(np.abs(freqs - tone.pitch_hz)))
    level = whitened[max(row - 1, 0) : row + 2].max(axis=0)
    peak = float(level[(times >= tone.start_s) & (times <= tone.end_s)].max(initial=0.0))
    before = level[(times >= tone.start_s - breath_s / 2) & (times < tone.start_s)]
    after = level[(times > tone.end_s) & (times <= tone.end_s + breath_s / 2)]
    threshold = peak - prominence_db
    return bool(before.size and after.size and before.min() <= threshold >= after.min())


def crackle_families(rows: list[dict[str, Any]]) -> dict[str, Rules]:
    """Each crackle rule family, its members flagging (or not) each recording."""
    shipped = [r["shipped"].size >= FLAG_COUNT for r in rows]
    spike = {
        f"share < {c:g}": [int((r["spike_share"] < c).sum()) >= FLAG_COUNT for r in rows]
        for c in SPIKE_SHARES
    }
    fit = {
        f"R2 >= {r:g}, decay >= {d:g}": [
            int(((row["fit"][:, 0] >= r) & (row["fit"][:, 1] >= d)).sum()) >= FLAG_COUNT
            for row in rows
        ]
        for r, d in FIT_RULES
    }
    nst: Rules = {}
    for (k, m, n), waveform in itertools.product(NST_RULES, (False, True)):
        name = f"k {k:g}, {m} scales, >= {n}" + (
            f", share < {WAVEFORM_SHARE:g}" if waveform else ""
        )
        nst[name] = [
            int((r["nst"][k, m][1] < WAVEFORM_SHARE).sum() if waveform else r["nst"][k, m][0].size)
            >= n
            for r in rows
        ]
    kurt = {
        f"K {k:g}, >= {n}": [r["kurtosis"][k].size >= n for r in rows] for k, n in KURTOSIS_RULES
    }
    fractal = {
        f"D <= {d:g}, >= {n}": [r["fractal"][d].size >= n for r in rows] for d, n in FRACTAL_RULES
    }
    return {
        "not_a_spike": {"shipped": shipped} | spike,
        "damped_fit": {"shipped": shipped} | fit,
        "nonstationary_wavelet": {"shipped": shipped} | nst,
        "kurtosis": {"shipped": shipped} | kurt,
        "katz_fractal_dimension": {"shipped": shipped} | fractal,
    }


def wheeze_families(rows: list[dict[str, Any]]) -> dict[str, Rules]:
    """The whitened tone family, its members flagging (or not) each recording."""
    members = {
        f"{p:g} dB, {d * 1000:g} ms" + (", within a breath" if w else ""): [
            r["whitened"][p, d, w] > 0 for r in rows
        ]
        for p, d, w in TONE_RULES
    }
    return {"whitened": {"shipped": [r["wheeze_flagged"] for r in rows]} | members}


def summary_lines(probe: dict[str, Any]) -> list[str]:
    """One line per family, as ``make eval`` prints them."""
    return family_lines(probe, "sixth round", 22)
