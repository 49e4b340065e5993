"""Slow hearts in short clips (docs/accuracy.md, twenty-seventh round): the sweep's clips, their
own reference rates, and its short form on one real heart made slow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import heart_faster
from bench import heart_short_clips as sweep
from tests.bench.test_heart_faster import _beats

DATA = Path("../shared/data")


def test_clips_open_at_the_first_s1_and_half_a_cycle_later_with_their_own_rate() -> None:
    fs = 4000.0
    seg = _beats(2.0, 0.4, 5)  # 30/min, S1 centres at 0.05, 2.05, ...
    y = np.zeros(round(seg[-1, 1] * fs))
    found = sweep.clips(y, fs, seg, 30.0, 5.0)
    assert [(start, x.size, inside) for start, x, inside, _ in found] == [
        (0.0, 20000, 3),
        (1.0, 20000, 2),  # opening after an S1: two S1s, one whole cycle
    ]
    assert [rate for *_, rate in found] == pytest.approx([30.0, 30.0])
    assert sweep.clips(y, fs, seg, 30.0, 60.0) == []  # longer than the recording


def test_without_a_data_folder_the_sweep_skips_with_a_reason(tmp_path: Path) -> None:
    assert "STETHO_DATA" in sweep.run(tmp_path)["skipped"]


@pytest.mark.skipif(not (DATA / "MANIFEST.csv").exists(), reason="no shared data folder")
def test_a_real_heart_at_thirty_per_minute_in_four_seconds_is_doubted_not_routine() -> None:
    # 85031_TV made to beat at 30/min, its first 4 s: two S1s, read at 62.5/min before the
    # s46-acfperiod round, from a period the envelope does not repeat at; no rate now. The
    # flag says a slow heart is not ruled out, and the triage is a review, not routine.
    (item,) = heart_faster.recordings(DATA, {"85031_TV"})
    y, seg, _ = sweep.made(item, 30.0)
    (start, x, inside, local), *_ = sweep.clips(y, item["fs"], seg, 30.0, 4.0)
    assert (start, inside) == (0.0, 2)
    found = sweep.score(x, item["fs"], local)
    assert found["read"] == "none" and found["hr_estimate_bpm"] is None
    assert "heart_short_clip" in found["flags"] and found["doubted"]
    assert (found["triage"], found["triage_adult"]) == ("review", "review")
