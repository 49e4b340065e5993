import random

import pytest

from edge_agent.backoff import MAX_DELAY_S, next_delay


def test_delay_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt in range(20):
        delay = next_delay(attempt, rng=rng)
        ceiling = min(MAX_DELAY_S, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_refusals_that_repeat_wait_the_maximum() -> None:
    assert next_delay(0, retryable=False) == MAX_DELAY_S


def test_negative_attempt_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        next_delay(-1)
