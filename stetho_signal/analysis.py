"""One call from raw samples to an explainable result: :func:`analyze`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from numpy.typing import NDArray

from stetho_signal._audio import ANALYSIS_RATE_HZ, prepare
from stetho_signal._mains import HIGHEST_HZ, without_hum
from stetho_signal._rules import findings, triage
from stetho_signal.bands import Spectrum
from stetho_signal.envelope import HEART_RATE_HZ
from stetho_signal.errors import InvalidAudioError
from stetho_signal.filters import HEART_BAND_HZ
from stetho_signal.heart import HeartResult, analyze_heart
from stetho_signal.lung import LungResult, analyze_lung, lung_band, shortest_breath_s
from stetho_signal.quality import (
    HANDLING_BAND_HZ,
    HANDLING_RATE_HZ,
    Quality,
    assess_quality,
    grade_quality,
    handling_burst_s,
)
from stetho_signal.triage import AGE_BANDS, AgeBand, Findings, Flag, Triage, TriageThresholds

__all__ = ["Analysis", "analyze", "without_mains_hum"]

Kind = Literal["heart", "lung"]


@dataclass(frozen=True)
class Analysis:
    """Everything measured on one recording, plus the triage it leads to.

    ``heart`` is None for lung recordings and ``lung`` for heart recordings.
    """

    sample_rate_hz: float
    duration_s: float
    kind: str
    quality: Quality
    heart: HeartResult | None
    lung: LungResult | None
    triage: Triage

    @property
    def findings(self) -> Findings:
        """What the triage thresholds make of the measurements (irregular, murmur, crackles)."""
        return self.triage.findings

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``stetho analyze --json`` (without ``file``): plain types only."""
        return {
            "sample_rate_hz": _number(self.sample_rate_hz),
            "duration_s": _number(round(self.duration_s, 3)),
            "kind": self.kind,
            "quality": _quality_dict(self.quality),
            "heart": None if self.heart is None else _heart_dict(self.heart, self.findings),
            "lung": None if self.lung is None else _lung_dict(self.lung, self.findings),
            "triage": {
                "level": self.triage.level,
                "flags": [_flag_dict(f) for f in self.triage.flags],
            },
        }


def _quality_dict(q: Quality) -> dict[str, Any]:
    out: dict[str, Any] = {
        "score": _number(q.score),
        "acceptable": bool(q.acceptable),
        "problems": list(q.problems),
    }
    # Hum taken out is reported, not a problem: the score and the verdict ignore it. Left out
    # without hum, as the wire leaves it out for older readers. 0.01 Hz: finer than the
    # transform resolves a harmonic (0.1 Hz over 10 s), divided by its order.
    if q.measures.mains_hum_hz:
        out["mains_hum_hz"] = [round(float(hz), 2) for hz in q.measures.mains_hum_hz]
    # Faint yet analysed (a stethoscope at low gain): reported, never a problem, left out
    # otherwise as the hum is.
    if q.faint:
        out["faint_level_dbfs"] = round(float(q.measures.level_dbfs), 1)
    return out


def _flag_dict(f: Flag) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": f.code,
        "reason": f.reason,
        "value": _number(f.value),
        "threshold": _number(f.threshold),
    }
    if f.details:  # left out when empty, as the wire leaves it out for older readers
        out["details"] = dict(f.details)
    return out


def _number(value: float | None) -> float | None:
    """A plain float, or None for missing or non-finite values (JSON has no NaN)."""
    if value is None:
        return None
    as_float = float(value)
    return as_float if math.isfinite(as_float) else None


def _heart_dict(h: HeartResult, found: Findings) -> dict[str, Any]:
    return {
        "rate_bpm": _number(h.rate_bpm),
        "s1_s": [float(t) for t in h.s1_s],
        "s2_s": [float(t) for t in h.s2_s],
        "irregular": found.irregular,
        "murmur_suspected": found.murmur_suspected,
    }


def _lung_dict(g: LungResult, found: Findings) -> dict[str, Any]:
    return {
        "respiratory_rate_bpm": _number(g.respiratory_rate_bpm),
        "wheeze": bool(g.wheeze),
        "wheeze_intervals_s": [[float(a), float(b)] for a, b in g.wheeze_intervals_s],
        "crackles": bool(found.crackles),
        "crackle_times_s": [float(t) for t in g.crackle_times_s],
    }


# The heart analysis reads the spectrum to 1 kHz: its high band (300-1000 Hz, _sound_band) and
# the hum's harmonics (to _mains.HIGHEST_HZ) with their neighbours, a few Hz past it. Only those
# bins are made (Spectrum's top_hz: under half the cost of the whole transform).
_HEART_TOP_HZ = HIGHEST_HZ + 100.0


