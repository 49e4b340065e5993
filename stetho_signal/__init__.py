"""Heart and lung sound analysis with explainable triage: pure NumPy/SciPy, no I/O."""

from stetho_signal.errors import InvalidAudioError, SignalError

__all__ = ["InvalidAudioError", "SignalError"]
