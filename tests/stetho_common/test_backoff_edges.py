"""The backoff policy at its edges: no error given, the doubling's end, what is passed on."""

import random

from stetho_common import Response, next_delay, persistent_delay, response_to


def test_no_error_is_a_transient_failure_retried_with_jitter() -> None:
    assert response_to(None) is Response.RETRY
    delay = next_delay(0, None)  # no rng given: the module's own
    assert delay is not None and 0.5 <= delay <= 1.0


def test_the_ceiling_stops_doubling_after_32_doublings_so_huge_attempts_never_overflow() -> None:
    # 2.0 ** 1024 overflows a float: the exponent is held at 32, whatever the cap.
    for attempt in (32, 33, 40, 10**9):
        delay = next_delay(attempt, None, base_s=1.0, cap_s=1e300, rng=random.Random(attempt))
        assert delay == random.Random(attempt).uniform(2.0**31, 2.0**32)


def test_persistent_delay_passes_its_base_and_cap_on() -> None:
    # attempt 3: ceiling min(cap, base * 8); with the defaults (1 s, 60 s) it would be 8 s.
    assert persistent_delay(3, None, base_s=2.0, cap_s=10.0, rng=random.Random(1)) == (
        random.Random(1).uniform(5.0, 10.0)
    )
    assert persistent_delay(3, None, base_s=0.5, cap_s=60.0, rng=random.Random(2)) == (
        random.Random(2).uniform(2.0, 4.0)
    )
