"""Short form of bench.page_live_bench: the page's live trace keeps up with the doctor's stream."""

from __future__ import annotations

import pytest

from bench import page_live_bench

pytestmark = pytest.mark.broker


def test_the_page_adds_no_delay_to_the_live_stream() -> None:
    result = page_live_bench.run(seconds=3.0)
    assert result["page_sse"]["updates_per_s"] >= 5
    # Generous for a shared two-core machine; `make bench` prints the real figure (~0 ms).
    assert result["page_minus_mqtt_p95_ms"] < 100
