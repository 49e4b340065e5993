"""The live readout's numbers and bounds: what the nurse's page draws for each block.

test_monitor holds the pill's states over time; here each frame's fields are pinned (its
number, time, level to 0.1 dB, clipping at the bound, the waveform's min/max pairs), the
level bounds and the contact window at their exact values, each device kept apart, and what
the page reads back (latest, since, the waker) and forgets.
"""

from __future__ import annotations

import numpy as np

from edge_agent.exam.monitor import (
    CLIP_LEVEL,
    CONTACT_WINDOW_S,
    FASTEST_BLOCKS_PER_S,
    KEEP_S,
    MAX_FRAMES,
    LiveMonitor,
)

# Constant float64 blocks whose level is exactly the bound: 20 log10(10**-2.5) == -50.0.
AT_LOUD = np.full(400, 10**-2.5)
AT_HEARD = np.full(400, 1e-4)
LOUD = np.full(400, 0.1, dtype=np.float32)  # -20 dBFS
FAINT = np.full(400, 10 ** (-70 / 20), dtype=np.float32)
SILENT = np.zeros(400, dtype=np.float32)


def pill(monitor: LiveMonitor, device: str, samples: np.ndarray, at: float) -> str:
    f = monitor.offer(device, samples, 4000, at)
    return "no" if not f.contact else "faint" if f.faint else "yes"


def test_each_frame_is_numbered_per_device_and_timed() -> None:
    monitor = LiveMonitor()
    frames = [monitor.offer(d, LOUD, 4000, t) for d, t in
              (("a", 10.0), ("a", 10.1), ("b", 10.2), ("a", 10.3))]  # fmt: skip
    assert [(f.seq, f.captured_at) for f in frames] == [(1, 10.0), (2, 10.1), (1, 10.2), (3, 10.3)]


def test_the_level_is_rounded_to_a_tenth_of_a_decibel() -> None:
    level = LiveMonitor().offer("a", np.full(400, 10 ** (-23.46 / 20)), 4000, 1.0).level_dbfs
    assert level == -23.5


def test_an_empty_block_is_silence_at_the_floor() -> None:
    f = LiveMonitor().offer("a", np.zeros(0, dtype=np.float32), 4000, 1.0)
    assert (f.level_dbfs, f.clipped, f.contact, f.points) == (-180.0, False, False, ())


def test_a_level_beyond_what_float32_can_square_stays_a_number() -> None:
    # Squared in float64: 2e19 squared overflows float32 to inf.
    level = LiveMonitor().offer("a", np.full(8, 2e19, dtype=np.float32), 4000, 1.0).level_dbfs
    assert level == 386.0


def test_clipping_starts_at_the_clip_level() -> None:
    monitor = LiveMonitor()
    assert monitor.offer("a", np.full(400, CLIP_LEVEL), 4000, 1.0).clipped
    assert monitor.offer("a", np.full(400, -CLIP_LEVEL), 4000, 1.1).clipped  # either sign
    assert not monitor.offer("a", np.full(400, CLIP_LEVEL - 1e-6), 4000, 1.2).clipped
    assert not monitor.offer("a", LOUD, 4000, 1.3).clipped


def test_a_level_exactly_at_a_bound_is_under_it() -> None:
    monitor = LiveMonitor()
    assert pill(monitor, "a", AT_LOUD, 1.0) == "faint"  # heard, but not over LOUD_DBFS
    assert pill(monitor, "b", AT_HEARD, 1.0) == "no"  # not over HEARD_DBFS


def test_contact_holds_through_exactly_the_window() -> None:
    monitor = LiveMonitor()
    assert pill(monitor, "a", LOUD, 0.0) == "yes"
    assert pill(monitor, "a", SILENT, CONTACT_WINDOW_S) == "yes"
    assert pill(monitor, "a", SILENT, CONTACT_WINDOW_S + 1e-9) == "no"


def test_each_device_has_its_own_sound() -> None:
    monitor = LiveMonitor()
    assert pill(monitor, "a", LOUD, 1.0) == "yes"
    assert pill(monitor, "b", FAINT, 1.1) == "faint"  # a's loud block is not b's
    assert pill(monitor, "c", SILENT, 1.2) == "no"


