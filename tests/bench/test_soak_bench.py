"""The soak's short form: 20 s of `stetho run` with three simulated stethoscopes at twice real time.

The hour-long run is `make bench` (`bench/soak_bench.py`, real time); here the simulated clock
runs twice as fast (the stethoscopes' audio and their schedule), so the same work takes half the
wall time: a 2.5 s recording every 5 s per device (2.5 s of the wall clock), the warm-up mark at
10 s as before, then 12 recordings and 16 samples of RSS, fds and threads (every 0.625 s) after
it. Open files must stay flat and memory must not climb without bound (a loose 15 %: the first
seconds still fill caches that the hour-long run leaves behind in its warm-up).
"""

import json

import pytest

from bench import soak_bench

pytestmark = pytest.mark.broker


def test_three_stethoscopes_keep_files_flat_and_memory_bounded() -> None:
    result = soak_bench.soak(
        20, interval_s=5, recording_s=2.5, speed=2.0, sample_s=0.625, warmup_s=10
    )
    print(f"soak short form: {json.dumps(result)}")
    assert result["exit_code"] == 0 and result["errors_logged"] == 0
    assert result["recordings_stored"] >= 15  # 3 devices x about 7 recordings each
    assert result["fds_flat"], result["fds_over_time"]
    # The last look may catch a recording being written (its journal, a FLAC memfd, the
    # outbox's WAL): held against the most open while warming up, when the same happens. A
    # leak of one file a recording adds 12 after the mark and still fails it.
    assert result["fds_end"] <= result["fds_max_before_warmup"] + soak_bench.FD_SLACK
    assert result["rss_growth_after_warmup_pct"] < 15, result["rss_mib_over_time"]
    # Worker threads are bounded (each holds a malloc arena): none is added after warm-up but the
    # pool's own, started late under load; a thread leaked per recording adds 12 and fails it.
    assert result["threads_flat"], (result["threads_at_warmup"], result["threads_max_after_warmup"])


def _threads_over(counts: list[int]) -> soak_bench.Samples:
    """Samples every second, warm-up at 2 s, with these thread counts and nothing else moving."""
    samples = soak_bench.Samples()
    for second, count in enumerate(counts):
        samples.points.append((float(second), 1000, 10))
        samples.threads.append(count)
        samples.kinds.append({})
    return samples


@pytest.mark.parametrize(
    ("counts", "flat"),
    [
        ([7, 8, 8, 9, 10, 10], True),  # the pool's last two workers start late
        ([7, 8, 8, 9, 10, 11], False),  # one more than the pool can start
        ([6, 7, 8, 9, 10, 11, 12], False),  # a thread a recording
    ],
)
def test_only_the_pools_late_workers_may_add_threads(counts: list[int], flat: bool) -> None:
    result = soak_bench.summarise(_threads_over(counts), 2.0, len(counts), "", 0)
    assert result["threads_flat"] is flat