def without_mains_hum(
    x: NDArray[Any], top_hz: float | None = None
) -> tuple[NDArray[Any], Spectrum, tuple[float, ...]]:
    """The samples the analysis reads (``x`` at :data:`ANALYSIS_RATE_HZ`, as ``prepare`` gives
    them), mains hum taken out when there is any, their spectrum (``Spectrum``'s ``top_hz``)
    and the hum's fundamentals found (Hz; empty when none).

    One transform of the recording, every band cut from it; a second one only when the
    recording carries mains hum, taken out of the samples first.
    """
    spectrum = Spectrum(x, ANALYSIS_RATE_HZ, top_hz)
    if hum := spectrum.mains_hum():
        x = without_hum(x, ANALYSIS_RATE_HZ, spectrum.mains_lines(hum))
        spectrum = Spectrum(x, ANALYSIS_RATE_HZ, top_hz)
    return x, spectrum, hum


# Frozen: one instance serves every call (its checks cost ~40 us a recording).
_DEFAULT_THRESHOLDS = TriageThresholds()


def analyze(
    samples: NDArray[Any],
    fs_hz: float,
    kind: Kind,
    thresholds: TriageThresholds | None = None,
    age_band: AgeBand | None = None,
) -> Analysis:
    """Analyse one heart or lung recording and triage it.

    Parameters
    ----------
    samples : ndarray, shape (n,) or (n, channels)
        int16, int32 (int24 left-justified), unsigned or float samples; only the first channel
        is used. Floats are taken with full scale 1.0.
    fs_hz : float
        Sampling rate in Hz, 2000 to 48000. The analysis runs at 4 kHz after ``resample_poly``.
    kind : {"heart", "lung"}
        Where the chest piece was.
    thresholds : TriageThresholds, optional
        Triage thresholds (the config owns them); defaults cite their clinical sources.
    age_band : {"adult", "under_1", "1_to_2", "2_to_5", "5_to_12", "12_to_16"}, optional
        The patient's age band: a child's band replaces the rate thresholds with published
        paediatric ranges (:meth:`TriageThresholds.for_age_band`); None or ``"adult"`` keeps
        ``thresholds`` (NEWS2 by default).

    Returns
    -------
    Analysis

    Raises
    ------
    InvalidAudioError
        Empty input, shorter than 1 s, NaN/inf, unsupported dtype, shape or rate, or an
        unknown ``kind`` or ``age_band``.
    """
    if kind not in ("heart", "lung"):
        raise InvalidAudioError(f"kind must be 'heart' or 'lung', got {kind!r}")
    if age_band is not None and age_band not in AGE_BANDS:
        raise InvalidAudioError(f"age band must be one of {', '.join(AGE_BANDS)}, got {age_band!r}")
    limits = thresholds if thresholds is not None else _DEFAULT_THRESHOLDS
    if age_band is not None:
        limits = limits.for_age_band(age_band)
    audio = prepare(samples, fs_hz)
    x, spectrum, hum = without_mains_hum(audio.samples, _HEART_TOP_HZ if kind == "heart" else None)
    heart: HeartResult | None = None
    lung: LungResult | None = None
    if kind == "heart":
        band = spectrum.band(HEART_BAND_HZ, HEART_RATE_HZ)
        # What the rules read in the urgent bands only: measured there only.
        heart = analyze_heart(
            spectrum,
            limits.heart_rate_urgent_low_bpm,
            limits.heart_rate_urgent_high_bpm,
            band,
            audio.samples,  # hum left in: the beat step's bound was placed so
        )
        # Sounds as wide as breaths repeat (periodicity) without being a heartbeat.
        heartbeat: tuple[float, float] | None = (
            (heart.periodicity, heart.sound_prominence) if heart.heartbeat_found else (0.0, 0.0)
        )
        flatness: float | None = None
        sub = spectrum.band(HANDLING_BAND_HZ, HANDLING_RATE_HZ, order=2)
        handling: float | None = handling_burst_s(sub, HANDLING_RATE_HZ)
    else:
        band = lung_band(spectrum)
        # Breathing sought up to twice the band's urgent rate: a faster one is read at half.
        shortest = shortest_breath_s(limits.respiratory_rate_urgent_high_bpm)
        lung = analyze_lung(
            x, spectrum, band, limits.wheeze_min_duration_s, audio.signal_span_s, shortest
        )
        heartbeat, flatness, handling = None, lung.spectral_flatness, None
    swell = None if lung is None else lung.breath_swell_db
    # The background is judged only when nothing it could hide was heard through it: crackles
    # or a wheeze found in the noise reach a doctor as they are, never sent back for it.
    heard = lung is not None and (lung.wheeze or bool(findings(None, lung, limits).crackles))
    over_floor = None if lung is None or heard else lung.band_over_floor_db
    scores = assess_quality(
        band, audio.clipped_fraction, heartbeat, flatness, handling, hum, swell, over_floor
    )
    quality = grade_quality(scores, limits.quality_min_score)
    return Analysis(
        sample_rate_hz=audio.input_rate_hz,
        duration_s=audio.duration_s,
        kind=kind,
        quality=quality,
        heart=heart,
        lung=lung,
        triage=triage(quality, heart, lung, limits, age_band),
    )
