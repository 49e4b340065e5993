"""Heart and lung sound analysis with explainable triage: pure NumPy/SciPy, no I/O.

The names below are loaded on first use (PEP 562): a command that only reads thresholds or
rates, `stetho config check` among them, does not pay for SciPy's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stetho_common.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from stetho_signal._band_edges import (
        BELL_BAND_HZ,
        DIAPHRAGM_BAND_HZ,
        HEART_BAND_HZ,
        LUNG_BAND_HZ,
        WIDE_BAND_HZ,
    )
    from stetho_signal._problems import PROBLEM_TEXT
    from stetho_signal._rates import MAX_RATE_HZ, MIN_RATE_HZ
    from stetho_signal.analysis import Analysis, analyze
    from stetho_signal.errors import FilterDesignError, InvalidAudioError, SignalError
    from stetho_signal.filters import (
        MODE_BANDS_HZ,
        Mode,
        StreamingBandpass,
        bandpass,
        design_bandpass,
    )
    from stetho_signal.heart import HeartResult
    from stetho_signal.lung import LungResult
    from stetho_signal.quality import Quality
    from stetho_signal.triage import (
        AGE_BANDS,
        AgeBand,
        Findings,
        Flag,
        Triage,
        TriageThresholds,
        age_band_for,
    )

_HOMES = {
    "stetho_signal._band_edges": (
        "BELL_BAND_HZ", "DIAPHRAGM_BAND_HZ", "HEART_BAND_HZ", "LUNG_BAND_HZ", "WIDE_BAND_HZ",
    ),
    "stetho_signal._problems": ("PROBLEM_TEXT",),
    "stetho_signal._rates": ("MAX_RATE_HZ", "MIN_RATE_HZ"),
    "stetho_signal.analysis": ("Analysis", "analyze"),
    "stetho_signal.errors": ("FilterDesignError", "InvalidAudioError", "SignalError"),
    "stetho_signal.filters": (
        "MODE_BANDS_HZ", "Mode", "StreamingBandpass", "bandpass", "design_bandpass",
    ),
    "stetho_signal.heart": ("HeartResult",),
    "stetho_signal.lung": ("LungResult",),
    "stetho_signal.quality": ("Quality",),
    "stetho_signal.triage": (
        "AGE_BANDS", "AgeBand", "Findings", "Flag", "Triage", "TriageThresholds", "age_band_for",
    ),
}  # fmt: skip
__getattr__ = lazy_getattr(__name__, _HOMES)


__all__ = [
    "AGE_BANDS",
    "BELL_BAND_HZ",
    "DIAPHRAGM_BAND_HZ",
    "HEART_BAND_HZ",
    "LUNG_BAND_HZ",
    "MAX_RATE_HZ",
    "MIN_RATE_HZ",
    "MODE_BANDS_HZ",
    "PROBLEM_TEXT",
    "WIDE_BAND_HZ",
    "AgeBand",
    "Analysis",
    "FilterDesignError",
    "Findings",
    "Flag",
    "HeartResult",
    "InvalidAudioError",
    "LungResult",
    "Mode",
    "Quality",
    "SignalError",
    "StreamingBandpass",
    "Triage",
    "TriageThresholds",
    "age_band_for",
    "analyze",
    "bandpass",
    "design_bandpass",
]
