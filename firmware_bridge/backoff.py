"""Reconnect policy as a pure function: how long to wait before attempt `attempt`.

Exponential backoff capped at `cap_s`, as `calculate_backoff_time` in bleak-retry-connector and
esphome's reconnect logic do. Jitter is an input (0..1) rather than drawn here, so the function
stays pure and testable without sleeping; callers pass `random.random()`.
"""

from __future__ import annotations

from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    ConfigurationError,
    PairingRejectedError,
)

__all__ = ["FATAL_ERRORS", "next_delay"]

# Errors that no amount of waiting fixes: give up at once and tell the operator.
FATAL_ERRORS: tuple[type[BaseException], ...] = (
    ConfigurationError,
    AdapterUnavailableError,
    BluetoothPermissionError,
    PairingRejectedError,
)


def next_delay(
    attempt: int,
    error: BaseException,
    *,
    base_s: float = 0.5,
    cap_s: float = 30.0,
    jitter: float = 0.0,
) -> float | None:
    """Seconds to wait before reconnect attempt `attempt` (0-based), or None to give up.

    Parameters
    ----------
    attempt : int
        How many attempts failed in a row so far (0 after the first failure).
    error : BaseException
        Why the last attempt failed; fatal errors return None.
    base_s, cap_s : float
        First delay and ceiling, in seconds.
    jitter : float
        0..1; shortens the delay by up to half, so many agents restarting together (a power cut
        in the care home) do not reconnect in lockstep.
    """
    if isinstance(error, FATAL_ERRORS):
        return None
    if attempt < 0 or not 0.0 <= jitter <= 1.0:
        raise ValueError("attempt must be >= 0 and jitter within 0..1")
    delay = min(cap_s, base_s * 2.0 ** min(attempt, 32))
    return delay * (1.0 - 0.5 * jitter)
