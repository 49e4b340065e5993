"""Errors raised by the signal-processing core, typed by what the caller does next."""


class SignalError(Exception):
    """Root of every error stetho_signal raises."""


class InvalidAudioError(SignalError, ValueError):
    """The samples cannot be analysed (empty, too short, NaN/inf, bad rate): drop or re-record."""


class FilterDesignError(SignalError, ValueError):
    """A filter cannot be built for this band, order and sample rate: fix the parameters."""