def test_the_waveform_is_min_max_pairs_per_hundredth_of_a_second() -> None:
    # 400 Hz: 4 samples a point; the 2 left over (under a whole point) are not drawn.
    ramp = np.array([0.1, -0.2, 0.3, 0.0, 0.51234, 0.5, -0.25, 0.4, 0.9, 0.8], np.float32)
    points = LiveMonitor().offer("a", ramp, 400, 1.0).points
    assert points == (-0.2, 0.3, -0.25, 0.512)
    assert LiveMonitor().offer("a", ramp[:3], 400, 1.0).points == ()  # under one point
    # Under 100 Hz every sample is its own point.
    assert LiveMonitor().offer("a", ramp[:2], 50, 1.0).points == (0.1, 0.1, -0.2, -0.2)
    assert LiveMonitor().offer("a", ramp[:1], 100, 1.0).points == (0.1, 0.1)


def test_the_page_reads_the_latest_frame_and_those_since_one() -> None:
    monitor = LiveMonitor()
    assert monitor.latest("a") is None and monitor.since("a", 0) == []
    frames = [monitor.offer("a", LOUD, 4000, 1.0 + i) for i in range(3)]
    assert monitor.latest("a") == frames[-1]
    assert monitor.since("a", 1) == frames[1:]
    assert monitor.since("a", 3) == [] and monitor.latest("b") is None


def test_the_last_keep_s_of_capture_time_are_kept() -> None:
    # Before: KEEP_S * POINTS_PER_S = 500 frames, ~50 s of 100 ms blocks, not KEEP_S.
    monitor = LiveMonitor()
    for i in range(80):  # 8 s of 100 ms blocks
        monitor.offer("a", LOUD, 4000, 1000.0 + i / 10)
    kept = monitor.since("a", 0)
    assert KEEP_S == 5.0
    assert [f.seq for f in kept] == list(range(30, 81))  # 1002.9 .. 1007.9: 5.0 s back
    assert kept[-1].captured_at - kept[0].captured_at <= KEEP_S


def test_a_frame_exactly_keep_s_old_stays_and_one_older_goes() -> None:
    monitor = LiveMonitor()
    for at in (0.0, 5.0):
        monitor.offer("a", LOUD, 4000, at)
    assert [f.captured_at for f in monitor.since("a", 0)] == [0.0, 5.0]
    monitor.offer("a", LOUD, 4000, 5.25)
    assert [f.captured_at for f in monitor.since("a", 0)] == [5.0, 5.25]
    monitor.offer("a", LOUD, 4000, 60.0)  # a gap (the stethoscope paused): only the new one
    assert [f.captured_at for f in monitor.since("a", 0)] == [60.0]


def test_frames_whose_time_does_not_move_are_capped_at_keep_s_of_the_fastest_blocks() -> None:
    # A clock stepped back, or a source stamping every block alike: the count still bounds it.
    monitor = LiveMonitor()
    assert MAX_FRAMES == int(KEEP_S * FASTEST_BLOCKS_PER_S) == 250
    for _ in range(MAX_FRAMES + 3):
        monitor.offer("a", LOUD, 4000, 1.0)
    kept = monitor.since("a", 0)
    assert len(kept) == MAX_FRAMES and kept[0].seq == 4 and kept[-1].seq == MAX_FRAMES + 3
    monitor.offer("b", LOUD, 4000, 100.0)
    monitor.offer("b", LOUD, 4000, 40.0)  # stepped back a minute: neither is dropped
    assert [f.captured_at for f in monitor.since("b", 0)] == [100.0, 40.0]


def test_each_device_keeps_its_own_window() -> None:
    monitor = LiveMonitor()
    monitor.offer("a", LOUD, 4000, 0.0)
    monitor.offer("b", LOUD, 4000, 10.0)
    assert len(monitor.since("a", 0)) == 1 and len(monitor.since("b", 0)) == 1


def test_a_new_frame_wakes_the_page_of_its_device() -> None:
    monitor = LiveMonitor()
    a, b = monitor.waker("a"), monitor.waker("b")
    assert monitor.waker("a") is a and not a.is_set()
    monitor.offer("a", LOUD, 4000, 1.0)
    assert a.is_set() and not b.is_set()
    monitor.offer("c", LOUD, 4000, 1.0)  # no page waiting: nothing to wake


def test_forgetting_a_device_forgets_everything_it_had() -> None:
    monitor = LiveMonitor()
    monitor.set_contact("a", False)
    monitor.offer("a", LOUD, 4000, 1.0)
    monitor.forget("a")
    assert monitor.latest("a") is None
    assert pill(monitor, "a", FAINT, 1.1) == "faint"  # neither the loud block nor "no contact"
    monitor.forget("never-seen")  # nothing to forget is fine
