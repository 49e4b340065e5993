"""Heart and lung sound analysis with explainable triage: pure NumPy/SciPy, no I/O."""

from stetho_signal._audio import MAX_RATE_HZ, MIN_RATE_HZ
from stetho_signal.analysis import Analysis, analyze
from stetho_signal.errors import FilterDesignError, InvalidAudioError, SignalError
from stetho_signal.filters import (
    BELL_BAND_HZ,
    DIAPHRAGM_BAND_HZ,
    HEART_BAND_HZ,
    LUNG_BAND_HZ,
    MODE_BANDS_HZ,
    WIDE_BAND_HZ,
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

__all__ = [
    "AGE_BANDS",
    "BELL_BAND_HZ",
    "DIAPHRAGM_BAND_HZ",
    "HEART_BAND_HZ",
    "LUNG_BAND_HZ",
    "MAX_RATE_HZ",
    "MIN_RATE_HZ",
    "MODE_BANDS_HZ",
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
