"""Reconnect policy for the broker link: a pure function, tested without sleeping."""

from __future__ import annotations

import random

BASE_DELAY_S = 1.0
MAX_DELAY_S = 60.0


def next_delay(attempt: int, retryable: bool = True, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based).

    Exponential with full jitter up to MAX_DELAY_S, so that the care homes of a region
    do not reconnect in lockstep after the hospital broker restarts. The agent never gives
    up (the outbox keeps everything meanwhile); a refusal that will repeat (bad credentials,
    not authorised) waits the maximum rather than hammering the broker.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not retryable:
        return MAX_DELAY_S
    ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** min(attempt, 16))
    source = rng if rng is not None else random
    return source.uniform(ceiling / 2, ceiling)
