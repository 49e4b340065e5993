"""The reconnect policy of every link (BLE stethoscope, MQTT broker, doctor's tools): one pure
function, tested without sleeping.

Exponential with jitter, as `calculate_backoff_time` in bleak-retry-connector and esphome's
reconnect logic do: care homes of a region, or stethoscopes after a power cut, must not reconnect
in lockstep. A refusal that will repeat waits the longest instead of hammering the peer; a wrong
set-up gives up at once (the loop tells the operator).
"""

from __future__ import annotations

import random

from stetho_common.responses import Response, response_to

__all__ = ["BASE_DELAY_S", "MAX_DELAY_S", "next_delay", "persistent_delay"]

BASE_DELAY_S = 1.0
MAX_DELAY_S = 60.0


def next_delay(
    attempt: int,
    error: BaseException | None,
    *,
    base_s: float = BASE_DELAY_S,
    cap_s: float = MAX_DELAY_S,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before attempt `attempt` (0 after the first failure), or None to give up.

    Parameters
    ----------
    attempt : int
        Failures in a row so far, minus one. A loop resets it once a link has held.
    error : BaseException
        Why the last attempt failed: its `Response` decides (see `stetho_common.responses`);
        None for a failure known to be transient.
    base_s : float
        The first ceiling, in seconds (a test's fake device uses a short one).
    cap_s : float
        The longest wait, in seconds; a refusal that repeats waits exactly this.
    rng : random.Random, optional
        Source of the jitter (tests pass a seeded one).

    Returns
    -------
    float or None
        A delay drawn from the upper half of ``min(cap_s, base_s * 2**attempt)``; None when
        waiting cannot help.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    response = response_to(error)
    if response is Response.STOP:
        return None
    if response is Response.RETRY_LATER:
        return cap_s
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 32))
    source = rng if rng is not None else random
    return source.uniform(ceiling / 2, ceiling)


def persistent_delay(
    attempt: int,
    error: BaseException | None,
    *,
    base_s: float = BASE_DELAY_S,
    cap_s: float = MAX_DELAY_S,
    rng: random.Random | None = None,
) -> float:
    """:func:`next_delay` for a loop that never gives up: where it says stop, wait the longest.

    The agent's device and broker loops, the doctor's tools and the hub's broker and database
    loops keep trying until someone stops them; a fatal error then costs one try per `cap_s`.
    """
    delay = next_delay(attempt, error, base_s=base_s, cap_s=cap_s, rng=rng)
    return cap_s if delay is None else delay
