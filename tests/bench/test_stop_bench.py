"""The stop bench's short form: one serving demo, stopped by SIGTERM at a seeded moment."""

from __future__ import annotations

import pytest

from bench import stop_bench

pytestmark = pytest.mark.broker


def test_one_run_stops_clean_and_is_summarised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(stop_bench.RUNS_ENV, "1")
    monkeypatch.setattr(stop_bench, "MAX_DELAY_S", 2.0)  # the seeded moment: 1.7 s after start
    result = stop_bench.run()
    assert result["runs"] == 1 and result["clean"] == 1, result
    assert result["hung"] == 0 and result["failed"] == []
    assert 0 < result["stop_s"]["median"] == result["stop_s"]["max"] < stop_bench.STOP_LIMIT_S
